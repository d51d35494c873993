"""What an approver sees: a proposal in business terms, its risk flags, and edits told truthfully.

Each test files a real proposal on a fresh installation (SQLite ERP seeded with the demo data) and
reads ``AgentService.approver_view`` the way the inbox does; the last ones follow an approver's
edit to what the requester is told in the chat.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agent.approvals import Proposal
from agent.service import AgentService

pytestmark = pytest.mark.integration


def filed(service: AgentService, tool: str, args: dict[str, Any], user: str = "alice") -> Proposal:
    proposal = service.call_tool(tool, args, user)
    assert isinstance(proposal, Proposal) and proposal.status == "pending"
    return proposal


def flags(service: AgentService, proposal: Proposal, kind: str | None = None) -> list[str]:
    view = service.approver_view(proposal.id, "bob")
    return [f.text for f in view.flags if kind is None or f.kind == kind]


def test_a_purchase_order_shows_names_currency_unit_price_and_line_totals(service: AgentService) -> None:
    po = service.chat("alice", "order 400 hex bolts M8 from Fastenal").proposals[0]

    view = service.approver_view(po.id, "bob")

    assert view.headline == (
        "Purchase order to Fastenal Brasil Ltda (F00001) for 400 PC Hex bolt M8 x 40 mm zinc plated "
        "(HB-M8-40), BRL 340.00 — charged to Maintenance (CC300)"
    )
    assert [str(p) for p in view.parties] == ["Fastenal Brasil Ltda (F00001)", "Maintenance (CC300)"]
    (line,) = view.lines
    assert line.item == "Hex bolt M8 x 40 mm zinc plated (HB-M8-40)" and line.quantity == 400
    assert str(line.unit_price) == "BRL 0.85" and line.note == "standard cost"
    assert str(line.total) == "BRL 340.00" and str(view.total) == "BRL 340.00"


def test_a_purchase_order_shows_the_budget_before_and_after_and_the_stock_position(
    service: AgentService,
) -> None:
    po = service.chat("alice", "order 400 hex bolts M8 from Fastenal").proposals[0]

    view = service.approver_view(po.id, "bob")

    assert view.budget is not None
    assert (str(view.budget.before), str(view.budget.after)) == ("BRL 179,850.00", "BRL 179,510.00")
    (stock,) = view.stock
    assert (stock.available, stock.reorder_point, stock.on_order, stock.ordering) == (470, 500, 500, 400)
    assert stock.after == 1370


def test_the_view_carries_the_requesters_words_the_rationale_and_the_conversation(
    service: AgentService,
) -> None:
    po = service.chat("alice", "order 400 hex bolts M8 from Fastenal").proposals[0]

    view = service.approver_view(po.id, "bob")

    assert view.request == "order 400 hex bolts M8 from Fastenal"
    assert view.rationale is not None and view.rationale.startswith("Proposing a purchase order to Fastenal")
    assert [line.role for line in view.conversation] == ["requester", "agent"]
    assert view.thread_id == po.thread_id


def test_an_open_order_and_a_waiting_proposal_for_the_same_product_are_flagged(
    service: AgentService,
) -> None:
    alices = service.chat("alice", "order 400 hex bolts M8 from Fastenal").proposals[0]
    carols = service.chat("carol", "order 100 hex bolts M8 from Fastenal").proposals[0]

    same = flags(service, alices, "same_subject")

    assert len(same) == 2
    assert same[0].startswith("Open purchase orders already order Hex bolt M8 x 40 mm zinc plated")
    assert "000295" in same[0]  # the seeded open PO for the same bolts
    assert same[1].startswith(f"{carols.id} for the same product HB-M8-40 is also waiting for approval")


def test_a_credit_limit_change_shows_now_to_proposed_with_the_change_in_percent(
    service: AgentService,
) -> None:
    proposal = filed(
        service, "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": "60000"}
    )

    view = service.approver_view(proposal.id, "bob")

    (change,) = view.changes
    assert (str(change.before), str(change.after), change.percent) == ("BRL 50,000.00", "BRL 60,000.00", 20)
    assert view.headline == (
        "Change the credit limit of Padaria Estrela Ltda (C00001) from BRL 50,000.00 to BRL 60,000.00 (+20.0%)"
    )
    assert not flags(service, proposal, "large_change")  # +20% is within the policy's 25%


def test_a_credit_limit_change_beyond_the_policy_threshold_is_flagged(service: AgentService) -> None:
    proposal = filed(
        service, "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": "80000"}
    )

    (flag,) = flags(service, proposal, "large_change")

    assert flag == "The credit limit moves +60.0%; the policy flags changes beyond ±25%."


def test_a_new_limit_far_above_the_customers_orders_is_flagged(service: AgentService) -> None:
    proposal = filed(
        service, "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": "60000"}
    )

    (flag,) = flags(service, proposal, "above_history")

    assert flag.startswith("The new limit BRL 60,000.00 is 29.2× the largest of Padaria Estrela Ltda")
    assert flag.endswith("the policy flags anything above 3×.")


def test_a_price_change_beyond_the_threshold_is_flagged_beside_its_standard_cost(
    service: AgentService,
) -> None:
    proposal = filed(service, "propose_price_change", {"product_code": "HB-M8-40", "new_price": "1.10"})

    view = service.approver_view(proposal.id, "bob")

    assert view.headline.endswith("from BRL 1.40 to BRL 1.10 per PC (-21.4%)")
    assert [f.kind for f in view.flags] == ["large_change"]
    assert [(ln.item, str(ln.unit_price)) for ln in view.lines] == [("Standard cost", "BRL 0.85")]


def test_a_purchase_order_far_above_the_suppliers_history_is_flagged(service: AgentService) -> None:
    proposal = filed(
        service,
        "propose_purchase_order",
        {
            "supplier_code": "F00001",
            "cost_center": "CC300",
            "lines": [{"product_code": "HB-M8-40", "quantity": 40000}],
        },
    )

    (flag,) = flags(service, proposal, "above_history")

    assert flag.startswith("This order's total BRL 34,000.00 is")
    assert "the largest of Fastenal Brasil Ltda (F00001)'s last" in flag


def test_a_journal_entry_shows_account_names_and_currency_on_each_line(service: AgentService) -> None:
    proposal = filed(
        service,
        "propose_journal_entry",
        {
            "description": "accrual",
            "lines": [
                {"account_code": "5.1.02.001", "debit": 1250},
                {"account_code": "1.1.02.001", "credit": 1250},
            ],
        },
    )

    view = service.approver_view(proposal.id, "bob")

    assert [(ln.item, str(ln.debit), str(ln.credit)) for ln in view.lines] == [
        ("Maintenance expense (5.1.02.001)", "BRL 1,250.00", "None"),
        ("Bank account Itau (1.1.02.001)", "None", "BRL 1,250.00"),
    ]
    assert view.headline.endswith("for BRL 1,250.00: accrual")


def test_a_sales_order_cancellation_shows_the_customer_and_the_lines_it_cancels(
    service: AgentService,
) -> None:
    order = service.erp.list_sales_orders(status="open", limit=1)[0]
    proposal = filed(
        service, "propose_sales_order_cancellation", {"order_number": order.number, "reason": "duplicate"}
    )

    view = service.approver_view(proposal.id, "bob")

    customer = service.erp.get_customer(order.customer_code)
    assert f"of {customer.name} ({customer.code}): {view.total}" in view.headline
    assert len(view.lines) == len(order.lines) and all(ln.total is not None for ln in view.lines)
    assert ("Reason", "duplicate") in view.notes


def test_another_waiting_cancellation_of_the_same_order_is_flagged(service: AgentService) -> None:
    order = service.erp.list_sales_orders(status="open", limit=1)[0]
    first = filed(
        service, "propose_sales_order_cancellation", {"order_number": order.number, "reason": "dup"}
    )
    second = filed(
        service,
        "propose_sales_order_cancellation",
        {"order_number": order.number, "reason": "again"},
        "carol",
    )

    (flag,) = flags(service, first, "same_subject")

    assert flag.startswith(f"{second.id} for the same order {order.number} is also waiting")


# ---- after an approver's edit (item 9) -----------------------------------------------------------


def test_after_an_edit_every_rendering_says_the_edited_value(service: AgentService) -> None:
    proposal = filed(
        service, "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": "80000"}
    )

    service.decide(proposal.id, "bob", "edit", edits={"new_limit": "70000"}, reason="too steep")

    view = service.approver_view(proposal.id, "carol")
    assert "to BRL 70,000.00" in view.headline and "80,000" not in view.headline
    assert "70,000.00" in service.proposal(proposal.id).summary
    assert [str(a) for a in view.amended] == ["new limit from 80,000.00 to 70,000.00"]
    assert view.amended_by == ["bob"]


def test_the_requester_is_told_what_the_approver_changed(service: AgentService) -> None:
    result = service.chat("alice", "Raise the credit limit of Padaria Estrela to 80,000.")
    (proposal,) = result.proposals
    service.decide(proposal.id, "bob", "edit", edits={"new_limit": "70000"})  # beyond tolerance
    committed = service.decide(proposal.id, "carol", "approve")
    assert committed.status == "committed"

    done = service.transcript(proposal.thread_id, "alice")[-1]["content"]

    assert done.startswith("Done")
    assert "Note: bob changed new limit from 80,000.00 to 70,000.00 before approving it" in done
    assert Decimal(str(service.erp.get_customer("C00001").credit_limit.amount)) == 70000


def test_a_proposal_approved_as_filed_is_reported_without_a_change_note(service: AgentService) -> None:
    result = service.chat("alice", "Raise the credit limit of Padaria Estrela to 52,000.")
    (proposal,) = result.proposals
    service.decide(proposal.id, "bob", "approve")

    done = service.transcript(proposal.thread_id, "alice")[-1]["content"]

    assert done.startswith("Done") and "Note:" not in done and "before approving" not in done
