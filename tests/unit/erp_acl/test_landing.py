"""Divergence: whether a landed document still says what its command asked, in one line if not."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
)
from erp_acl.domain import LandedDocument, LandedLine
from erp_acl.landing import ExpectedLine, changed_record, divergence, expected_lines, record_divergence

DAY = date(2026, 11, 21)


def order(*lines: tuple[str, int, str | None]) -> CreatePurchaseOrder:
    return CreatePurchaseOrder(
        supplier_code="F00001",
        cost_center="CC300",
        lines=[
            PurchaseLineSpec(
                product_code=code, quantity=Decimal(qty), unit_price=None if price is None else Decimal(price)
            )
            for code, qty, price in lines
        ],
    )


def landed_order(*lines: tuple[str, int, str], status: str = "open") -> LandedDocument:
    landed = tuple(LandedLine(code=c, quantity=Decimal(q), unit_price=Decimal(p)) for c, q, p in lines)
    return LandedDocument(
        reference="key-1",
        document_type="purchase_order",
        document_id="000301",
        status=status,
        amount=sum((line.quantity * line.unit_price for line in landed), Decimal("0")),
        lines=landed,
        created_on=DAY,
        party="F00001",
        cost_center="CC300",
    )


def entry(*lines: tuple[str, str, str]) -> PostJournalEntry:
    return PostJournalEntry(
        entry_date=DAY,
        description="Freight",
        lines=[JournalLineSpec(account_code=a, debit=Decimal(d), credit=Decimal(c)) for a, d, c in lines],
    )


def landed_entry(*lines: tuple[str, str, str], amount: str | None = None) -> LandedDocument:
    landed = tuple(LandedLine(code=a, quantity=Decimal(d), unit_price=Decimal(c)) for a, d, c in lines)
    total = Decimal(amount) if amount is not None else sum((line.debit for line in landed), Decimal("0"))
    return LandedDocument(
        reference="key-2",
        document_type="journal_entry",
        document_id="000601",
        status="posted",
        amount=total,
        lines=landed,
        created_on=DAY,
        description="Freight",
    )


FREIGHT = entry(("5.1.03.001", "250", "0"), ("1101001", "0", "250"))
FREIGHT_LANDED = (("5.1.03.001", "250.00", "0.00"), ("1.1.01.001", "0.00", "250.00"))


def test_expected_lines_are_normalised_the_way_the_erp_stores_them() -> None:
    assert expected_lines(order(("hb-m8-40", 1000, None), ("NUT-M8", 500, "0.110"))) == (
        ExpectedLine("HB-M8-40", Decimal(1000), None),
        ExpectedLine("NUT-M8", Decimal(500), Decimal("0.11")),
    )
    assert expected_lines(FREIGHT) == (
        ExpectedLine("5.1.03.001", Decimal("250.00"), Decimal("0.00")),
        ExpectedLine("1.1.01.001", Decimal("0.00"), Decimal("250.00")),
    )
    assert expected_lines(ChangePrice(product_code="NUT-M8", new_price=Decimal("0.3"))) is None


def test_an_order_that_landed_as_asked_matches_whatever_the_standard_cost_became() -> None:
    command = order(("HB-M8-40", 1000, None), ("NUT-M8", 1000, "0.11"))
    assert divergence(command, landed_order(("NUT-M8", 1000, "0.11"), ("HB-M8-40", 1000, "0.91"))) is None
    assert (
        divergence(
            command, landed_order(("HB-M8-40", 1000, "0.85"), ("NUT-M8", 1000, "0.11"), status="cancelled")
        )
        is None
    )


@pytest.mark.parametrize(
    ("landed", "difference"),
    [
        (
            landed_order(("HB-M8-40", 1100, "0.85"), ("NUT-M8", 1000, "0.11")),
            "line HB-M8-40: ordered 1000, landed 1100",
        ),
        (landed_order(("HB-M8-40", 1000, "0.85")), "line NUT-M8: ordered 1000, not landed"),
        (
            landed_order(("HB-M8-40", 1000, "0.85"), ("NUT-M8", 1000, "0.11"), ("WSH-M8", 50, "0.05")),
            "line WSH-M8: not ordered, landed 50",
        ),
        (
            landed_order(("HB-M8-40", 1000, "0.85"), ("NUT-M8", 1000, "0.12")),
            "line NUT-M8: price 0.11 ordered, landed at 0.12",
        ),
        (
            landed_order(("HB-M8-40", 900, "0.85"), ("NUT-M8", 10, "0.11")),
            "line HB-M8-40: ordered 1000, landed 900; line NUT-M8: ordered 1000, landed 10",
        ),
    ],
)
def test_an_order_that_landed_otherwise_is_described_in_one_line(
    landed: LandedDocument, difference: str
) -> None:
    command = order(("HB-M8-40", 1000, None), ("NUT-M8", 1000, "0.11"))
    assert divergence(command, landed) == difference


def test_an_order_with_one_product_on_two_lines_compares_the_lines_as_a_multiset() -> None:
    command = order(("HB-M8-40", 500, "0.80"), ("HB-M8-40", 300, None))
    assert divergence(command, landed_order(("HB-M8-40", 300, "0.85"), ("HB-M8-40", 500, "0.80"))) is None
    assert (
        divergence(command, landed_order(("HB-M8-40", 800, "0.80")))
        == "line HB-M8-40: ordered 300 + 500, landed 800"
    )
    assert (
        divergence(command, landed_order(("HB-M8-40", 500, "0.85"), ("HB-M8-40", 300, "0.80")))
        == "line HB-M8-40: price 0.80 ordered, landed at 0.85"
    )


def test_a_journal_entry_that_landed_as_asked_matches() -> None:
    assert divergence(FREIGHT, landed_entry(*FREIGHT_LANDED)) is None


@pytest.mark.parametrize(
    ("landed", "difference"),
    [
        (
            landed_entry(("5.1.03.001", "300.00", "0.00"), ("1.1.01.001", "0.00", "300.00")),
            "line 1.1.01.001: credit 250.00 expected, landed credit 300.00; "
            "line 5.1.03.001: debit 250.00 expected, landed debit 300.00; total 250.00 expected, landed 300.00",
        ),
        (
            landed_entry(("5.1.03.001", "250.00", "0.00"), ("1.1.01.002", "0.00", "250.00")),
            "line 1.1.01.001: credit 250.00 expected, not landed; "
            "line 1.1.01.002: credit 250.00 landed, not in the command",
        ),
        (landed_entry(*FREIGHT_LANDED, amount="260.00"), "total 250.00 expected, landed 260.00"),
    ],
)
def test_a_journal_entry_that_landed_otherwise_is_described_in_one_line(
    landed: LandedDocument, difference: str
) -> None:
    assert divergence(FREIGHT, landed) == difference


def test_a_document_of_another_type_or_for_a_command_that_lands_none_never_matches() -> None:
    assert divergence(FREIGHT, landed_order(("HB-M8-40", 1, "1"))) == (
        "expected a journal entry, found purchase order 000301"
    )
    cancel = CancelPurchaseOrder(order_number="000013", reason="late")
    assert divergence(cancel, landed_order(("HB-M8-40", 1, "1"))) == (
        "a cancel_purchase_order lands no document, yet purchase order 000301 carries its key"
    )


@pytest.mark.parametrize(
    ("header", "difference"),
    [
        ({"party": "F00002"}, "supplier F00001 approved, now F00002"),
        ({"cost_center": "CC100"}, "cost center CC300 approved, now CC100"),
        ({"party": ""}, "supplier F00001 approved, now (none)"),
        ({"description": "urgent"}, "memo '' approved, now 'urgent'"),
        ({"party": "F00001 / F00002"}, "supplier F00001 approved, now F00001 / F00002"),
    ],
)
def test_an_order_edited_after_it_landed_says_which_field_differs_approved_against_now(
    header: dict[str, str], difference: str
) -> None:
    """Every field the command set is compared, not only lines and amounts."""
    landed = landed_order(("HB-M8-40", 1000, "0.85")).model_copy(update=header)
    assert divergence(order(("HB-M8-40", 1000, None)), landed) == difference


def test_codes_typed_otherwise_than_the_erp_stores_them_still_match() -> None:
    command = order(("HB-M8-40", 1000, None)).model_copy(
        update={"supplier_code": "f1", "cost_center": "cc 300"}
    )
    assert divergence(command, landed_order(("HB-M8-40", 1000, "0.85"))) is None


@pytest.mark.parametrize(
    ("header", "difference"),
    [
        ({"created_on": date(2026, 11, 30)}, "entry date 2026-11-21 approved, now 2026-11-30"),
        ({"description": "Fright"}, "description 'Freight' approved, now 'Fright'"),
    ],
)
def test_a_journal_entry_edited_after_it_landed_says_which_field_differs(
    header: dict[str, object], difference: str
) -> None:
    landed = landed_entry(*FREIGHT_LANDED).model_copy(update=header)
    assert divergence(FREIGHT, landed) == difference


def record(kind: str, code: str, amount: str = "0", status: str = "active") -> LandedDocument:
    return LandedDocument(
        reference="", document_type=kind, document_id=code, status=status, amount=Decimal(amount), lines=()
    )


def test_a_record_changed_in_place_is_named_canonically_whatever_the_command_typed() -> None:
    assert changed_record(ChangeCreditLimit(customer_code="c1", new_limit=Decimal("5"))) == "customer:C00001"
    assert changed_record(ChangePrice(product_code=" hb-m8-40", new_price=Decimal("1"))) == "product:HB-M8-40"
    assert changed_record(CancelSalesOrder(order_number="12", reason="x")) == "sales_order:000012"
    assert changed_record(CancelPurchaseOrder(order_number="13", reason="x")) == "purchase_order:000013"
    assert changed_record(FREIGHT) is None


def test_a_record_changed_in_place_must_still_hold_what_the_command_set() -> None:
    limit = ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("90000"))
    assert record_divergence(limit, record("customer", "C00001", "90000.00")) is None
    assert record_divergence(limit, record("customer", "C00001", "900000")) == (
        "credit limit 90000.00 approved, now 900000.00"
    )
    price = ChangePrice(product_code="HB-M8-40", new_price=Decimal("0.99"))
    assert (
        record_divergence(price, record("product", "HB-M8-40", "1.10"))
        == "list price 0.99 approved, now 1.10"
    )
    cancel = CancelSalesOrder(order_number="000012", reason="x")
    assert record_divergence(cancel, record("sales_order", "000012", status="cancelled")) is None
    assert record_divergence(cancel, record("sales_order", "000012", status="open")) == (
        "status cancelled approved, now open"
    )
