"""Bad input through the service (chat, tool calls from the CLI or MCP, approver edits) is refused
in one line that names what is wrong, and leaves nothing behind: no conversation, no checkpoint,
no proposal. An approval whose queue cannot be reached is recorded and waits in the outbox."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from agent.edits import EditError
from agent.messaging.bus import Bus
from agent.service import AgentService, Proposal, Refused, build_service
from agent.settings import Settings
from tools.gateway import ToolError


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def purchase_order(quantity: Any = 40, unit_price: Any = None) -> dict[str, Any]:
    line: dict[str, Any] = {"product_code": "HB-M8-40", "quantity": quantity}
    if unit_price is not None:
        line["unit_price"] = unit_price
    return {"supplier_code": "F00001", "cost_center": "CC300", "lines": [line]}


def nothing_left_behind(service: AgentService, user: str = "alice") -> None:
    assert service.conversations_of(user) == []
    assert list(service.graph.checkpointer.list(None)) == []  # type: ignore[union-attr]
    assert service.proposals(requester=user) == []


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


def test_a_chat_message_longer_than_the_limit_is_refused_before_anything_is_stored(
    service: AgentService,
) -> None:
    long_request = "order 400 hex bolts M8 from Fastenal " * 250  # 9,250 characters

    with pytest.raises(Refused) as refused:
        service.chat("alice", long_request)

    assert "9,250 characters long; the most is 8,000" in one_line(refused.value)
    nothing_left_behind(service)


@pytest.mark.parametrize("via", ["agent", "mcp"])
def test_a_quantity_of_ten_to_the_thirtieth_is_refused_naming_the_field_and_leaves_nothing(
    service: AgentService, via: str
) -> None:
    with pytest.raises(ToolError) as refused:
        service.call_tool("propose_purchase_order", purchase_order(10**30), "alice", via=via)  # type: ignore[arg-type]

    assert one_line(refused.value).startswith(
        "invalid arguments for propose_purchase_order: lines.0.quantity:"
    )
    nothing_left_behind(service)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (purchase_order(quantity=0.0000001), "lines.0.quantity"),
        (purchase_order(unit_price=0.001), "lines.0.unit_price"),
    ],
)
def test_a_number_finer_than_the_erp_keeps_is_refused_naming_the_field(
    service: AgentService, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(ToolError) as refused:
        service.call_tool("propose_purchase_order", arguments, "alice")

    assert f"{field}: Decimal input should have no more than" in one_line(refused.value)
    nothing_left_behind(service)


def test_a_propose_call_the_erp_refuses_leaves_no_empty_conversation_behind(service: AgentService) -> None:
    unknown_supplier = {**purchase_order(), "supplier_code": "F99999"}

    with pytest.raises(Refused) as refused:
        service.call_tool("propose_purchase_order", unknown_supplier, "alice")

    assert "F99999" in one_line(refused.value)
    nothing_left_behind(service)


def test_a_propose_call_over_budget_leaves_no_empty_conversation_behind(service: AgentService) -> None:
    with pytest.raises(Refused):
        service.call_tool("propose_purchase_order", purchase_order(quantity=900_000_000), "alice")

    nothing_left_behind(service)


def test_a_filed_proposal_keeps_its_conversation(service: AgentService) -> None:
    proposal = service.call_tool("propose_purchase_order", purchase_order(), "alice")

    assert isinstance(proposal, Proposal)
    assert [c.thread_id for c in service.conversations_of("alice")] == [proposal.thread_id]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("abc", "lines.0.quantity: Input should be a valid decimal"),
        ("0.0000001", "lines.0.quantity: Decimal input should have no more than 3 decimal places"),
        ("1e400", "lines.0.quantity: Decimal input should have no more than 14 digits in total"),
    ],
)
def test_a_bad_edit_value_is_one_line_naming_the_field(
    service: AgentService, value: str, problem: str
) -> None:
    proposal = service.call_tool("propose_purchase_order", purchase_order(), "alice")

    with pytest.raises(EditError) as refused:
        service.decide(proposal.id, "bob", "edit", edits={"quantity": value})

    assert one_line(refused.value) == f"this edit cannot be applied: {problem}"
    assert service.proposal(proposal.id).status == "pending"


def test_an_approval_whose_queue_is_unreachable_is_recorded_and_its_write_waits_in_the_outbox(
    data_dir: Path,
) -> None:
    settings = Settings(
        data_dir=data_dir, model="offline", broker_url=f"amqp://guest:guest@127.0.0.1:{closed_port()}//"
    )
    service = build_service(settings)
    try:
        assert service.pipeline is not None
        # The same broker, without the reconnection back-off: the test need not wait it out.
        service.pipeline.bus = Bus(settings.message_broker_url, connect_retries=0, connect_timeout=1)
        proposal = service.call_tool("propose_purchase_order", purchase_order(), "alice")

        approved = service.decide(proposal.id, "bob", "approve")

        assert approved.status == "approved"
        assert service.waits_for_queue(proposal.id)
        assert service.outbox.has_subject(proposal.id)
    finally:
        service.close()
