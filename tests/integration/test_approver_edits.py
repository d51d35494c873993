"""An approver's edit may change how much, never who or what (security finding: retargeted writes).

Each test is one reproduction of the finding, on real SQLite: an approver moving a purchase order
to another supplier or cost center, a credit-limit change to another customer, a journal entry to
another account, a PO line to another product, the same on a two-approver gate, tolerance crept
past in small steps, and a summary that kept showing the figures as first proposed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agent.approvals import Proposal
from agent.cli import _story_line
from agent.edits import EditError
from agent.service import AgentService

pytestmark = pytest.mark.integration

BIG_ORDER: dict[str, Any] = {  # 34,000.00: the po-over-10k rule, two approvers
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40000}],
}
JOURNAL: dict[str, Any] = {
    "description": "accrual",
    "lines": [
        {"account_code": "5.1.02.001", "debit": 1200},
        {"account_code": "1.1.02.001", "credit": 1200},
    ],
}


def filed(service: AgentService, tool: str, args: dict[str, Any]) -> Proposal:
    proposal = service.call_tool(tool, args, "alice")
    assert isinstance(proposal, Proposal) and proposal.status == "pending"
    return proposal


def assert_untouched(service: AgentService, before: Proposal) -> None:
    after = service.proposal(before.id)
    assert after.status == "pending"
    assert after.payload == before.payload and after.fingerprint == before.fingerprint
    assert after.revision == before.revision
    assert service.gateway.receipt_for(before.idempotency_key) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("supplier_code", "F00002"), ("cost_center", "CC110"), ("lines.0.product_code", "HB-M10-50")],
)
def test_an_approver_cannot_retarget_a_purchase_order_with_their_own_approval(
    service: AgentService, field: str, value: str
) -> None:
    proposal = service.chat("alice", "order 400 hex bolts M8 from Fastenal").proposals[0]

    with pytest.raises(EditError) as refused:
        service.decide(proposal.id, "bob", "edit", edits={field: value})

    message = str(refused.value)
    assert "\n" not in message
    assert "cannot be edited" in message and "reject" in message
    assert_untouched(service, proposal)


def test_an_approver_cannot_move_a_credit_limit_change_to_another_customer(service: AgentService) -> None:
    proposal = filed(
        service, "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": "60000"}
    )
    with pytest.raises(EditError, match=r"customer_code .*cannot be edited"):
        service.decide(proposal.id, "bob", "edit", edits={"customer_code": "C00002"})
    assert_untouched(service, proposal)


def test_an_approver_cannot_move_a_journal_line_to_another_account(service: AgentService) -> None:
    proposal = filed(service, "propose_journal_entry", JOURNAL)
    with pytest.raises(EditError, match=r"lines\.1\.account_code .*cannot be edited"):
        service.decide(proposal.id, "bob", "edit", edits={"lines.1.account_code": "1.1.01.001"})
    assert_untouched(service, proposal)


def test_a_retargeting_attempt_is_recorded_in_the_audit_trail(service: AgentService) -> None:
    proposal = service.chat("alice", "order 400 hex bolts M8 from Fastenal").proposals[0]
    with pytest.raises(EditError):
        service.decide(proposal.id, "bob", "edit", edits={"supplier_code": "F00002"})
    refused = [r for r in service.story(proposal.id) if r.type == "access_denied"]
    assert [r.actor for r in refused] == ["bob"]
    assert "supplier_code" in str(refused[0].details.get("reason"))


def test_the_second_approver_of_a_two_approver_gate_cannot_change_the_supplier(
    service: AgentService,
) -> None:
    proposal = filed(service, "propose_purchase_order", BIG_ORDER)
    first = service.decide(proposal.id, "bob", "approve")
    assert first.status == "pending"

    with pytest.raises(EditError, match=r"supplier_code .*cannot be edited"):
        service.decide(proposal.id, "carol", "edit", edits={"supplier_code": "F00002"})
    assert_untouched(service, first)


def test_any_edit_voids_the_approvals_already_given(service: AgentService) -> None:
    proposal = filed(service, "propose_purchase_order", BIG_ORDER)
    service.decide(proposal.id, "bob", "approve")

    edited = service.decide(proposal.id, "carol", "edit", edits={"quantity": "41000"})  # +2.5 %

    # Bob approved 40,000 bolts, not 41,000: only Carol's approval counts for what stands now.
    assert edited.status == "pending"
    assert [d.actor for d in edited.current_approvals()] == ["carol"]
    committed = service.decide(proposal.id, "bob", "approve")
    assert committed.status == "committed"
    assert committed.receipt is not None
    assert service.erp.get_purchase_order(committed.receipt["document_id"]).lines[0].quantity == 41000


def test_tolerance_is_measured_against_the_original_proposal_across_revisions(
    service: AgentService,
) -> None:
    proposal = filed(service, "propose_purchase_order", BIG_ORDER)

    first = service.decide(proposal.id, "bob", "edit", edits={"quantity": "41600"})  # +4 %
    assert first.approvals[-1].decision == "edit"
    second = service.decide(proposal.id, "carol", "edit", edits={"quantity": "43264"})  # +4 % again

    # 43,264 is 8.16 % over the 40,000 first proposed: beyond the 5 % tolerance, whoever edits.
    assert second.approvals[-1].decision == "revise"
    assert second.status == "pending" and second.current_approvals() == []
    assert service.gateway.receipt_for(proposal.idempotency_key) is None


def test_small_edits_after_a_fresh_approval_are_still_measured_against_the_original(
    service: AgentService,
) -> None:
    proposal = filed(service, "propose_purchase_order", BIG_ORDER)
    service.decide(proposal.id, "bob", "edit", edits={"quantity": "46000"})  # +15 %: revise
    # Carol nudges it 4 % further: 19.6 % over the original, so it is still a revision.
    nudged = service.decide(proposal.id, "carol", "edit", edits={"quantity": "47840"})
    assert nudged.approvals[-1].decision == "revise"
    assert nudged.current_approvals() == []


def test_the_summary_inbox_card_and_audit_story_show_the_payload_as_it_now_stands(
    service: AgentService,
) -> None:
    proposal = filed(service, "propose_purchase_order", BIG_ORDER)

    edited = service.decide(proposal.id, "bob", "edit", edits={"quantity": "41000"})

    assert "41000 x HB-M8-40" in edited.summary and "40000" not in edited.summary
    inbox = [i.proposal for i in service.inbox("erin") if i.proposal.id == proposal.id]
    assert [p.summary for p in inbox] == [edited.summary]
    card = [p for p in service.proposals(thread_id=proposal.thread_id) if p.id == proposal.id]
    assert [p.summary for p in card] == [edited.summary]
    assert Decimal(edited.gate["amount"]) == Decimal("34850.00")
    decision = [r for r in service.story(proposal.id) if r.type == "decision"][-1]
    assert decision.details["summary"] == edited.summary
    assert f"now: {edited.summary}" in _story_line(decision)  # `countersign audit show`
