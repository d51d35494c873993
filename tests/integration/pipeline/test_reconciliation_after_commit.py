"""Reconciliation of what happens in the ERP *after* a write landed: a committed document edited
(supplier, cost center, description) or soft-deleted (``D_E_L_E_T_ = '*'``, its ledger row intact),
a changed record (credit limit, list price) changed again, a cancelled order reinstated. Each is
planted straight in the legacy ERP's tables on SQLite, as a person at the ERP's own screens would
leave it, and must be reported with the field that differs and compensated through the gate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from agent.approvals import Proposal
from agent.service import AgentService, build_service
from agent.settings import Settings
from erp_acl.commands import ChangeCreditLimit, Command
from erp_acl.legacy import translate as tr
from erp_acl.legacy.adapter import legacy_engine
from erp_acl.legacy.schema import CT2, SA1, SC7
from tests.integration.pipeline.conftest import approved_journal_entries, file_approved, file_purchase_order

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


def committed_order(service: AgentService) -> tuple[Proposal, str]:
    proposal = service.decide(file_purchase_order(service).id, "bob", "approve")
    assert proposal.status == "committed" and proposal.receipt is not None
    return proposal, str(proposal.receipt["document_id"])


def committed(service: AgentService, command: Command) -> Proposal:
    """``command`` approved and written by the pipeline (filed straight into the store)."""
    proposal = file_approved(service, command, Decimal("1.00"), thread_id=f"t-{uuid.uuid4().hex[:8]}")
    assert service.pipeline is not None
    service.pipeline.drain()
    landed = service.proposal(proposal.id)
    assert landed.status == "committed", landed.error
    return landed


def only(found: list[Any], kind: str) -> Any:
    matching = [d for d in found if d.kind == kind]
    assert len(matching) == 1, found
    return matching[0]


def edit_order(erp_db: Engine, number: str, **values: Any) -> None:
    with erp_db.begin() as conn:
        conn.execute(update(SC7).where(number == SC7.c.C7_NUM).values(**values))


def test_an_order_moved_to_another_supplier_after_it_landed_is_divergent(
    service: AgentService, erp_db: Engine
) -> None:
    _, number = committed_order(service)
    edit_order(erp_db, number, C7_FORNECE="F00002")

    service.reconcile()

    divergent = only(service.discrepancies(), "divergent")
    assert divergent.document_ids == [number]
    assert "supplier F00001 approved, now F00002" in divergent.detail
    assert service.proposal(divergent.compensation_id).action == "cancel_purchase_order"


def test_an_order_moved_to_another_cost_center_after_it_landed_is_divergent(
    service: AgentService, erp_db: Engine
) -> None:
    _, number = committed_order(service)
    edit_order(erp_db, number, C7_CC="CC100")

    service.reconcile()

    divergent = only(service.discrepancies(), "divergent")
    assert "cost center CC300 approved, now CC100" in divergent.detail
    compensation = service.proposal(divergent.compensation_id)
    assert compensation.action == "cancel_purchase_order" and compensation.payload["order_number"] == number


def test_an_order_soft_deleted_after_it_landed_is_missing_and_re_sent_under_a_key_of_its_own(
    service: AgentService, erp_db: Engine
) -> None:
    original, number = committed_order(service)
    edit_order(erp_db, number, D_E_L_E_T_="*")

    service.reconcile()

    missing = only(service.discrepancies(), "missing")
    assert missing.idempotency_key == original.idempotency_key
    assert f"purchase order {number} landed under its key and is no longer in the ERP" in missing.detail
    resend = service.proposal(missing.compensation_id)
    assert resend.action == "create_purchase_order" and resend.payload == original.payload
    # The original key is spent (its ledger row stays): a re-send under it would only replay the
    # old receipt. The re-send has a key of its own, derived from the original, so it lands once.
    assert resend.write_key != original.idempotency_key

    done = service.decide(resend.id, "bob", "approve")

    assert done.status == "committed" and done.receipt is not None
    assert done.receipt["document_id"] != number
    service.reconcile()
    assert service.discrepancies() == []
    assert only(service.discrepancies(include_resolved=True), "missing").status == "resolved"


def test_a_journal_entry_soft_deleted_after_it_landed_is_missing(
    service: AgentService, erp_db: Engine
) -> None:
    [entry] = approved_journal_entries(service, 1)
    assert service.pipeline is not None
    service.pipeline.drain()
    with erp_db.begin() as conn:
        conn.execute(update(CT2).where(entry.idempotency_key == CT2.c.CT2_XREF).values(D_E_L_E_T_="*"))

    service.reconcile()

    missing = only(service.discrepancies(), "missing")
    assert missing.idempotency_key == entry.idempotency_key and "no longer in the ERP" in missing.detail


def test_a_journal_entry_redescribed_after_it_landed_is_divergent(
    service: AgentService, erp_db: Engine
) -> None:
    [entry] = approved_journal_entries(service, 1)
    assert service.pipeline is not None
    service.pipeline.drain()
    with erp_db.begin() as conn:
        conn.execute(update(CT2).where(entry.idempotency_key == CT2.c.CT2_XREF).values(CT2_HIST="moved"))

    service.reconcile()

    divergent = only(service.discrepancies(), "divergent")
    assert "description 'load test entry 0' approved, now 'moved'" in divergent.detail
    assert divergent.compensation_id is not None, divergent.compensation_note
    assert service.proposal(divergent.compensation_id).action == "post_journal_entry"  # a reversal


def test_a_credit_limit_changed_again_in_the_erp_is_divergent_and_set_back_after_approval(
    service: AgentService, erp_db: Engine
) -> None:
    committed(service, ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("90000.00")))
    with erp_db.begin() as conn:
        conn.execute(update(SA1).where(SA1.c.A1_COD == "C00001").values(A1_LC=tr.to_cents(Decimal("900000"))))

    service.reconcile()

    divergent = only(service.discrepancies(), "divergent")
    assert "credit limit 90000.00 approved, now 900000.00" in divergent.detail
    assert divergent.document_type == "customer" and divergent.document_ids == ["C00001"]
    back = service.proposal(divergent.compensation_id)
    assert back.action == "change_credit_limit" and Decimal(back.payload["new_limit"]) == Decimal("90000")

    assert service.decide(back.id, "bob", "approve").status == "committed"
    assert service.erp.get_customer("C00001").credit_limit.amount == Decimal("90000.00")
    service.reconcile()
    assert service.discrepancies() == []


def test_a_later_approved_credit_limit_supersedes_an_earlier_one(service: AgentService) -> None:
    committed(service, ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("90000.00")))
    committed(service, ChangeCreditLimit(customer_code="c1", new_limit=Decimal("95000.00")))

    assert service.reconcile().found == 0
