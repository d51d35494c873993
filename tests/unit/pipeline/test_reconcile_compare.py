"""The pure comparison at the heart of reconciliation: three sets in, findings out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from agent.reconcile import Finding, Intent, compare, compensation_for, resend_key
from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    PostJournalEntry,
)
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
        party="F00001",
        cost_center="CC300",
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


def test_a_landed_document_gone_since_is_missing_and_re_sent_under_a_key_derived_from_its_own() -> None:
    """Deleted or soft-deleted in the ERP after it landed: the ledger row stays, no document does."""
    [missing] = compare([intent("k1")], [entry("k1")], [], now=NOW, missing_after=timedelta(1)).findings
    assert missing.kind == "missing"
    assert missing.detail == (
        "purchase order 000301 landed under its key and is no longer in the ERP (deleted after it landed)"
    )
    resend, key = compensation_for(missing, ORDER)  # type: ignore[misc]
    assert resend.action == "create_purchase_order" and key == resend_key("k1") != "k1"
    assert resend_key("k1") == resend_key("k1")  # filed twice, it can still land only once


def test_a_gone_document_whose_re_send_landed_is_no_longer_missing_and_a_cancelled_one_is_not_gone() -> None:
    assert kinds([intent("k1")], [entry("k1"), entry(resend_key("k1"), "000302")], []) == ["orphan"]
    assert kinds([intent("k1")], [entry("k1")], [order("k1", status="cancelled")]) == []


def test_an_order_moved_to_another_supplier_after_it_landed_is_divergent() -> None:
    moved = order("k1").model_copy(update={"party": "F00002"})
    [finding] = compare([intent("k1")], [entry("k1")], [moved], now=NOW, missing_after=timedelta(1)).findings
    assert finding.kind == "divergent" and finding.detail == "supplier F00001 approved, now F00002"


def limit_intent(key: str, limit: str, customer: str = "C00001") -> Intent:
    command = ChangeCreditLimit(customer_code=customer, new_limit=Decimal(limit))
    return Intent(f"P-{key}", "committed", key, command.action, command.model_dump(mode="json"), NOW)


def limit_entry(key: str, minutes: int) -> LedgerEntry:
    landed = entry(key, "C00001")
    return landed.model_copy(
        update={"action": "change_credit_limit", "created_at": NOW + timedelta(minutes=minutes)}
    )


def customer(limit: str) -> LandedDocument:
    return LandedDocument(
        reference="",
        document_type="customer",
        document_id="C00001",
        status="active",
        amount=Decimal(limit),
        lines=(),
    )


def in_place(
    records: dict[str, LandedDocument | None], *intents: Intent, entries: list[LedgerEntry]
) -> list[Any]:
    return compare(list(intents), entries, [], now=NOW, missing_after=timedelta(1), records=records).findings


def test_a_credit_limit_changed_again_in_the_erp_is_divergent_and_set_back_through_the_gate() -> None:
    [finding] = in_place(
        {"customer:C00001": customer("900000.00")},
        limit_intent("c1", "90000"),
        entries=[limit_entry("c1", 0)],
    )
    assert finding.kind == "divergent" and finding.detail == "credit limit 90000.00 approved, now 900000.00"
    again, key = compensation_for(finding, limit_intent("c1", "90000").payload)  # type: ignore[misc]
    assert isinstance(again, ChangeCreditLimit) and again.new_limit == Decimal("90000") and key is None
    assert again.based_on == {} and "landed differently" in again.reason


def test_only_the_change_in_place_that_landed_last_must_still_hold() -> None:
    first, second = limit_intent("c1", "90000"), limit_intent("c2", "95000", customer="c1")
    entries = [limit_entry("c2", 5), limit_entry("c1", 0)]
    assert in_place({"customer:C00001": customer("95000.00")}, first, second, entries=entries) == []
    [finding] = in_place({"customer:C00001": customer("90000.00")}, first, second, entries=entries)
    assert finding.key == "c2" and finding.detail == "credit limit 95000.00 approved, now 90000.00"


def test_a_record_changed_in_place_and_gone_since_is_missing_and_one_not_read_is_not_judged() -> None:
    [finding] = in_place({"customer:C00001": None}, limit_intent("c1", "9"), entries=[limit_entry("c1", 0)])
    assert (
        finding.kind == "missing"
        and finding.detail == "customer C00001, which it changed, is no longer in the ERP"
    )
    assert in_place({}, limit_intent("c1", "9"), entries=[limit_entry("c1", 0)]) == []


def test_a_reinstated_sales_order_is_cancelled_again_and_a_changed_price_set_back() -> None:
    reinstated = LandedDocument(
        reference="",
        document_type="sales_order",
        document_id="000012",
        status="open",
        amount=Decimal("1"),
        lines=(),
    )
    finding = Finding("divergent", "s1", "status cancelled approved, now open", documents=(reinstated,))
    again, key = compensation_for(finding, None)  # type: ignore[misc]
    assert isinstance(again, CancelSalesOrder) and again.order_number == "000012" and key is None

    price = ChangePrice(
        product_code="HB-M8-40", new_price=Decimal("1.55"), based_on={"product:HB-M8-40": "v1"}
    )
    product = reinstated.model_copy(update={"document_type": "product", "document_id": "HB-M8-40"})
    finding = Finding("divergent", "p1", "list price 1.55 approved, now 1.40", documents=(product,))
    back, key = compensation_for(finding, price.model_dump(mode="json"))  # type: ignore[misc]
    assert isinstance(back, ChangePrice) and back.new_price == Decimal("1.55") and back.based_on == {}
