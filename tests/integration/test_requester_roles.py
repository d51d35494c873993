"""Who may file a proposal: the policy's requester roles, checked wherever a proposal is filed.

The auditor dave could file a purchase order by chat, ``tools call`` and MCP, and it committed
once approved. Filing now needs one of the action's requester roles (the policy's
``requester_roles``); an auditor holds none anywhere. Each refusal is one line and is recorded
in the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import TextContent

from agent.approvals import Proposal
from agent.mcp_server import build_mcp_server
from agent.service import AgentService, Refused, build_service
from agent.settings import Settings
from tools.audit import AuditRecord

pytestmark = pytest.mark.integration

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}


def refusals(service: AgentService) -> list[AuditRecord]:
    return [
        r
        for r in service.audit.records(types=["access_denied"])
        if r.details.get("kind") == "requester_refused"
    ]


def test_an_auditor_cannot_file_a_purchase_order_with_tools_call(service: AgentService) -> None:
    with pytest.raises(Refused) as refused:
        service.call_tool("propose_purchase_order", PO_ARGS, "dave")

    line = str(refused.value)
    assert "\n" not in line
    assert "dave" in line and "create_purchase_order" in line and "clerk" in line
    assert service.proposals() == []
    [record] = refusals(service)
    assert record.on_behalf_of == "dave"
    assert record.tool == "propose_purchase_order"
    assert record.details["reason"] == line


def test_an_auditor_cannot_file_a_purchase_order_over_mcp(service: AgentService) -> None:
    answers: list[tuple[bool, str]] = []

    async def scenario() -> None:
        async with Client(build_mcp_server(service, "dave")) as client:
            result = await client.call_tool("propose_purchase_order", PO_ARGS)
            [content] = result.content
            assert isinstance(content, TextContent)
            answers.append((result.is_error, content.text))

    anyio.run(scenario)

    [(is_error, text)] = answers
    assert is_error
    assert "dave" in text and "create_purchase_order" in text and "\n" not in text
    assert service.proposals() == []
    [record] = refusals(service)
    assert record.actor == "countersign-mcp"
    assert record.on_behalf_of == "dave"


def test_an_auditor_asking_the_chat_for_a_purchase_order_is_told_so_and_nothing_is_filed(
    service: AgentService,
) -> None:
    result = service.chat("dave", "order 40 hex bolts M8 from Fastenal for cost center CC300")

    assert result.proposals == []
    assert service.proposals() == []
    assert "can't propose" in result.reply
    # The auditor still reads: the chat is not closed to them, only filing is.
    read = service.chat("dave", "what's the stock of HB-M8-40?")
    assert "HB-M8-40" in read.reply


def test_a_clerk_still_files_through_every_path(service: AgentService) -> None:
    filed = service.call_tool("propose_purchase_order", PO_ARGS, "alice")
    assert isinstance(filed, Proposal) and filed.status == "pending"
    assert service.chat("alice", "order 40 hex bolts M8 from Fastenal").proposals
    assert refusals(service) == []


@pytest.fixture
def credit_for_directors(data_dir: Path, tmp_path: Path) -> Iterator[AgentService]:
    """An installation whose policy lets only finance directors request credit-limit changes."""
    bundled = (Path(__file__).resolve().parents[2] / "agent" / "config" / "policy.toml").read_text()
    policy = tmp_path / "policy.toml"
    policy.write_text(
        bundled.replace(
            "[actions.change_credit_limit]\n",
            '[actions.change_credit_limit]\nrequester_roles = ["finance_director"]\n',
        )
    )
    service = build_service(Settings(data_dir=data_dir, model="offline", policy_file=policy))
    yield service
    service.close()


def test_requester_roles_are_set_per_action_in_the_policy(credit_for_directors: AgentService) -> None:
    service = credit_for_directors
    args = {"customer_code": "C00001", "new_limit": 60000}
    with pytest.raises(Refused, match=r"^alice may not request change_credit_limit: .*finance_director"):
        service.call_tool("propose_credit_limit_change", args, "alice")
    filed = service.call_tool("propose_credit_limit_change", args, "erin")
    assert isinstance(filed, Proposal) and filed.requester == "erin"
    # Her other actions are unchanged: a clerk still files purchase orders.
    assert isinstance(service.call_tool("propose_purchase_order", PO_ARGS, "alice"), Proposal)
    shown = json.dumps(service.policy().settings("change_credit_limit").requester_roles)
    assert "finance_director" in shown
