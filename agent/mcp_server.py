"""Countersign's gateway tools served to other agents over MCP (the official ``mcp`` SDK).

The MCP server is one more interface over ``AgentService``, like the CLI and the UI. It runs
every call under its own principal, the ``mcp`` identity of the identities file (in the demo,
``countersign-mcp``), never the chat agent's and never a person's. That identity has its own
grants, and each call gets its own just-in-time token and its own log line, exactly as a chat
agent's call would. Only the tools that identity is granted are listed; a call for any other tool
still goes through the gateway, which refuses it and records the refusal.

The server can never commit. Read tools answer from the ERP; a ``propose_*`` tool only files a
*pending* proposal, requested by the person the server acts for (``--user``), that another person
must approve in the Countersign inbox before anything is written. Refusals come back as MCP tool
errors (``isError``) carrying the one-line reason; they never crash the server.

Streamable HTTP has no authentication of its own here: whoever can reach the port acts for
``--user``. It binds to 127.0.0.1 by default, with the SDK's DNS-rebinding protection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import anyio
import anyio.to_thread
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from agent.approvals import Proposal
from agent.service import USER_ERRORS, AgentService
from tools.gateway import ToolSpec

log = logging.getLogger("countersign.mcp")

SERVER_NAME = "countersign"
VIA: Literal["mcp"] = "mcp"


def _version() -> str:
    try:
        return version("countersign")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def _instructions(acting_user: str) -> str:
    return (
        "Countersign: named, typed tools over an ERP. Read tools answer with JSON data. "
        "propose_* tools never write: each files a pending proposal, requested by "
        f"{acting_user}, that a person must approve in the Countersign inbox before the ERP "
        "changes. Tools this server is not granted are refused."
    )


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "refused"


def _tool(spec: ToolSpec) -> types.Tool:
    reads = spec.kind == "read"
    return types.Tool(
        name=spec.name,
        description=spec.description,
        inputSchema=spec.args_schema,
        annotations=types.ToolAnnotations(
            readOnlyHint=reads,
            # A proposal changes nothing until a person approves it; filing twice files two.
            destructiveHint=False,
            idempotentHint=reads,
            openWorldHint=False,
        ),
    )


def _text(data: Any, *, is_error: bool = False) -> types.CallToolResult:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=is_error)


def _note(proposal: Proposal) -> str:
    if proposal.status == "pending":
        return (
            f"Proposal {proposal.id} is pending: nothing is written to the ERP until a person other "
            f"than {proposal.requester} approves it in the Countersign inbox."
        )
    return f"Proposal {proposal.id} has status {proposal.status}."


class _Calls:
    """Runs tool calls through the service, one at a time, off the event loop."""

    def __init__(self, service: AgentService, acting_user: str) -> None:
        self._service = service
        self._acting_user = acting_user
        # The service (SQLite stores, the graph's checkpointer) is used from worker threads;
        # one call at a time keeps it as single-threaded as the CLI uses it.
        self._lock = threading.Lock()

    async def __call__(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(self._call, name, arguments)

    def _call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        with self._lock:
            try:
                # Every call, listed or not, goes to the gateway: it is the one place that checks
                # grants, and it records what it refuses.
                result = self._service.call_tool(name, arguments, self._acting_user, via=VIA)
            except USER_ERRORS as exc:
                reason = _one_line(str(exc))
                log.info(
                    "mcp tool call refused", extra={"event": "mcp_refused", "tool": name, "reason": reason}
                )
                return _text(reason, is_error=True)
            except Exception as exc:
                log.exception("mcp tool call failed", extra={"event": "mcp_failed", "tool": name})
                return _text(
                    f"{name} failed: {type(exc).__name__} (see the server log)",
                    is_error=True,
                )
        if isinstance(result, Proposal):
            return _text({"tool": name, "result": result.as_json(), "note": _note(result)})
        return _text({"tool": name, "result": result})


def build_mcp_server(service: AgentService, acting_user: str) -> Server[Any]:
    """An MCP server offering the tools the MCP identity is granted, acting for ``acting_user``.

    Raises ``UnknownUser`` when ``acting_user`` is not a configured person.
    """
    service.user(acting_user)
    specs = {spec.name: spec for spec in service.tool_specs(via=VIA)}
    listing = types.ListToolsResult(tools=[_tool(spec) for spec in specs.values()])
    calls = _Calls(service, acting_user)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listing

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await calls(params.name, dict(params.arguments or {}))

    def input_schema(name: str) -> dict[str, Any] | None:
        spec = specs.get(name)
        return spec.args_schema if spec is not None else None

    return Server(
        SERVER_NAME,
        version=_version(),
        title="Countersign",
        description="ERP tools behind human approval: reads answer, proposals wait for a person.",
        instructions=_instructions(acting_user),
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve_stdio(service: AgentService, acting_user: str) -> None:
    """Serve over this process's stdin/stdout until the client closes the connection."""
    server = build_mcp_server(service, acting_user)

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(run)


def serve_http(service: AgentService, acting_user: str, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve over streamable HTTP at ``http://HOST:PORT/mcp`` until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    server = build_mcp_server(service, acting_user)
    # For a loopback host the SDK turns on DNS-rebinding protection (Host and Origin checks).
    app = server.streamable_http_app(host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
