"""The one gateway every tool call passes through, whoever asks (the agent, the CLI, later MCP).

It validates the arguments against the tool's schema, calls the ERP port, and writes one
structured log line per call (tool, principal, args digest, duration, outcome). Propose tools
never write: the gateway turns them into a checked domain command with the versions of the
records it relies on and its fingerprint. Only ``commit`` writes, through ``ErpWriter.apply``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

from erp_acl.commands import Command, fingerprint
from erp_acl.domain import Receipt
from erp_acl.errors import ErpError
from erp_acl.ports import Erp
from tools.catalog import ALL_TOOLS, ProposeTool, ReadTool, Tool, ToolKind, get_tool

log = logging.getLogger("countersign.gateway")


class ToolError(Exception):
    """A tool call refused before it reached the ERP (unknown tool, bad arguments, wrong kind)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the acting identity and the person it acts for."""

    actor: str
    on_behalf_of: str

    def __str__(self) -> str:
        return self.actor if self.actor == self.on_behalf_of else f"{self.actor} for {self.on_behalf_of}"


@dataclass(frozen=True)
class PreparedProposal:
    """A propose call turned into a checked command, ready to be filed for approval."""

    tool: str
    action: str
    command: Command
    fingerprint: str
    based_on: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    kind: ToolKind
    args_schema: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "args_schema": self.args_schema,
        }


def args_digest(args: dict[str, Any]) -> str:
    """Digest of a call's arguments: logs show which call it was without copying its data."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _one_line(error: ValidationError, tool: str) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "arguments"
        parts.append(f"{where}: {problem['msg']}")
    return f"invalid arguments for {tool}: " + "; ".join(parts)


class Gateway:
    """Named, typed, logged access to one ERP."""

    def __init__(self, erp: Erp) -> None:
        self._erp = erp

    # ---- catalogue --------------------------------------------------------------------------

    @staticmethod
    def specs(kinds: tuple[ToolKind, ...] = ("read", "propose")) -> list[ToolSpec]:
        return [
            ToolSpec(t.name, t.description, t.kind, t.args_model.model_json_schema())
            for t in ALL_TOOLS
            if t.kind in kinds
        ]

    @staticmethod
    def model_tools(names: list[str] | None = None) -> list[dict[str, Any]]:
        """OpenAI-format tool definitions to bind to a chat model (all tools, or those named)."""
        chosen = [t for t in ALL_TOOLS if names is None or t.name in names]
        definitions = []
        for tool in chosen:
            definition = convert_to_openai_tool(tool.args_model)
            # The schema class names are internal; the model must see the tool's own name.
            definition["function"]["name"] = tool.name
            definition["function"]["description"] = tool.description
            definitions.append(definition)
        return definitions

    # ---- calls ------------------------------------------------------------------------------

    def read(self, name: str, args: dict[str, Any], principal: Principal) -> Any:
        """Run a read tool; returns domain objects. Raises ToolError or ErpError."""
        tool = self._tool(name, "read")
        assert isinstance(tool, ReadTool)
        with self._logged(name, args, principal):
            return tool.run(self._erp, self._parse(tool, args))

    def prepare(self, name: str, args: dict[str, Any], principal: Principal, today: date) -> PreparedProposal:
        """Turn a propose call into a checked command with versions and fingerprint. No write."""
        tool = self._tool(name, "propose")
        assert isinstance(tool, ProposeTool)
        with self._logged(name, args, principal):
            draft = tool.to_command(self._parse(tool, args), today)
            return self.recheck(name, draft, draft.based_on or None)

    def recheck(
        self, name: str, command: Command, based_on: dict[str, str] | None = None
    ) -> PreparedProposal:
        """Validate a (possibly edited) command; keep ``based_on`` if given, else read current versions."""
        versions = based_on if based_on is not None else self._erp.record_versions(command.relied_on())
        checked = command.model_copy(update={"based_on": versions})
        self._erp.check(checked)
        return PreparedProposal(name, checked.action, checked, fingerprint(checked), versions)

    def commit(
        self, command: Command, idempotency_key: str, fingerprint_: str, principal: Principal
    ) -> Receipt:
        """The only write: apply the command once under its idempotency key."""
        with self._logged(f"commit:{command.action}", {"key": idempotency_key}, principal):
            return self._erp.apply(command, idempotency_key, fingerprint_)

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        return self._erp.receipt_for(idempotency_key)

    # ---- internals --------------------------------------------------------------------------

    @staticmethod
    def _tool(name: str, kind: ToolKind) -> Tool:
        try:
            tool = get_tool(name)
        except KeyError as exc:
            raise ToolError(str(exc.args[0])) from None
        if tool.kind != kind:
            raise ToolError(f"{name} is a {tool.kind} tool, not a {kind} tool")
        return tool

    @staticmethod
    def _parse(tool: Tool, args: dict[str, Any]) -> BaseModel:
        if not isinstance(args, dict):
            raise ToolError(f"arguments for {tool.name} must be a JSON object")
        try:
            return tool.args_model.model_validate(args)
        except ValidationError as exc:
            raise ToolError(_one_line(exc, tool.name)) from None

    @contextmanager
    def _logged(self, tool: str, args: dict[str, Any], principal: Principal) -> Iterator[None]:
        started = time.perf_counter()
        outcome = "ok"
        try:
            yield
        except (ToolError, ErpError) as exc:
            outcome = f"{type(exc).__name__}: {exc}"
            raise
        except Exception as exc:
            outcome = f"crash: {type(exc).__name__}"
            raise
        finally:
            log.info(
                "tool call",
                extra={
                    "event": "tool_call",
                    "tool": tool,
                    "actor": principal.actor,
                    "on_behalf_of": principal.on_behalf_of,
                    "args_digest": args_digest(args),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "outcome": outcome,
                },
            )
