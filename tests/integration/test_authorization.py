"""Nothing is written unless the audit trail's decisions satisfy the gate the trail recorded.

The attacker here can run SQL on the app database: they can set a proposal's ``status``, its
``gate``, its ``payload`` and its decision rows, but not rewrite the hash-chained audit trail. Every
path that applies a write — the ERP writer, ``recover``, a compensation — asks the trail first; and
``audit verify --against-erp`` and reconciliation flag any write in the ERP ledger without an
authorizing decision behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from agent.approvals import Proposal
from agent.service import AgentService, build_service
from agent.settings import Settings
from erp_acl.commands import parse_command
from erp_acl.ports import Erp
from tools.gateway import Principal
from tools.tokens import write_binding

pytestmark = pytest.mark.integration

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}


@pytest.fixture
def service(data_dir: Path) -> Iterator[AgentService]:
    # Workers external: an approval only queues its write, so a test can act between the two. The
    # service's clock runs an hour ahead, so reconciliation already counts an unlanded intent missing.
    settings = Settings(
        data_dir=data_dir, model="offline", workers="external", reconcile_missing_after_seconds=60
    )
    svc = build_service(settings, now=lambda: datetime.now(UTC) + timedelta(hours=1))
    yield svc
    svc.close()


def file_purchase_order(service: AgentService, quantity: int = 40) -> Proposal:
    args = {**PO_ARGS, "lines": [{"product_code": "HB-M8-40", "quantity": quantity}]}
    proposal = service.call_tool("propose_purchase_order", args, "alice")
    assert isinstance(proposal, Proposal) and proposal.status == "pending"
    return proposal


def sql(service: AgentService, statement: str, **params: Any) -> None:
    """What an attacker with write access to the app database does."""
    with service.engine.begin() as conn:
        conn.execute(text(statement), params)


def forge_approval(service: AgentService, proposal_id: str) -> None:
    sql(service, "update proposals set status='approved' where id=:id", id=proposal_id)


def documents_with(erp: Erp, key: str) -> list[str]:
    return [po.number for po in erp.list_purchase_orders(limit=200) if po.reference == key]


def write_directly(service: AgentService, proposal: Proposal) -> None:
    """A write that reached the ERP without a decision (as `recover` did for a forged approval)."""
    command = parse_command(proposal.payload)
    principal = Principal(service.agent.id, proposal.on_behalf_of)
    binding = write_binding(proposal.id, proposal.idempotency_key, proposal.fingerprint)
    token = service.gateway.mint(principal, service.gateway.commit_audience(command.action), binding)
    service.gateway.commit(
        command,
        proposal_id=proposal.id,
        idempotency_key=proposal.idempotency_key,
        fingerprint_=proposal.fingerprint,
        principal=principal,
        token=token,
    )


def test_recover_never_writes_a_proposal_marked_approved_in_the_database_without_a_decision(
    service: AgentService,
) -> None:
    proposal = file_purchase_order(service)
    forge_approval(service, proposal.id)

    service.recover()
    assert service.pipeline is not None
    service.pipeline.drain()

    after = service.proposal(proposal.id)
    assert after.status == "failed"
    assert after.error is not None and "no decision" in after.error
    assert documents_with(service.erp, proposal.idempotency_key) == []
    refused = [r for r in service.story(proposal.id) if r.type == "access_denied"]
    assert refused and refused[-1].details["kind"] == "write_not_authorized"


def test_the_writer_refuses_a_forged_approval_queued_by_sql(service: AgentService) -> None:
    proposal = file_purchase_order(service)
    forge_approval(service, proposal.id)
    forged = service.proposal(proposal.id)
    with service.engine.begin() as conn:  # the attacker queues the write themselves
        service._enqueue(conn, forged, service.agent.id)
    assert service.pipeline is not None
    service.pipeline.drain()

    assert service.proposal(proposal.id).status == "failed"
    assert documents_with(service.erp, proposal.idempotency_key) == []


def test_a_decision_row_and_a_weaker_gate_forged_in_the_database_authorize_nothing(
    service: AgentService,
) -> None:
    # Above 50,000 the policy wants two approvers, one of them a finance director.
    proposal = file_purchase_order(service, quantity=60_000)
    assert proposal.gate["approvals_required"] == 2
    weaker = {**proposal.gate, "approvals_required": 1, "required_role": None}
    sql(service, "update proposals set gate=:gate where id=:id", gate=_json(weaker), id=proposal.id)
    sql(
        service,
        "insert into decisions (proposal_id, actor, decision, revision, policy_version, rule, created_at)"
        " values (:id, 'bob', 'approve', 0, :version, :rule, CURRENT_TIMESTAMP)",
        id=proposal.id,
        version=proposal.gate["policy_version"],
        rule=proposal.gate["rule"],
    )
    forge_approval(service, proposal.id)

    service.recover()
    assert service.pipeline is not None
    service.pipeline.drain()

    assert service.proposal(proposal.id).status == "failed"
    assert documents_with(service.erp, proposal.idempotency_key) == []


def test_a_payload_changed_in_the_database_after_approval_is_not_written(service: AgentService) -> None:
    proposal = service.decide(file_purchase_order(service).id, "bob", "approve")
    assert proposal.status == "approved"  # queued, not yet written (workers are external)
    bigger = {**proposal.payload, "lines": [{**proposal.payload["lines"][0], "quantity": "4000"}]}
    sql(service, "update proposals set payload=:payload where id=:id", payload=_json(bigger), id=proposal.id)
    assert service.pipeline is not None
    service.pipeline.drain()

    assert service.proposal(proposal.id).status == "failed"
    assert documents_with(service.erp, proposal.idempotency_key) == []


def test_an_approved_proposal_is_still_written(service: AgentService) -> None:
    proposal = service.decide(file_purchase_order(service).id, "bob", "approve")
    assert service.pipeline is not None
    service.pipeline.drain()
    assert service.proposal(proposal.id).status == "committed"
    assert service.verify_audit(against_erp=True).ok


def test_audit_verify_against_the_erp_names_a_write_without_authorizing_decisions(
    service: AgentService,
) -> None:
    legit = service.decide(file_purchase_order(service).id, "bob", "approve")
    assert service.pipeline is not None
    service.pipeline.drain()
    forged = file_purchase_order(service, quantity=41)
    forge_approval(service, forged.id)
    write_directly(service, service.proposal(forged.id))

    report = service.verify_audit(against_erp=True)

    assert not report.ok
    assert report.problem is not None and forged.id in report.problem and legit.id not in report.problem


def test_reconciliation_reports_a_write_without_authorizing_decisions_as_its_own_kind(
    service: AgentService,
) -> None:
    forged = file_purchase_order(service)
    forge_approval(service, forged.id)
    write_directly(service, service.proposal(forged.id))

    service.reconcile()

    found = [d for d in service.discrepancies() if d.proposal_id == forged.id]
    assert [d.kind for d in found] == ["unauthorized"]
    assert forged.id in found[0].detail


def test_reconciliation_files_no_resend_of_a_forged_approval_that_never_landed(
    service: AgentService,
) -> None:
    forged = file_purchase_order(service)
    forge_approval(service, forged.id)

    service.reconcile()

    missing = [d for d in service.discrepancies() if d.proposal_id == forged.id]
    assert missing and missing[0].compensation_id is None
    assert missing[0].compensation_note is not None and "no decision" in missing[0].compensation_note


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value)


def test_an_approval_and_its_audit_record_are_one_fact(service: AgentService) -> None:
    # The decision's record is appended in the decision's own transaction: if the trail cannot take
    # it, the approval (and the write it would queue) is not recorded either.
    proposal = file_purchase_order(service)

    def trail_down(*_: Any) -> Any:
        raise RuntimeError("the audit trail refused the record")

    real = service.audit.append_in
    service.audit.append_in = trail_down  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            service.decide(proposal.id, "bob", "approve")
    finally:
        service.audit.append_in = real  # type: ignore[method-assign]
    after = service.proposal(proposal.id)
    assert (after.status, after.approvals) == ("pending", [])
    assert not service.outbox.has_subject(proposal.id)

    service.decide(proposal.id, "bob", "approve")
    assert service.pipeline is not None
    service.pipeline.drain()
    assert service.proposal(proposal.id).status == "committed"
    assert [r.actor for r in service.story(proposal.id) if r.type == "decision"] == ["bob"]


def test_an_approval_without_its_audit_record_is_refused_at_once_never_waited_for(
    service: AgentService,
) -> None:
    proposal = file_purchase_order(service)
    claimed = service.store.decide(
        proposal.id, actor="bob", decision="approve", check=lambda _: None, satisfied=lambda *_: True
    )
    refused = service.authorize_write(claimed)
    assert refused is not None and refused.startswith("not written:")
