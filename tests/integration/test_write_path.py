"""The gated write path, in process: propose → interrupt → claim → resume → commit exactly once.

Real SQLite files for the legacy ERP, the app database and the checkpoints; the offline planner
as the model. Proposals are filed through the same graph path a chat uses.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agent.approvals import AlreadyDecided, Proposal
from agent.service import AgentService, Refused, build_service
from agent.settings import Settings
from erp_acl.commands import ChangeCreditLimit, parse_command
from erp_acl.errors import IdempotencyConflict
from erp_acl.ports import Erp
from tools.gateway import Principal
from tools.tokens import write_binding

pytestmark = pytest.mark.integration

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}


def documents_with(erp: Erp, key: str) -> list[str]:
    """Purchase orders in the ERP that carry this idempotency key as their reference."""
    return [po.number for po in erp.list_purchase_orders(limit=100) if po.reference == key]


def file_purchase_order(service: AgentService, user: str = "alice") -> Proposal:
    proposal = service.call_tool("propose_purchase_order", PO_ARGS, user)
    assert isinstance(proposal, Proposal)
    return proposal


def interrupt_value(service: AgentService, thread_id: str) -> dict[str, Any]:
    interrupts = service.graph.get_state({"configurable": {"thread_id": thread_id}}).interrupts
    assert len(interrupts) == 1
    value = interrupts[0].value
    assert isinstance(value, dict)
    return value


def test_a_plain_language_request_becomes_a_pending_proposal_and_writes_nothing(
    service: AgentService,
) -> None:
    before = len(service.erp.list_purchase_orders(limit=100))
    result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")

    assert len(result.proposals) == 1
    proposal = result.proposals[0]
    assert proposal.status == "pending"
    assert proposal.action == "create_purchase_order"
    assert proposal.payload["supplier_code"] == "F00001"
    assert proposal.payload["lines"][0]["product_code"] == "HB-M8-40"
    assert Decimal(proposal.payload["lines"][0]["quantity"]) == 40
    assert proposal.id in result.reply
    assert {e.tool for e in proposal.evidence} >= {"search_products", "search_suppliers"}
    assert len(service.erp.list_purchase_orders(limit=100)) == before


def test_the_key_shown_in_the_interrupt_is_the_key_stored_in_the_erp_ledger(service: AgentService) -> None:
    proposal = file_purchase_order(service)
    shown = interrupt_value(service, proposal.thread_id)
    assert shown["idempotency_key"] == proposal.idempotency_key
    assert shown["fingerprint"] == proposal.fingerprint

    committed = service.decide(proposal.id, "bob", "approve")

    assert committed.status == "committed"
    receipt = service.gateway.receipt_for(shown["idempotency_key"])
    assert receipt is not None
    assert receipt.idempotency_key == shown["idempotency_key"]
    assert committed.receipt is not None and committed.receipt["document_id"] == receipt.document_id
    assert documents_with(service.erp, proposal.idempotency_key) == [receipt.document_id]


def test_the_agent_tells_the_requester_what_landed_after_approval(service: AgentService) -> None:
    result = service.chat("alice", "please order 40 hex bolts M8 from Fastenal")
    committed = service.decide(result.proposals[0].id, "bob", "approve")

    assert committed.receipt is not None
    last = service.messages(result.thread_id)[-1]
    assert isinstance(last, AIMessage)
    assert committed.receipt["document_id"] in str(last.content)


def test_a_proposal_survives_a_restart_and_a_fresh_service_commits_it(settings: Settings) -> None:
    first = build_service(settings)
    proposal = first.chat("alice", "order 40 hex bolts M8 from Fastenal").proposals[0]
    first.close()

    second = build_service(settings)
    try:
        committed = second.decide(proposal.id, "bob", "approve")
        assert committed.status == "committed"
        assert len(documents_with(second.erp, proposal.idempotency_key)) == 1
    finally:
        second.close()


def test_twenty_concurrent_approvals_in_threads_make_exactly_one_document(service: AgentService) -> None:
    proposal = file_purchase_order(service)
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def approve(index: int) -> None:
        start.wait()
        try:
            service.decide(proposal.id, "bob" if index % 2 else "carol", "approve")
            outcome = "won"
        except (AlreadyDecided, Refused) as exc:
            outcome = f"lost: {exc}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("won") == 1
    assert all("already approved by" in o for o in outcomes if o != "won")
    assert service.proposal(proposal.id).status == "committed"
    assert len(documents_with(service.erp, proposal.idempotency_key)) == 1


class SimulatedCrash(BaseException):
    """Stands for the process dying right after the ERP accepted the write: like a real death it
    is not an error the writer can catch and retry, so the delivery is never acknowledged."""


class CrashAfterWrite:
    """An ERP whose ``apply`` lands the write and then 'crashes' before anyone records it."""

    def __init__(self, erp: Erp) -> None:
        self._erp = erp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._erp, name)

    def apply(self, command: Any, idempotency_key: str, fingerprint: str) -> Any:
        self._erp.apply(command, idempotency_key, fingerprint)
        raise SimulatedCrash("process died after the ERP write")


def test_a_crash_after_the_erp_write_then_a_retry_returns_the_stored_receipt(settings: Settings) -> None:
    from agent.composition import open_erp

    crashing = build_service(settings, erp=CrashAfterWrite(open_erp(settings)))  # type: ignore[arg-type]
    proposal = file_purchase_order(crashing)
    with pytest.raises(SimulatedCrash):
        crashing.decide(proposal.id, "bob", "approve")
    assert crashing.proposal(proposal.id).status == "committing"
    crashing.close()

    restarted = build_service(settings)
    try:
        recovered = restarted.recover()
        assert [p.id for p in recovered] == [proposal.id]
        final = restarted.proposal(proposal.id)
        assert final.status == "committed"
        assert final.receipt is not None and final.receipt["replayed"] is True
        assert len(documents_with(restarted.erp, proposal.idempotency_key)) == 1
        assert restarted.recover() == []
    finally:
        restarted.close()


def test_the_same_key_with_a_changed_payload_is_a_conflict_and_writes_nothing(service: AgentService) -> None:
    proposal = service.decide(file_purchase_order(service).id, "bob", "approve")
    changed = parse_command({**proposal.payload, "lines": [{"product_code": "HB-M8-40", "quantity": "4000"}]})
    principal = Principal("countersign-agent", "alice")
    binding = write_binding(proposal.id, proposal.idempotency_key, "another-fingerprint")
    token = service.gateway.mint(principal, service.gateway.commit_audience(changed.action), binding)

    with pytest.raises(IdempotencyConflict):
        service.gateway.commit(
            changed,
            proposal_id=proposal.id,
            idempotency_key=proposal.idempotency_key,
            fingerprint_="another-fingerprint",
            principal=principal,
            token=token,
        )
    assert len(documents_with(service.erp, proposal.idempotency_key)) == 1
    po = service.erp.get_purchase_order(proposal.receipt["document_id"] if proposal.receipt else "")
    assert po.lines[0].quantity == 40


def test_the_requester_cannot_approve_their_own_proposal(service: AgentService) -> None:
    proposal = file_purchase_order(service, user="carol")  # carol is both clerk and approver

    with pytest.raises(Refused, match="segregation of duties"):
        service.decide(proposal.id, "carol", "approve")
    assert service.proposal(proposal.id).status == "pending"
    assert documents_with(service.erp, proposal.idempotency_key) == []


@pytest.mark.parametrize("user", ["alice", "dave"])
def test_people_without_the_approver_role_cannot_decide(service: AgentService, user: str) -> None:
    proposal = file_purchase_order(service, user="carol")
    with pytest.raises(Refused, match="none of the roles that may approve"):
        service.decide(proposal.id, user, "approve")
    assert service.proposal(proposal.id).status == "pending"


def test_a_rejection_writes_nothing_and_the_agent_reports_who_rejected_and_why(service: AgentService) -> None:
    result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")
    proposal = result.proposals[0]

    rejected = service.decide(proposal.id, "bob", "reject", reason="we already have an open order for these")

    assert rejected.status == "rejected"
    assert documents_with(service.erp, proposal.idempotency_key) == []
    reply = str(service.messages(result.thread_id)[-1].content)
    assert "reject" in reply.lower()
    assert "bob" in reply
    assert "we already have an open order for these" in reply


def test_a_rejection_without_a_reason_is_refused(service: AgentService) -> None:
    proposal = file_purchase_order(service)
    with pytest.raises(Refused, match="reason"):
        service.decide(proposal.id, "bob", "reject", reason=" ")
    assert service.proposal(proposal.id).status == "pending"


def test_a_stale_proposal_is_refused_and_writes_nothing(service: AgentService) -> None:
    proposal = service.call_tool(
        "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": "75000"}, "alice"
    )
    assert isinstance(proposal, Proposal)
    # Someone changes the customer in the ERP itself (not through Countersign) after the proposal.
    other = ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("60000"))
    service.erp.apply(other, "someone-else-1", "fp-other")

    result = service.decide(proposal.id, "bob", "approve")

    assert result.status == "failed"
    assert result.error is not None and "changed since" in result.error
    assert service.gateway.receipt_for(proposal.idempotency_key) is None
    assert service.erp.get_customer("C00001").credit_limit.amount == Decimal("60000")


def test_an_approver_edit_within_tolerance_is_revalidated_and_commits_under_the_same_key(
    service: AgentService,
) -> None:
    proposal = file_purchase_order(service)

    committed = service.decide(proposal.id, "bob", "edit", edits={"quantity": "41"})  # +2.5 %

    assert committed.status == "committed"
    assert committed.idempotency_key == proposal.idempotency_key
    assert committed.fingerprint != proposal.fingerprint
    assert committed.receipt is not None
    po = service.erp.get_purchase_order(committed.receipt["document_id"])
    assert po.lines[0].quantity == 41
    assert committed.approvals[-1].edits == {"quantity": "41"}
    assert committed.approvals[-1].policy_version == committed.gate["policy_version"]


def test_an_edit_beyond_tolerance_needs_a_fresh_approval_from_someone_else(service: AgentService) -> None:
    proposal = file_purchase_order(service)

    revised = service.decide(proposal.id, "bob", "edit", edits={"quantity": "55"})  # +37.5 %

    assert revised.status == "pending"
    assert revised.revision == 1 and revised.approvals[-1].decision == "revise"
    assert documents_with(service.erp, proposal.idempotency_key) == []
    with pytest.raises(Refused, match="beyond the policy's tolerance"):
        service.decide(proposal.id, "bob", "approve")
    committed = service.decide(proposal.id, "carol", "approve")
    assert committed.status == "committed"
    assert committed.receipt is not None
    assert service.erp.get_purchase_order(committed.receipt["document_id"]).lines[0].quantity == 55


def test_an_edit_that_breaks_a_domain_rule_is_refused_and_the_proposal_stays_pending(
    service: AgentService,
) -> None:
    from erp_acl.errors import ValidationFailed

    proposal = file_purchase_order(service)
    with pytest.raises(ValidationFailed):
        service.decide(proposal.id, "bob", "edit", edits={"quantity": "90000000"})
    assert service.proposal(proposal.id).status == "pending"


def test_a_conversation_waiting_for_approval_takes_no_new_message(service: AgentService) -> None:
    result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")
    with pytest.raises(Refused, match="waiting for the decision"):
        service.chat("alice", "and 10 more", thread_id=result.thread_id)


def test_nobody_continues_someone_elses_conversation(service: AgentService) -> None:
    from agent.conversations import ThreadAccessDenied

    result = service.chat("alice", "how many hex bolts M8 do we have in stock?")
    with pytest.raises(ThreadAccessDenied):
        service.chat("carol", "thanks", thread_id=result.thread_id)


def test_a_proposal_whose_conversation_is_not_waiting_is_never_resumed(service: AgentService) -> None:
    proposal = file_purchase_order(service)
    service.decide(proposal.id, "bob", "approve")
    # Forge a second pending row pointing at the finished thread: the service must not resume it.
    forged = service.store.create(
        thread_id=proposal.thread_id,
        tool_call_id="forged-call",
        action=proposal.action,
        summary=proposal.summary,
        payload=proposal.payload,
        idempotency_key="forged-key",
        fingerprint=proposal.fingerprint,
        requester="alice",
        evidence=[],
        gate=proposal.gate,
    )
    with pytest.raises(Refused, match="not waiting"):
        service.decide(forged.id, "bob", "approve")
    assert service.proposal(forged.id).status == "pending"
    assert documents_with(service.erp, "forged-key") == []


def test_a_proposal_the_domain_refuses_is_never_filed(service: AgentService) -> None:
    with pytest.raises(Refused, match="F00005 is blocked"):
        service.call_tool("propose_purchase_order", {**PO_ARGS, "supplier_code": "F00005"}, "alice")
    assert service.proposals(status="pending") == []
