"""Domain rules: every broken rule is reported, in one plain sentence naming the record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    Command,
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
)
from erp_acl.errors import StaleProposal, ValidationFailed
from erp_acl.memory import InMemoryErp
from erp_acl.rules import check_versions, problems_of, validate
from erp_acl.seed_data import TODAY, SeedData, generate


@pytest.fixture(scope="module")
def data() -> SeedData:
    return generate()


@pytest.fixture(scope="module")
def erp(data: SeedData) -> InMemoryErp:
    # Validation only reads, so one ERP serves the whole module.
    return InMemoryErp(data, today=lambda: TODAY)


def problems(command: Command, erp: InMemoryErp, today: date = TODAY) -> list[str]:
    return problems_of(command, erp, today)


def po(
    supplier: str = "F00001", cost_center: str = "CC300", memo: str = "", **line: Any
) -> CreatePurchaseOrder:
    spec = {"product_code": "HB-M8-40", "quantity": Decimal(1000), **line}
    return CreatePurchaseOrder(
        supplier_code=supplier, cost_center=cost_center, lines=[PurchaseLineSpec(**spec)], memo=memo
    )


def journal(
    *lines: tuple[str, str, str], description: str = "Freight for order 000123", day: date = TODAY
) -> PostJournalEntry:
    return PostJournalEntry(
        entry_date=day,
        description=description,
        lines=[JournalLineSpec(account_code=a, debit=Decimal(d), credit=Decimal(c)) for a, d, c in lines],
    )


# ---- purchase orders ----------------------------------------------------------------------------


def test_a_valid_purchase_order_passes(erp: InMemoryErp) -> None:
    validate(po(), erp, TODAY)
    assert problems(po(supplier="f1", cost_center="cc300", product_code="hb-m8-40"), erp) == []


def test_an_unknown_supplier_is_named(erp: InMemoryErp) -> None:
    assert problems(po(supplier="F00099"), erp) == ["supplier F00099 does not exist"]


def test_a_blocked_supplier_is_refused(erp: InMemoryErp) -> None:
    assert problems(po(supplier="F00005"), erp) == ["supplier F00005 is blocked"]


def test_unknown_and_blocked_products_are_refused(erp: InMemoryErp, data: SeedData) -> None:
    blocked = next(p for p in data.products if p.blocked)
    assert problems(po(product_code="NOPE-1"), erp) == ["product NOPE-1 does not exist"]
    assert problems(po(product_code=blocked.code, quantity=Decimal(1)), erp) == [
        f"product {blocked.code} is blocked"
    ]


def test_quantities_and_prices_must_be_positive(erp: InMemoryErp) -> None:
    assert problems(po(quantity=Decimal(0)), erp) == ["quantity of HB-M8-40 must be positive"]
    assert problems(po(quantity=Decimal(-5)), erp) == ["quantity of HB-M8-40 must be positive"]
    assert problems(po(unit_price=Decimal("-0.10")), erp) == ["unit price of HB-M8-40 must be positive"]


def test_an_order_beyond_the_available_budget_is_refused_with_both_amounts(erp: InMemoryErp) -> None:
    # 4,000 x 0.85 (standard cost, since no unit price is given) = 3,400.00; CC210 has 1,500.00 left.
    assert problems(po(cost_center="CC210", quantity=Decimal(4000)), erp) == [
        "cost center CC210 has BRL 1,500.00 available, the order needs BRL 3,400.00"
    ]


def test_the_agreed_unit_price_is_what_the_budget_must_cover(erp: InMemoryErp) -> None:
    assert problems(po(cost_center="CC210", quantity=Decimal(1000), unit_price=Decimal("1.50")), erp) == []
    assert problems(po(cost_center="CC210", quantity=Decimal(1000), unit_price=Decimal("1.51")), erp) == [
        "cost center CC210 has BRL 1,500.00 available, the order needs BRL 1,510.00"
    ]


def test_unknown_cost_centers_and_years_without_budget_are_named(erp: InMemoryErp) -> None:
    assert problems(po(cost_center="CC999"), erp) == ["cost center CC999 does not exist"]
    assert problems(po(), erp, today=date(2040, 1, 4)) == ["cost center CC300 has no budget for 2040"]


def test_every_problem_is_reported_at_once(erp: InMemoryErp) -> None:
    command = CreatePurchaseOrder(
        supplier_code="F00005",
        cost_center="CC210",
        lines=[
            PurchaseLineSpec(product_code="HB-M8-40", quantity=Decimal(0)),
            PurchaseLineSpec(product_code="NOPE-1", quantity=Decimal(1)),
        ],
        memo="x" * 251,
    )
    with pytest.raises(ValidationFailed) as failed:
        validate(command, erp, TODAY)
    assert failed.value.problems == [
        "supplier F00005 is blocked",
        "quantity of HB-M8-40 must be positive",
        "product NOPE-1 does not exist",
        "the memo is longer than 250 characters",
    ]
    assert str(failed.value) == "; ".join(failed.value.problems)


# ---- journal entries ----------------------------------------------------------------------------


def test_a_balanced_entry_on_postable_accounts_passes(erp: InMemoryErp) -> None:
    assert problems(journal(("5.1.03.001", "100", "0"), ("2101001", "0", "100")), erp) == []


def test_debits_must_equal_credits(erp: InMemoryErp) -> None:
    assert problems(journal(("5.1.03.001", "100", "0"), ("2.1.01.001", "0", "90")), erp) == [
        "debits (100.00) and credits (90.00) do not balance"
    ]


def test_summary_unknown_and_blocked_accounts_are_refused(erp: InMemoryErp) -> None:
    assert problems(
        journal(("1.1", "100", "0"), ("9.9.99.999", "0", "50"), ("1.1.02.004", "0", "50")), erp
    ) == [
        "account 1.1 is a summary account and cannot take postings",
        "account 9.9.99.999 does not exist",
        "account 1.1.02.004 is blocked",
    ]


def test_each_line_is_either_a_debit_or_a_credit(erp: InMemoryErp) -> None:
    assert problems(
        journal(("5.1.03.001", "100", "100"), ("2.1.01.001", "0", "0"), ("1.1.01.001", "-5", "0")), erp
    ) == [
        "line 1 (5.1.03.001) must have either a debit or a credit",
        "line 2 (2.1.01.001) must have either a debit or a credit",
        "line 3 (1.1.01.001): amounts cannot be negative",
        "debits (95.00) and credits (100.00) do not balance",
    ]


def test_dates_descriptions_and_amounts_are_checked(erp: InMemoryErp) -> None:
    assert problems(
        journal(("5.1.03.001", "0", "0"), ("2.1.01.001", "0", "0"), description=" ", day=date(2026, 12, 1)),
        erp,
    ) == [
        "a journal entry needs a description",
        "entry date 2026-12-01 is in the future",
        "line 1 (5.1.03.001) must have either a debit or a credit",
        "line 2 (2.1.01.001) must have either a debit or a credit",
        "a journal entry must move an amount greater than zero",
    ]
    assert problems(
        journal(("5.1.03.001", "1", "0"), ("2.1.01.001", "0", "1"), description="d" * 121), erp
    ) == ["the description is longer than 120 characters"]


# ---- credit limits ------------------------------------------------------------------------------


def test_a_new_credit_limit_passes(erp: InMemoryErp) -> None:
    assert problems(ChangeCreditLimit(customer_code="c1", new_limit=Decimal("60000")), erp) == []
    assert problems(ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("0")), erp) == []


def test_credit_limit_cannot_be_negative(erp: InMemoryErp) -> None:
    assert problems(ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("-1")), erp) == [
        "credit limit cannot be negative"
    ]


def test_an_unknown_customer_or_an_unchanged_limit_is_refused(erp: InMemoryErp) -> None:
    assert problems(ChangeCreditLimit(customer_code="C09999", new_limit=Decimal(10)), erp) == [
        "customer C09999 does not exist"
    ]
    assert problems(ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("50000.00")), erp) == [
        "credit limit of C00001 is already BRL 50,000.00"
    ]


# ---- cancellations ------------------------------------------------------------------------------


def test_an_open_order_can_be_cancelled_with_a_reason(erp: InMemoryErp) -> None:
    assert problems(CancelSalesOrder(order_number="1", reason="customer asked"), erp) == []


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("000004", "sales order 000004 is invoiced; only open orders can be cancelled"),
        ("000005", "sales order 000005 is cancelled; only open orders can be cancelled"),
        ("000003", "sales order 000003 is credit hold; only open orders can be cancelled"),
        ("999999", "sales order 999999 does not exist"),
    ],
)
def test_only_open_orders_can_be_cancelled(erp: InMemoryErp, number: str, message: str) -> None:
    assert problems(CancelSalesOrder(order_number=number, reason="duplicate"), erp) == [message]


def test_a_cancellation_needs_a_reason(erp: InMemoryErp) -> None:
    assert problems(CancelSalesOrder(order_number="000001", reason="  "), erp) == [
        "a reason is required to cancel a sales order"
    ]


def test_an_open_purchase_order_can_be_cancelled_with_a_reason(erp: InMemoryErp) -> None:
    assert problems(CancelPurchaseOrder(order_number="13", reason="supplier closed"), erp) == []


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("000001", "purchase order 000001 is received; only open orders can be cancelled"),
        ("000015", "purchase order 000015 is cancelled; only open orders can be cancelled"),
        ("999999", "purchase order 999999 does not exist"),
    ],
)
def test_only_open_purchase_orders_can_be_cancelled(erp: InMemoryErp, number: str, message: str) -> None:
    assert problems(CancelPurchaseOrder(order_number=number, reason="duplicate"), erp) == [message]


def test_a_purchase_order_cancellation_needs_a_short_reason(erp: InMemoryErp) -> None:
    assert problems(CancelPurchaseOrder(order_number="000013", reason="x" * 251), erp) == [
        "the reason is longer than 250 characters"
    ]
    assert problems(CancelPurchaseOrder(order_number="000013", reason=" "), erp) == [
        "a reason is required to cancel a purchase order"
    ]


# ---- prices -------------------------------------------------------------------------------------


def test_a_price_change_within_thirty_percent_passes(erp: InMemoryErp) -> None:
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.82")), erp) == []  # +30%
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal("0.98")), erp) == []  # -30%


def test_a_price_change_beyond_thirty_percent_is_refused(erp: InMemoryErp) -> None:
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal("2.03")), erp) == [
        "price change of 45% exceeds the 30% limit"
    ]
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal("0.70")), erp) == [
        "price change of 50% exceeds the 30% limit"
    ]
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.83")), erp) == [
        "price change of 30.7% exceeds the 30% limit"
    ]


def test_a_price_must_be_positive_known_and_different(erp: InMemoryErp, data: SeedData) -> None:
    blocked = next(p for p in data.products if p.blocked)
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal(0)), erp) == [
        "the list price of HB-M8-40 must be positive"
    ]
    assert problems(ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.40")), erp) == [
        "the list price of HB-M8-40 is already BRL 1.40"
    ]
    assert problems(ChangePrice(product_code="NOPE-1", new_price=Decimal(1)), erp) == [
        "product NOPE-1 does not exist"
    ]
    new_price = (blocked.list_price.amount * Decimal("1.1")).quantize(Decimal("0.01"))
    assert problems(ChangePrice(product_code=blocked.code, new_price=new_price), erp) == [
        f"product {blocked.code} is blocked"
    ]


# ---- versions -----------------------------------------------------------------------------------


def test_unchanged_versions_pass(erp: InMemoryErp) -> None:
    command = po()
    versions = erp.record_versions(command.relied_on())
    check_versions(command.model_copy(update={"based_on": versions}), erp)
    check_versions(command, erp)  # nothing relied on, nothing to check


def test_changed_or_vanished_records_are_listed(erp: InMemoryErp) -> None:
    command = po().model_copy(
        update={
            "based_on": {
                "supplier:F00001": "not-the-version",
                "product:HB-M8-40": erp.get_product("HB-M8-40").version,
                "customer:C09999": "abc",
                "budget:CC300/2026": erp.get_budget("CC300", 2026).version,
            }
        }
    )
    with pytest.raises(StaleProposal) as stale:
        check_versions(command, erp)
    assert stale.value.changed == ["customer:C09999", "supplier:F00001"]
    assert "propose it again" in str(stale.value)


def test_record_versions_know_every_record_kind(erp: InMemoryErp) -> None:
    refs = [
        "customer:C00001",
        "supplier:F00001",
        "product:HB-M8-40",
        "sales_order:000001",
        "purchase_order:000001",
        "budget:CC300/2026",
        "account:1.1.01.001",
        "customer:C09999",
        "budget:CC300",
        "planet:mars",
    ]
    versions = erp.record_versions(refs)
    assert all(len(versions[ref]) == 16 for ref in refs[:7])
    assert [versions[ref] for ref in refs[7:]] == ["missing", "missing", "missing"]
    assert erp.record_versions(refs) == versions
