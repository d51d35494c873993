"""``countersign mcp`` driven by the MCP client of the same SDK, over stdio and streamable HTTP.

Each transport test starts the real command in its own process on a seeded data directory, acting
for alice, then checks the result in process through ``build_service``: reads answer, a proposal
only waits in the inbox (nothing reaches the ERP), and an ungranted action is refused and recorded
under the MCP server's own principal.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.server import Server
from mcp.types import CallToolResult, TextContent

from agent.mcp_server import build_mcp_server
from agent.service import AgentService, build_service
from agent.settings import Settings
from tests.conftest import REPO, cli_env, run_cli
from tools.gateway import Gateway

pytestmark = pytest.mark.integration

MCP_ID = "countersign-mcp"
PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}
READ_TOOLS = {spec.name for spec in Gateway.specs(("read",))}
SCENARIO_SECONDS = 120
Target = StdioServerParameters | str | Server[Any]


# ---- helpers --------------------------------------------------------------------------------


def mcp_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "agent.cli", "mcp", *options]


def run(scenario: Callable[[Client], Awaitable[None]], target: Target) -> None:
    """Connect an SDK client to ``target`` and run ``scenario`` with it (bounded in time)."""

    async def main() -> None:
        with anyio.fail_after(SCENARIO_SECONDS):
            async with Client(target) as client:
                await scenario(client)

    anyio.run(main)


def text_of(result: CallToolResult) -> str:
    [content] = result.content
    assert isinstance(content, TextContent)
    return content.text


def installation(data_dir: Path) -> AgentService:
    """The same installation the server process uses, opened here to check what it did."""
    return build_service(Settings(data_dir=data_dir, model="offline"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"countersign mcp exited {process.returncode}: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(
        f"countersign mcp did not listen on port {port} within {timeout}s: {log.read_text()}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(params=["stdio", "http"])
def server(request: pytest.FixtureRequest, data_dir: Path, tmp_path: Path) -> Iterator[Target]:
    """``countersign mcp --user alice`` in its own process, as a target for ``Client``.

    For stdio the SDK's client spawns the process and stops it when the connection closes; for
    HTTP this fixture starts it, waits until it listens, and always stops it afterwards.
    """
    if request.param == "stdio":
        yield StdioServerParameters(
            command=sys.executable,
            args=mcp_command("--transport", "stdio", "--user", "alice")[1:],
            env=cli_env(data_dir),
            cwd=REPO,
        )
        return
    port = free_port()
    log = tmp_path / "mcp-http.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            mcp_command("--transport", "http", "--port", str(port), "--user", "alice"),
            cwd=REPO,
            env=cli_env(data_dir),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_listening(process, port, log)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


# ---- over stdio and streamable HTTP ---------------------------------------------------------


def test_an_mcp_client_is_offered_every_read_and_only_the_purchase_order_proposal(server: Target) -> None:
    async def scenario(client: Client) -> None:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

        assert set(tools) == READ_TOOLS | {"propose_purchase_order"}
        assert "propose_journal_entry" not in tools
        [spec] = [s for s in Gateway.specs() if s.name == "propose_purchase_order"]
        assert tools["propose_purchase_order"].input_schema == spec.args_schema
        assert tools["check_stock"].annotations is not None
        assert tools["check_stock"].annotations.read_only_hint is True

    run(scenario, server)


def test_a_read_tool_answers_with_erp_data(server: Target) -> None:
    async def scenario(client: Client) -> None:
        result = await client.call_tool("check_stock", {"product_code": "HB-M8-40"})

        assert not result.is_error, text_of(result)
        answer = json.loads(text_of(result))
        assert answer["tool"] == "check_stock"
        assert answer["result"]["product_code"] == "HB-M8-40"
        assert answer["result"]["levels"]

    run(scenario, server)


def test_a_proposal_filed_over_mcp_waits_in_the_inbox_and_writes_nothing(
    server: Target, data_dir: Path
) -> None:
    check = installation(data_dir)
    try:
        orders_before = len(check.erp.list_purchase_orders(limit=10_000))
    finally:
        check.close()
    filed: dict[str, Any] = {}

    async def scenario(client: Client) -> None:
        result = await client.call_tool("propose_purchase_order", PO_ARGS)

        assert not result.is_error, text_of(result)
        answer = json.loads(text_of(result))
        assert answer["result"]["status"] == "pending"
        assert "inbox" in answer["note"]
        filed.update(answer["result"])

    run(scenario, server)

    check = installation(data_dir)
    try:
        proposal = check.proposal(filed["id"])
        assert proposal.status == "pending"
        assert proposal.requester == "alice"
        assert proposal.action == "create_purchase_order"
        assert proposal.approvals == []
        assert proposal.receipt is None
        orders = check.erp.list_purchase_orders(limit=10_000)
        assert len(orders) == orders_before
        assert not [po for po in orders if po.reference == proposal.idempotency_key]
        assert check.gateway.receipt_for(proposal.idempotency_key) is None
    finally:
        check.close()


def test_an_ungranted_action_is_refused_with_the_missing_scope_and_recorded(
    server: Target, data_dir: Path
) -> None:
    async def scenario(client: Client) -> None:
        result = await client.call_tool(
            "propose_price_change", {"product_code": "HB-M8-40", "new_price": "1.50"}
        )

        assert result.is_error
        reason = text_of(result)
        assert "erp.write.price" in reason
        assert MCP_ID in reason
        assert "\n" not in reason

    run(scenario, server)

    check = installation(data_dir)
    try:
        denied = check.security.recent(kind="access_denied")
        assert [(e.actor, e.on_behalf_of, e.tool) for e in denied] == [
            (MCP_ID, "alice", "propose_price_change")
        ]
        assert check.proposals() == []
    finally:
        check.close()


# ---- in process -----------------------------------------------------------------------------


def test_bad_arguments_come_back_as_a_tool_error_and_the_server_keeps_answering(
    service: AgentService,
) -> None:
    async def scenario(client: Client) -> None:
        bad = await client.call_tool("check_stock", {"product_code": 5})
        unknown = await client.call_tool("drop_all_tables", {})
        good = await client.call_tool("check_stock", {"product_code": "HB-M8-40"})

        assert bad.is_error and "invalid arguments for check_stock" in text_of(bad)
        assert unknown.is_error and "unknown tool 'drop_all_tables'" in text_of(unknown)
        assert not good.is_error

    run(scenario, build_mcp_server(service, "alice"))


def test_an_mcp_proposal_waits_for_a_person_even_where_the_agent_may_commit_unattended(
    data_dir: Path, tmp_path: Path
) -> None:
    identities = (REPO / "agent" / "config" / "identities.toml").read_text(encoding="utf-8")
    unattended = identities.replace(
        '"erp.write.price",\n]', '"erp.write.price",\n    "erp.write.purchase_order.unattended",\n]', 1
    )
    assert unattended != identities
    policy = (REPO / "agent" / "config" / "policy.toml").read_text(encoding="utf-8")
    automatic = policy.replace(
        "[actions.create_purchase_order]\n", '[actions.create_purchase_order]\nmode = "auto"\n', 1
    )
    assert automatic != policy
    (tmp_path / "identities.toml").write_text(unattended, encoding="utf-8")
    (tmp_path / "policy.toml").write_text(automatic, encoding="utf-8")
    service = build_service(
        Settings(
            data_dir=data_dir,
            model="offline",
            identities_file=tmp_path / "identities.toml",
            policy_file=tmp_path / "policy.toml",
        )
    )
    try:
        # The configuration really lets the agent's own small purchase orders run unattended ...
        assert service.call_tool("propose_purchase_order", PO_ARGS, "alice").status == "committed"
        filed: dict[str, Any] = {}

        async def scenario(client: Client) -> None:
            result = await client.call_tool("propose_purchase_order", PO_ARGS)
            assert not result.is_error, text_of(result)
            filed.update(json.loads(text_of(result))["result"])

        run(scenario, build_mcp_server(service, "alice"))

        # ... but what another agent asks for over MCP is never committed without a person.
        assert filed["status"] == "pending"
        assert service.gateway.receipt_for(filed["idempotency_key"]) is None
    finally:
        service.close()


# ---- the command ----------------------------------------------------------------------------


def test_the_mcp_command_refuses_to_act_for_someone_who_is_not_a_configured_user(data_dir: Path) -> None:
    result = run_cli(data_dir, "mcp", "--transport", "stdio", "--user", "mallory", timeout=60)

    assert result.returncode == 1
    assert "mallory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_mcp_command_rejects_an_unknown_transport_as_a_usage_error(data_dir: Path) -> None:
    result = run_cli(data_dir, "mcp", "--transport", "carrier-pigeon", "--user", "alice", timeout=60)

    assert result.returncode == 2
    assert "stdio, http" in result.stderr
