"""The approver's view built from a proposal and stub ERP reads: a failed read is named and the rest
still shows, the conversation turn is found by the tool call that filed the proposal, and an action
the view does not know keeps its summary."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.approvals import Proposal
from agent.approver_view import ReadFailed, build_view, the_request
from agent.policy import RiskRule
from erp_acl.domain import Customer, money

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def proposal(action: str, payload: dict[str, Any], **extra: Any) -> Proposal:
    return Proposal(
        id="P-1",
        thread_id="T-1",
        action=action,
        status="pending",
        summary="as stored",
        payload={"action": action, **payload},
        idempotency_key="k",
        fingerprint="f",
        requester="alice",
        on_behalf_of="alice",
        gate={"amount": "80000", "edit_tolerance": "0.05"},
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )


CUSTOMER = Customer(
    code="C00001",
    name="Padaria Estrela Ltda",
    short_name="Estrela",
    tax_id="1",
    city="X",
    state="SP",
    credit_limit=money("50000"),
    open_orders_total=money("885.38"),
    blocked=False,
)


def test_a_failed_read_is_named_and_the_rest_of_the_view_still_stands() -> None:
    def read(tool: str, args: dict[str, Any]) -> Any:
        if tool == "get_customer":
            return CUSTOMER
        raise ReadFailed(f"{tool.replace('_', ' ')}: the ERP did not answer")

    view = build_view(
        proposal("change_credit_limit", {"customer_code": "C00001", "new_limit": "80000"}),
        read=read,
        risk=RiskRule(),
    )

    assert view.headline.startswith("Change the credit limit of Padaria Estrela Ltda (C00001)")
    assert view.unread == ["list sales orders: the ERP did not answer"]
    assert [f.kind for f in view.flags] == ["large_change"]
    assert view.tolerance == Decimal("0.05") and view.tolerance_range is not None
    assert [str(b) for b in view.tolerance_range] == ["BRL 76,000.00", "BRL 84,000.00"]


def test_without_any_erp_answer_the_codes_still_show() -> None:
    def read(tool: str, args: dict[str, Any]) -> Any:
        raise ReadFailed(f"{tool}: down")

    view = build_view(
        proposal("change_credit_limit", {"customer_code": "C00001", "new_limit": "80000"}),
        read=read,
        risk=RiskRule(),
    )

    assert view.headline == "Change the credit limit of C00001 to BRL 80,000.00"
    assert view.changes[0].before is None and view.changes[0].percent is None


def test_the_request_and_rationale_come_from_the_turn_of_the_filing_call() -> None:
    call = {"name": "propose_price_change", "args": {}, "id": "call-2", "type": "tool_call"}
    messages = [
        HumanMessage("how much are bolts?"),
        AIMessage("BRL 1.40."),
        HumanMessage("drop the price of bolts to 1.30"),
        AIMessage("", tool_calls=[{**call, "name": "get_product", "id": "call-1"}]),
        ToolMessage("{}", tool_call_id="call-1"),
        AIMessage("Proposing a price change: 1.40 → 1.30.", tool_calls=[call]),
    ]

    request, rationale, turn = the_request(messages, "call-2")

    assert request == "drop the price of bolts to 1.30"
    assert rationale == "Proposing a price change: 1.40 → 1.30."
    assert [(line.role, line.text) for line in turn] == [
        ("requester", "drop the price of bolts to 1.30"),
        ("agent", "Proposing a price change: 1.40 → 1.30."),
    ]
    assert the_request(messages, "call-unknown") == (None, None, [])


def test_an_action_the_view_does_not_know_keeps_its_stored_summary() -> None:
    view = build_view(proposal("pay_supplier_invoice", {}), read=lambda *_: None, risk=RiskRule())

    assert view.headline == "as stored" and view.lines == [] and view.flags == []
