"""The pure comparison at the heart of reconciliation: three sets in, findings out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from agent.reconcile import Intent, compare, compensation_for
from erp_acl.commands import CancelPurchaseOrder, PostJournalEntry
from erp_acl.domain import LandedDocument, LandedLine, LedgerEntry, Receipt

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ORDER = {
    "action": "create_purchase_order",
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": "40", "unit_price": None}],
    "memo": "",
    "based_on": {},
}


def intent(
    key: str, status: str = "committed", payload: dict[str, Any] | None = None, age_min: int = 0
) -> Intent:
    return Intent(
        f"P-{key}", status, key, "create_purchase_order", payload or ORDER, NOW - timedelta(minutes=age_min)
    )


def entry(key: str, document_id: str = "000301") -> LedgerEntry:
    receipt = Receipt(
        action="create_purchase_order",
        document_type="purchase_order",
        document_id=document_id,
        summary="PO",
        idempotency_key=key,
        fingerprint="f",
        committed_at=NOW,
    )
    return LedgerEntry(
        idempotency_key=key,
        fingerprint="f",
        action=receipt.action,
        command=ORDER,
        receipt=receipt,
        created_at=NOW,
    )


def order(key: str, number: str = "000301", quantity: str = "40", status: str = "open") -> LandedDocument:
    return LandedDocument(
        reference=key,
        document_type="purchase_order",
        document_id=number,
        status=status,
        amount=Decimal(quantity) * Decimal("0.85"),
        lines=(LandedLine(code="HB-M8-40", quantity=Decimal(quantity), unit_price=Decimal("0.85")),),
        created_on=date(2026, 11, 21),
    )


def kinds(*args: Any, **kwargs: Any) -> list[str]:
    return [f.kind for f in compare(*args, now=NOW, missing_after=timedelta(minutes=10), **kwargs).findings]


def test_a_write_that_landed_as_approved_is_no_finding() -> None:
    assert kinds([intent("k1")], [entry("k1")], [order("k1")]) == []


def test_an_approved_write_is_missing_only_once_it_is_overdue() -> None:
    assert kinds([intent("k1", "approved", age_min=2)], [], []) == []
    assert kinds([intent("k1", "approved", age_min=20)], [], []) == ["missing"]


def test_a_committed_write_without_a_ledger_entry_is_missing_at_once() -> None:
    assert kinds([intent("k1")], [], []) == ["missing"]


def test_a_second_live_document_under_one_key_is_a_duplicate_but_a_cancelled_one_is_not() -> None:
    assert kinds([intent("k1")], [entry("k1")], [order("k1"), order("k1", "000302")]) == ["duplicate"]
    cancelled = order("k1", "000302", status="cancelled")
    assert kinds([intent("k1")], [entry("k1")], [order("k1"), cancelled]) == []


def test_a_document_with_other_quantities_is_divergent() -> None:
    found = compare(
        [intent("k1")], [entry("k1")], [order("k1", quantity="55")], now=NOW, missing_after=timedelta(1)
    )
    [finding] = found.findings
    assert finding.kind == "divergent" and "55" in finding.detail


def test_a_document_or_ledger_entry_claiming_an_unknown_key_is_an_orphan() -> None:
    assert kinds([], [], [order("stray")]) == ["orphan"]
    assert kinds([], [entry("stray")], []) == ["orphan"]


def test_a_landed_write_whose_result_was_lost_is_confirmed_not_reported() -> None:
    found = compare(
        [intent("k1", "committing")], [entry("k1")], [order("k1")], now=NOW, missing_after=timedelta(1)
    )
    assert found.findings == []
    assert [i.proposal_id for i, _ in found.landed_unconfirmed] == ["P-k1"]


def test_compensations_cancel_orders_reverse_entries_and_resend_missing_writes_under_their_key() -> None:
    [duplicate] = compare(
        [intent("k1")],
        [entry("k1")],
        [order("k1"), order("k1", "000302")],
        now=NOW,
        missing_after=timedelta(1),
    ).findings
    command, key = compensation_for(duplicate, ORDER)  # type: ignore[misc]
    assert isinstance(command, CancelPurchaseOrder) and command.order_number == "000302" and key is None

    [missing] = compare([intent("k9")], [], [], now=NOW, missing_after=timedelta(1)).findings
    resend, key = compensation_for(missing, ORDER)  # type: ignore[misc]
    assert resend.action == "create_purchase_order" and key == "k9"

    entry_doc = LandedDocument(
        reference="j1",
        document_type="journal_entry",
        document_id="000900",
        status="posted",
        amount=Decimal("10"),
        lines=(
            LandedLine(code="5.1.01.001", quantity=Decimal("10"), unit_price=Decimal("0")),
            LandedLine(code="1.1.01.001", quantity=Decimal("0"), unit_price=Decimal("10")),
        ),
        created_on=date(2026, 11, 21),
    )
    [orphan] = compare([], [], [entry_doc], now=NOW, missing_after=timedelta(1)).findings
    reversal, _ = compensation_for(orphan, None)  # type: ignore[misc]
    assert isinstance(reversal, PostJournalEntry)
    assert [(line.account_code, line.debit, line.credit) for line in reversal.lines] == [
        ("5.1.01.001", Decimal("0"), Decimal("10")),
        ("1.1.01.001", Decimal("10"), Decimal("0")),
    ]
