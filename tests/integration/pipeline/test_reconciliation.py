"""Reconciliation against a real legacy ERP: each kind of discrepancy is planted directly in the
ERP's database (as a legacy retry, a manual re-entry or a stray edit would leave it), then detected,
reported, compensated through the approval gate, and seen resolved by the next pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from agent.approvals import Proposal
from agent.service import AgentService, build_service
from agent.settings import Settings
from erp_acl.legacy.adapter import legacy_engine
from erp_acl.legacy.schema import SC7
from tests.integration.pipeline.conftest import approved_journal_entries, file_purchase_order

pytestmark = pytest.mark.integration


@pytest.fixture
def service(data_dir: Path) -> Iterator[AgentService]:
    svc = build_service(Settings(data_dir=data_dir, model="offline", reconcile_missing_after_seconds=3600))
    yield svc
    svc.close()


@pytest.fixture
def erp_db(data_dir: Path) -> Iterator[Engine]:
    engine = legacy_engine(data_dir / "legacy_erp.db")
    yield engine
    engine.dispose()


def committed_order(service: AgentService) -> Proposal:
    proposal = service.decide(file_purchase_order(service).id, "bob", "approve")
    assert proposal.status == "committed" and proposal.receipt is not None
    return proposal


def order_rows(erp_db: Engine, number: str) -> list[dict[str, Any]]:
    with erp_db.connect() as conn:
        rows = conn.execute(select(SC7).where(number == SC7.c.C7_NUM)).mappings().all()
    return [dict(r) for r in rows]


def reenter_order(erp_db: Engine, rows: list[dict[str, Any]], number: str, **changes: Any) -> None:
    """Insert a copy of an order's rows under another number, as a legacy retry would."""
    copies = [
        {**{k: v for k, v in r.items() if k != "R_E_C_N_O_"}, "C7_NUM": number, **changes} for r in rows
    ]
    with erp_db.begin() as conn:
        conn.execute(insert(SC7), copies)


def only(found: list[Any], kind: str) -> Any:
    matching = [d for d in found if d.kind == kind]
    assert len(matching) == 1, found
    return matching[0]


def approve_compensation(service: AgentService, discrepancy_id: str) -> Proposal:
    compensation_id = next(d.compensation_id for d in service.discrepancies() if d.id == discrepancy_id)
    assert compensation_id is not None
    return service.decide(compensation_id, "bob", "approve")


def test_a_clean_erp_has_no_discrepancies(service: AgentService) -> None:
    committed_order(service)
    report = service.reconcile()
    assert report.found == 0 and report.intents == 1
    assert service.discrepancies() == []


def test_a_duplicate_order_is_found_and_cancelled_after_approval(
    service: AgentService, erp_db: Engine
) -> None:
    original = committed_order(service)
    assert original.receipt is not None
    reenter_order(erp_db, order_rows(erp_db, original.receipt["document_id"]), "009901")

    report = service.reconcile()

    duplicate = only(service.discrepancies(), "duplicate")
    assert report.new == 1
    assert duplicate.document_ids == ["009901"] and duplicate.idempotency_key == original.idempotency_key
    assert duplicate.status == "compensating"
    compensation = service.proposal(duplicate.compensation_id)
    assert compensation.action == "cancel_purchase_order" and compensation.payload["order_number"] == "009901"
    assert compensation.status == "pending" and compensation.requester == "countersign-reconciler"

    done = approve_compensation(service, duplicate.id)

    assert done.status == "committed"
    assert service.erp.get_purchase_order("009901").status == "cancelled"
    assert service.erp.get_purchase_order(original.receipt["document_id"]).status == "open"
    service.reconcile()
    assert service.discrepancies() == []
    assert only(service.discrepancies(include_resolved=True), "duplicate").status == "resolved"


def test_an_order_that_landed_with_other_quantities_is_divergent(
    service: AgentService, erp_db: Engine
) -> None:
    original = committed_order(service)
    assert original.receipt is not None
    with erp_db.begin() as conn:
        conn.execute(update(SC7).where(original.receipt["document_id"] == SC7.c.C7_NUM).values(C7_QUANT=55.0))

    service.reconcile()

    divergent = only(service.discrepancies(), "divergent")
    assert "HB-M8-40" in divergent.detail and "40" in divergent.detail and "55" in divergent.detail
    assert service.proposal(divergent.compensation_id).action == "cancel_purchase_order"


def test_an_order_claiming_a_key_no_proposal_has_is_an_orphan(service: AgentService, erp_db: Engine) -> None:
    original = committed_order(service)
    assert original.receipt is not None
    reenter_order(
        erp_db, order_rows(erp_db, original.receipt["document_id"]), "009902", C7_XREF="forged-key-123"
    )

    service.reconcile()

    orphan = only(service.discrepancies(), "orphan")
    assert orphan.idempotency_key == "forged-key-123" and orphan.document_ids == ["009902"]
    assert approve_compensation(service, orphan.id).status == "committed"
    assert service.erp.get_purchase_order("009902").status == "cancelled"


def test_a_duplicate_journal_entry_gets_a_reversing_entry(service: AgentService) -> None:
    entry = approved_journal_entries(service, 1)[0]
    assert service.pipeline is not None
    service.pipeline.drain()
    landed = service.proposal(entry.id)
    assert landed.status == "committed" and landed.receipt is not None
    # A manual re-entry that copied the reference: post the same lines again under the same key's
    # reference, bypassing the ledger (straight into the ERP's tables through the adapter's rows).
    from erp_acl.legacy.schema import CT2

    erp_db = legacy_engine(service.settings.data_dir / "legacy_erp.db")
    try:
        with erp_db.begin() as conn:
            rows = conn.execute(select(CT2).where(landed.idempotency_key == CT2.c.CT2_XREF)).mappings().all()
            copies = [
                {**{k: v for k, v in r.items() if k != "R_E_C_N_O_"}, "CT2_DOC": "999901"} for r in rows
            ]
            conn.execute(insert(CT2), copies)
    finally:
        erp_db.dispose()

    service.reconcile()

    duplicate = only(service.discrepancies(), "duplicate")
    reversal = service.proposal(duplicate.compensation_id)
    assert reversal.action == "post_journal_entry"
    debits = {line["account_code"]: line["debit"] for line in reversal.payload["lines"]}
    credits = {line["account_code"]: line["credit"] for line in reversal.payload["lines"]}
    assert float(debits["1.1.01.001"]) == 10.0 and float(credits["5.1.01.001"]) == 10.0


def test_an_approved_write_that_never_landed_is_missing_and_re_sent_under_its_own_key(data_dir: Path) -> None:
    service = build_service(
        Settings(data_dir=data_dir, model="offline", workers="external", reconcile_missing_after_seconds=1)
    )
    try:
        proposal = file_purchase_order(service)
        service.decide(proposal.id, "bob", "approve")
        # The command is lost: nothing relays it (say it was dead-lettered and the outbox row purged).
        service.outbox.complete_subject(proposal.id, "lost")
        import time

        time.sleep(1.1)
        service.reconcile()

        missing = only(service.discrepancies(), "missing")
        resend = service.proposal(missing.compensation_id)
        assert resend.action == "create_purchase_order" and resend.write_key == proposal.idempotency_key
        assert resend.payload == service.proposal(proposal.id).payload

        service.decide(resend.id, "bob", "approve")
        assert service.pipeline is not None
        service.pipeline.drain()

        assert service.proposal(resend.id).status == "committed"
        assert service.erp.receipt_for(proposal.idempotency_key) is not None
        report = service.reconcile()
        assert report.healed == 1  # the original is confirmed from the ledger
        assert service.proposal(proposal.id).status == "committed"
        assert service.discrepancies() == []
    finally:
        service.close()


def test_reconciliation_reads_in_bulk_not_per_intent(service: AgentService) -> None:
    approved_journal_entries(service, 30)
    assert service.pipeline is not None
    service.pipeline.drain()
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2])[:40])

    engines = [service.engine, service.erp._erp._engine]  # type: ignore[attr-defined]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        service.reconcile()
        few = len(statements)
        approved_journal_entries(service, 30)
        service.pipeline.drain()
        statements.clear()
        service.reconcile()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == few  # twice the intents, the same number of queries
