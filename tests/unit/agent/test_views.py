"""Read models for interfaces: inbox filters and sorting, edit forms per action, evidence then and
now, and the overview's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.approvals import Decision, Proposal
from agent.policy import load_policy
from agent.views import (
    InboxFilter,
    changed_fields,
    editable_fields,
    field_changes,
    inbox_items,
    overview_of,
    shown_results,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = load_policy()


def proposal(
    pid: str,
    *,
    amount: str = "100",
    action: str = "create_purchase_order",
    requester: str = "alice",
    hours_old: float = 1,
    status: str = "pending",
    approvals: list[Decision] | None = None,
) -> Proposal:
    created = NOW - timedelta(hours=hours_old)
    gate = POLICY.gate_for(action, Decimal(amount), now=created, unattended_allowed=False)
    return Proposal(
        id=pid,
        thread_id=f"T-{pid}",
        action=action,
        status=status,  # type: ignore[arg-type]
        summary=f"{action} {pid}",
        payload={},
        idempotency_key=f"key-{pid}",
        fingerprint="f" * 64,
        requester=requester,
        on_behalf_of=requester,
        gate=gate.as_json(),
        approvals=approvals or [],
        created_at=created,
        updated_at=created,
    )


def decision(actor: str, kind: str, minutes_after: float, created: datetime) -> Decision:
    return Decision(actor=actor, decision=kind, at=created + timedelta(minutes=minutes_after))  # type: ignore[arg-type]


def ids(wanted: InboxFilter, pending: list[Proposal], blocked: frozenset[str] = frozenset()) -> list[str]:
    items = inbox_items(
        pending,
        wanted,
        now=NOW,
        blocked_reason=lambda p, gate: "segregation of duties" if p.id in blocked else None,
        attention=lambda p, gate: None,
    )
    return [i.proposal.id for i in items]


PENDING = [
    proposal("P-small", amount="50", hours_old=5),
    proposal("P-large", amount="9000", hours_old=1, requester="carol"),
    proposal("P-price", amount="12", action="change_price", hours_old=30),
]


def test_the_inbox_lists_the_oldest_first_by_default_and_sorts_on_request() -> None:
    assert ids(InboxFilter(), PENDING) == ["P-price", "P-small", "P-large"]
    assert ids(InboxFilter(sort="newest"), PENDING) == ["P-large", "P-small", "P-price"]
    assert ids(InboxFilter(sort="amount_high"), PENDING) == ["P-large", "P-small", "P-price"]
    assert ids(InboxFilter(sort="amount_low"), PENDING) == ["P-price", "P-small", "P-large"]


def test_the_inbox_filters_by_action_amount_age_and_requester() -> None:
    assert ids(InboxFilter(actions=("change_price",)), PENDING) == ["P-price"]
    assert ids(InboxFilter(min_amount=Decimal(40), max_amount=Decimal(100)), PENDING) == ["P-small"]
    assert ids(InboxFilter(min_age=timedelta(hours=24)), PENDING) == ["P-price"]
    assert ids(InboxFilter(requester="carol"), PENDING) == ["P-large"]


def test_proposals_a_person_may_not_decide_are_hidden_unless_asked_for_with_the_reason() -> None:
    assert ids(InboxFilter(), PENDING, blocked=frozenset({"P-small"})) == ["P-price", "P-large"]
    items = inbox_items(
        PENDING,
        InboxFilter(include_blocked=True),
        now=NOW,
        blocked_reason=lambda p, gate: "alice requested this" if p.requester == "alice" else None,
        attention=lambda p, gate: None,
    )
    assert {i.proposal.id: i.blocked for i in items} == {
        "P-price": "alice requested this",
        "P-small": "alice requested this",
        "P-large": None,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "random"}, "unknown sort"),
        ({"min_amount": Decimal(5), "max_amount": Decimal(1)}, "above the maximum"),
    ],
)
def test_a_bad_inbox_filter_is_refused_in_one_line(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InboxFilter(**kwargs)


def test_each_action_gets_a_form_of_its_adjustable_fields_only_and_only_changes_are_sent() -> None:
    order = {
        "action": "create_purchase_order",
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": "400", "unit_price": None}],
        "memo": "",
        "based_on": {"product:HB-M8-40": "3"},
    }
    fields = {f.path: (f.kind, f.value) for f in editable_fields(order)}
    # Who or what it is about (supplier, cost center, product) is never offered: how much is.
    assert fields == {
        "lines.0.quantity": ("decimal", "400"),
        "lines.0.unit_price": ("decimal", ""),
        "memo": ("text", ""),
    }
    entry = {
        "action": "post_journal_entry",
        "entry_date": "2026-11-01",
        "description": "Accrual",
        "lines": [
            {"account_code": "6100", "debit": "10.00", "credit": "0"},
            {"account_code": "2100", "debit": "0", "credit": "10.00"},
        ],
    }
    kinds = {f.path: f.kind for f in editable_fields(entry)}
    assert kinds["entry_date"] == "date" and kinds["lines.1.credit"] == "decimal"
    assert not any(path.endswith("account_code") for path in kinds)
    assert changed_fields(
        editable_fields(order), {"lines.0.quantity": " 450 ", "memo": "", "cost_center": "CC300"}
    ) == {"lines.0.quantity": "450"}


def test_the_results_a_conversation_showed_are_found_by_tool_and_arguments() -> None:
    messages = [
        HumanMessage("stock of bolts?"),
        AIMessage("", tool_calls=[{"name": "get_stock_level", "args": {"product_code": "HB"}, "id": "c1"}]),
        ToolMessage('{"result": {"available": "470"}}', tool_call_id="c1", name="get_stock_level"),
        AIMessage("", tool_calls=[{"name": "get_customer", "args": {"code": "X"}, "id": "c2"}]),
        ToolMessage('{"error": "no such customer"}', tool_call_id="c2", name="get_customer", status="error"),
    ]

    assert shown_results(messages) == [("get_stock_level", {"product_code": "HB"}, {"available": "470"})]


def test_field_changes_name_each_leaf_that_differs() -> None:
    then = {"available": "470", "locations": [{"name": "main", "on_hand": "320"}], "gone": 1}
    now = {"available": "400", "locations": [{"name": "main", "on_hand": "250"}], "new": 2}

    changes = {(c.path, c.then, c.now) for c in field_changes(then, now)}
    assert changes == {
        ("available", "470", "400"),
        ("locations[0].on_hand", "320", "250"),
        ("gone", 1, None),
        ("new", None, 2),
    }
    assert field_changes(then, then) == []


def test_the_overview_counts_pending_rates_and_the_median_time_to_decision() -> None:
    approved = proposal("P-1", status="committed", hours_old=3)
    approved.approvals.append(decision("bob", "approve", 10, approved.created_at))
    rejected = proposal("P-2", status="rejected", hours_old=3)
    rejected.approvals.append(decision("bob", "reject", 30, rejected.created_at))
    edited = proposal("P-3", status="committed", hours_old=3, action="change_price", amount="5")
    edited.approvals.append(decision("carol", "edit", 50, edited.created_at))
    expired = proposal("P-4", status="expired", hours_old=80)

    figures = overview_of([*PENDING, approved, rejected, edited, expired], overdue=1)

    assert (figures.pending, figures.overdue, figures.decided) == (3, 1, 3)
    assert figures.median_time_to_decision == timedelta(minutes=30)
    rates = {r.action: r for r in figures.rates}
    assert rates["create_purchase_order"].approval_rate == pytest.approx(1 / 3)  # approved, rejected, expired
    assert rates["change_price"].approval_rate == 1.0
    assert sum(figures.decisions_per_day.values()) == 3


def test_an_empty_installation_has_an_overview_without_a_median() -> None:
    figures = overview_of([], overdue=0)
    assert (figures.pending, figures.decided, figures.median_time_to_decision, figures.rates) == (
        0,
        0,
        None,
        [],
    )
