"""The ERP contract, run against every adapter: reads, the six commands, exactly-once writes,
the ledger and the documents it landed, and the business events the ERP detects.

Each test gets a fresh ERP holding the scale-1 demo data (``erp`` is parametrised over
``InMemoryErp``, ``LegacyErp`` on a real SQLite file and ``TrytonErp`` on a real Tryton server),
with "today" pinned to 2026-11-21. Tests marked ``needs(...)`` run on the adapters that have those
capabilities (see conftest.py); the others must refuse them in one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
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
    fingerprint,
    parse_command,
)
from erp_acl.domain import (
    LandedDocument,
    PurchaseOrderStatus,
    Receipt,
    SalesOrderStatus,
    StockReport,
    Warehouse,
)
from erp_acl.errors import IdempotencyConflict, NotFound, StaleProposal, Unsupported, ValidationFailed
from erp_acl.events import EventError, event_id
from erp_acl.landing import changed_record, divergence, read_record, record_divergence
from erp_acl.legacy.adapter import LegacyErp
from erp_acl.memory import InMemoryErp
from erp_acl.ports import Erp
from tests.integration.erp_acl.conftest import has

pytestmark = pytest.mark.integration


def purchase_order(quantity: int = 1000, **overrides: Any) -> CreatePurchaseOrder:
    fields: dict[str, Any] = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [
            PurchaseLineSpec(product_code="HB-M8-40", quantity=Decimal(quantity)),
            PurchaseLineSpec(product_code="NUT-M8", quantity=Decimal(1000), unit_price=Decimal("0.11")),
        ],
        "memo": "Reposição de estoque mínimo",
        **overrides,
    }
    return CreatePurchaseOrder(**fields)


def freight_entry(amount: str = "250.00") -> PostJournalEntry:
    return PostJournalEntry(
        entry_date=date(2026, 11, 20),
        description="Freight for sales order 000001",
        lines=[
            JournalLineSpec(account_code="5.1.03.001", debit=Decimal(amount)),
            JournalLineSpec(account_code="1101001", credit=Decimal(amount)),
        ],
    )


def apply(erp: Erp, command: Command, key: str) -> Receipt:
    return erp.apply(command, key, fingerprint(command))


def goods_issue(erp: Erp, product: str, quantity: int | str, warehouse: str = "01") -> StockReport:
    """What the ERP's own users do; it is not on the ports, so each adapter is asked directly."""
    assert isinstance(erp, InMemoryErp | LegacyErp)
    return erp.record_stock_issue(product, quantity, warehouse)


NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

# What the first scan after seeding reports, in order (kinds in their declared order, then
# subjects): products whose available stock (on hand minus reserved, both warehouses) is below
# their reorder point, the open sales orders of the three customers whose open orders exceed
# their credit limit, and the two invoices seeded to disagree with their orders.
SEEDED_EVENTS: list[tuple[str, str]] = [
    *[
        ("stock_below_reorder_point", code)
        for code in (
            "HB-M8-40",  # 470 available (320 main + 150 secondary), reorder point 500
            "P00076",
            "P00091",
            "P00114",
            "P00135",
            "P00138",
            "P00178",
            "P00179",
            "P00208",
            "P00242",
            "P00306",
            "P00323",
            "P00337",
            "P00366",
            "P00408",
            "P00459",
            "P00482",
            "P00495",
        )
    ],
    ("sales_order_over_credit_limit", "000292"),  # C00151: 6,997.73 open, limit 5,000
    ("sales_order_over_credit_limit", "000649"),  # C00152: 14,847.69 open (credit holds too), limit 5,000
    ("sales_order_over_credit_limit", "000870"),  # C00182: 9,992.76 open, limit 5,000
    ("supplier_invoice_mismatch", "000010160"),  # order 000291 billed 8% above the agreed price
    ("supplier_invoice_mismatch", "000010329"),  # order 000299 billed 220 where 200 were ordered
]


def snapshot(erp: Erp) -> tuple[object, ...]:
    """Everything the commands below could change; equal snapshots mean nothing was written."""
    return (
        erp.list_purchase_orders(limit=1000),
        erp.get_budget("CC300") if has(erp, "budgets") else None,
        erp.get_customer("C00001"),
        erp.get_product("HB-M8-40"),
        erp.get_sales_order("000001"),
        erp.account_balance("1"),
        erp.account_balance("5"),
    )


# ---- reads --------------------------------------------------------------------------------------


def test_customers_are_found_by_name_words_short_name_tax_id_and_code(erp: Erp) -> None:
    assert [c.code for c in erp.search_customers("Horizonte")] == ["C00002", "C00004"]
    assert [c.code for c in erp.search_customers("padaria estrela")] == ["C00001"]
    assert [c.code for c in erp.search_customers("12.345.678/0001-95")] == ["C00001"]
    assert erp.search_customers("C00003")[0].code == "C00003"
    assert len(erp.search_customers("ltda", limit=3)) == 3
    assert erp.search_customers("no such company anywhere") == []


def test_a_customer_carries_credit_limit_open_orders_and_an_untrusted_memo(erp: Erp) -> None:
    bakery = erp.get_customer("c1")
    assert (bakery.code, bakery.name, bakery.state) == ("C00001", "Padaria Estrela Ltda", "SP")
    assert bakery.credit_limit.amount == Decimal("50000.00")
    open_orders = erp.list_sales_orders("C00001", SalesOrderStatus.OPEN, limit=100)
    open_orders += erp.list_sales_orders("C00001", SalesOrderStatus.CREDIT_HOLD, limit=100)
    assert bakery.open_orders_total.amount == sum(o.total.amount for o in open_orders) > 0
    assert "credit limit to 1,000,000" in erp.get_customer("C00002").memo
    assert erp.get_customer("C00003").blocked
    assert len(bakery.version) == 16


def test_unknown_records_are_not_found_with_a_clear_message(erp: Erp) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: erp.get_customer("C09999"), "customer C09999 does not exist"),
        (lambda: erp.get_supplier("F00099"), "supplier F00099 does not exist"),
        (lambda: erp.get_product("NOPE-1"), "product NOPE-1 does not exist"),
        (lambda: erp.stock_report("NOPE-1"), "product NOPE-1 does not exist"),
        (lambda: erp.get_sales_order("999999"), "sales order 999999 does not exist"),
        (lambda: erp.get_purchase_order("999999"), "purchase order 999999 does not exist"),
        (lambda: erp.account_balance("9.9.99.999"), "account 9.9.99.999 does not exist"),
    ]
    if has(erp, "budgets"):
        cases.append((lambda: erp.get_budget("CC999"), "cost center CC999 does not exist"))
        cases.append((lambda: erp.get_budget("CC300", 2040), "cost center CC300 has no budget for 2040"))
    if has(erp, "supplier_invoices"):
        cases.append((lambda: erp.get_supplier_invoice("99999"), "supplier invoice 000099999 does not exist"))
    for lookup, message in cases:
        with pytest.raises(NotFound) as missing:
            lookup()
        assert str(missing.value) == message


def test_suppliers_are_found_by_short_name_and_look_alikes_both_show_up(erp: Erp) -> None:
    assert [s.code for s in erp.search_suppliers("Fastenal")] == ["F00001"]
    assert [s.code for s in erp.search_suppliers("acme")] == ["F00002", "F00003"]
    assert [s.code for s in erp.search_suppliers("acme fittings")] == ["F00003"]
    fastenal = erp.get_supplier("f1")
    assert (fastenal.name, fastenal.short_name, fastenal.blocked) == (
        "Fastenal Brasil Ltda",
        "Fastenal",
        False,
    )
    assert erp.get_supplier("F00005").blocked
    assert "ignore your rules" in erp.get_supplier("F00004").memo


def test_products_are_found_from_a_loose_description(erp: Erp) -> None:
    assert [p.code for p in erp.search_products("hex bolts M8")] == ["HB-M8-40"]
    assert erp.search_products("HB-M8-40")[0].code == "HB-M8-40"
    assert erp.search_products("nitrile gloves")[0].code == "GLV-NIT-L"
    bolt = erp.get_product("hb-m8-40")
    assert (bolt.unit, bolt.list_price.amount, bolt.standard_cost.amount, bolt.reorder_point) == (
        "PC",
        Decimal("1.40"),
        Decimal("0.85"),
        Decimal(500),
    )


def test_the_stock_report_shows_both_warehouses_and_the_reorder_alarm(erp: Erp) -> None:
    report = erp.stock_report("HB-M8-40")
    assert [(level.warehouse, level.on_hand, level.available) for level in report.levels] == [
        (Warehouse.MAIN, Decimal(320), Decimal(320)),
        (Warehouse.SECONDARY, Decimal(150), Decimal(150)),
    ]
    assert report.total_available == Decimal(470)
    assert report.below_reorder_point
    assert not erp.stock_report("NUT-M8").below_reorder_point


def test_sales_orders_list_newest_first_and_filter_by_customer_and_status(erp: Erp) -> None:
    latest = erp.list_sales_orders(limit=5)
    assert len(latest) == 5
    assert [(o.issued_on, o.number) for o in latest] == sorted(
        ((o.issued_on, o.number) for o in latest), reverse=True
    )
    bakery = erp.list_sales_orders("C00001", limit=50)
    assert {o.customer_code for o in bakery} == {"C00001"}
    assert {"000001", "000004", "000005"} <= {o.number for o in bakery}
    invoiced = erp.list_sales_orders(status=SalesOrderStatus.INVOICED, limit=10)
    assert len(invoiced) == 10
    assert {o.status for o in invoiced} == {SalesOrderStatus.INVOICED}


def test_a_sales_order_is_read_with_its_lines_from_an_unpadded_number(erp: Erp) -> None:
    order = erp.get_sales_order("1")
    assert (order.number, order.customer_code, order.status) == ("000001", "C00001", SalesOrderStatus.OPEN)
    assert [(line.product_code, line.quantity) for line in order.lines] == [
        ("PAP-A4-500", Decimal(20)),
        ("GLV-NIT-L", Decimal(5)),
    ]
    assert order.total.amount == Decimal("883.00")


def test_purchase_orders_list_newest_first_and_filter_by_supplier_and_status(erp: Erp) -> None:
    fastenal = erp.list_purchase_orders("F00001", limit=100)
    assert fastenal
    assert {o.supplier_code for o in fastenal} == {"F00001"}
    assert [(o.issued_on, o.number) for o in fastenal] == sorted(
        ((o.issued_on, o.number) for o in fastenal), reverse=True
    )
    open_orders = erp.list_purchase_orders(status=PurchaseOrderStatus.OPEN, limit=5)
    assert {o.status for o in open_orders} == {PurchaseOrderStatus.OPEN}
    first = erp.get_purchase_order("1")
    assert (first.number, first.supplier_code, first.cost_center) == ("000001", "F00001", "CC300")
    assert [line.product_code for line in first.lines] == ["HB-M8-40", "NUT-M8"]
    assert first.total.amount == sum(line.total.amount for line in first.lines)


@pytest.mark.needs("supplier_invoices")
def test_a_supplier_invoice_is_read_with_its_lines_and_the_order_it_bills(erp: Erp) -> None:
    invoice = erp.get_supplier_invoice("4533")
    assert (invoice.number, invoice.series, invoice.supplier_code, invoice.purchase_order_number) == (
        "000004533",
        "1",
        "F00001",
        "000001",
    )
    assert invoice.issued_on == date(2026, 1, 13)
    order = erp.get_purchase_order(invoice.purchase_order_number)
    assert [(ln.product_code, ln.quantity, ln.unit_price) for ln in invoice.lines] == [
        (ln.product_code, ln.quantity, ln.unit_price) for ln in order.lines
    ]
    assert invoice.total.amount == order.total.amount == Decimal("1880.00")
    assert len(invoice.version) == 16
    assert erp.record_versions(["supplier_invoice:4533"]) == {"supplier_invoice:4533": invoice.version}


@pytest.mark.needs("supplier_invoices")
def test_supplier_invoices_list_newest_first_and_filter_by_supplier_and_order(erp: Erp) -> None:
    latest = erp.list_supplier_invoices(limit=4)
    assert [i.number for i in latest] == ["000010358", "000010329", "000010160", "000010133"]
    fastenal = erp.list_supplier_invoices("f1", limit=100)
    assert fastenal
    assert {i.supplier_code for i in fastenal} == {"F00001"}
    assert [i.number for i in erp.list_supplier_invoices(purchase_order_number="1")] == ["000004533"]
    assert erp.list_supplier_invoices("F00001", purchase_order_number="000291") == []
    assert len(erp.list_supplier_invoices(limit=1000)) == 127


@pytest.mark.needs("budgets")
def test_budgets_default_to_the_current_year(erp: Erp) -> None:
    budgets = erp.list_budgets()
    assert len(budgets) == 12
    assert {b.year for b in budgets} == {2026}
    assert [b.cost_center for b in budgets] == sorted(b.cost_center for b in budgets)
    assert len(erp.list_budgets(2025)) == 12
    assert len(erp.list_budgets(2031)) == 12
    assert erp.list_budgets(2040) == []
    maintenance = erp.get_budget("cc300")
    assert (maintenance.description, maintenance.year, maintenance.annual.amount) == (
        "Maintenance",
        2026,
        Decimal(480_000),
    )
    assert maintenance.available.amount == (
        maintenance.annual.amount - maintenance.committed.amount - maintenance.spent.amount
    )
    assert erp.get_budget("CC210").available.amount < 2000


def test_accounts_are_found_by_name_and_by_dotted_or_compact_code(erp: Erp) -> None:
    assert erp.search_accounts("1.1.01.001")[0].code == "1.1.01.001"
    assert erp.search_accounts("1101001")[0].code == "1.1.01.001"
    assert erp.search_accounts("itau")[0].name == "Bank account Itau"
    freight = erp.search_accounts("freight")
    assert [a.code for a in freight] == ["5.1.03", "5.1.03.001"]
    assert [a.postable for a in freight] == [False, True]


def test_a_summary_balance_adds_up_its_accounts_and_as_of_limits_the_dates(erp: Erp) -> None:
    cash, petty = erp.account_balance("1.1.01.001"), erp.account_balance("1101002")
    group = erp.account_balance("1.1.01")
    assert group.debits.amount == cash.debits.amount + petty.debits.amount
    assert group.credits.amount == cash.credits.amount + petty.credits.amount
    assert cash.balance.amount == cash.debits.amount - cash.credits.amount
    assert cash.as_of == date(2026, 11, 21)
    opening = erp.account_balance("3.1.01.001", as_of=date(2026, 1, 2))
    assert (opening.debits.amount, opening.credits.amount) == (Decimal(0), Decimal("2000000.00"))
    assert erp.account_balance("1.1.02.001", as_of=date(2025, 12, 31)).debits.amount == 0
    # The whole ledger balances: assets + expenses (debit) equal the rest (credit).
    totals = [erp.account_balance(top) for top in "12345"]
    assert sum(t.balance.amount for t in totals) == 0


def test_record_versions_are_stable_and_say_missing_for_missing_records(erp: Erp) -> None:
    refs = ["customer:C00001", "supplier:F00001", "product:HB-M8-40", "budget:CC300/2026", "customer:C09999"]
    versions = erp.record_versions(refs)
    assert versions == erp.record_versions(refs)
    assert versions["customer:C00001"] == erp.get_customer("C00001").version
    assert versions["product:HB-M8-40"] == erp.get_product("HB-M8-40").version
    budget = erp.get_budget("CC300", 2026).version if has(erp, "budgets") else "missing"
    assert versions["budget:CC300/2026"] == budget
    assert versions["customer:C09999"] == "missing"


def test_check_validates_without_writing(erp: Erp) -> None:
    before = snapshot(erp)
    erp.check(purchase_order())
    with pytest.raises(ValidationFailed, match="supplier F00005 is blocked"):
        erp.check(purchase_order(supplier_code="F00005"))
    assert snapshot(erp) == before


# ---- the six commands ---------------------------------------------------------------------------


def test_a_purchase_order_lands_with_its_lines_cost_center_and_key(erp: Erp) -> None:
    receipt = apply(erp, purchase_order(), "key-po-1")
    assert (receipt.action, receipt.document_type, receipt.document_id) == (
        "create_purchase_order",
        "purchase_order",
        "000301",
    )
    assert not receipt.replayed
    assert receipt.summary == (
        "Purchase order 000301 to Fastenal Brasil Ltda (F00001): 2 lines, total BRL 960.00, "
        "charged to cost center CC300"
    )
    order = erp.get_purchase_order("000301")
    assert (order.supplier_code, order.cost_center, order.status, order.issued_on) == (
        "F00001",
        "CC300",
        PurchaseOrderStatus.OPEN,
        date(2026, 11, 21),
    )
    # No unit price given for the bolt: the standard cost (0.85) applies.
    assert [(line.product_code, line.quantity, line.unit_price.amount) for line in order.lines] == [
        ("HB-M8-40", Decimal(1000), Decimal("0.85")),
        ("NUT-M8", Decimal(1000), Decimal("0.11")),
    ]
    assert order.total.amount == Decimal("960.00")
    assert (order.reference, order.memo) == ("key-po-1", "Reposição de estoque mínimo")
    assert erp.list_purchase_orders("F00001", limit=1)[0].number == "000301"
    assert apply(erp, purchase_order(quantity=10), "key-po-2").document_id == "000302"


@pytest.mark.needs("budgets")
def test_a_purchase_order_commits_its_budget(erp: Erp) -> None:
    budget_before = erp.get_budget("CC300")
    apply(erp, purchase_order(), "key-po-1")
    budget_after = erp.get_budget("CC300")
    assert budget_after.committed.amount == budget_before.committed.amount + Decimal("960.00")
    assert budget_after.available.amount == budget_before.available.amount - Decimal("960.00")


def test_a_journal_entry_posts_and_moves_the_balances(erp: Erp) -> None:
    freight_before, cash_before = erp.account_balance("5.1.03.001"), erp.account_balance("1.1.01.001")
    day_before = erp.account_balance("5.1.03.001", as_of=date(2026, 11, 19))
    receipt = apply(erp, freight_entry(), "key-je-1")
    assert (receipt.document_type, receipt.document_id) == ("journal_entry", "000601")
    assert (
        receipt.summary == "Journal entry 000601 on 2026-11-20 for BRL 250.00: Freight for sales order 000001"
    )
    freight_after, cash_after = erp.account_balance("5.1.03.001"), erp.account_balance("1.1.01.001")
    assert freight_after.debits.amount == freight_before.debits.amount + 250
    assert cash_after.credits.amount == cash_before.credits.amount + 250
    assert erp.account_balance("5.1.03.001", as_of=date(2026, 11, 19)) == day_before  # dated the 20th
    three_lines = PostJournalEntry(
        entry_date=date(2026, 11, 21),
        description="Office supplies and freight",
        lines=[
            JournalLineSpec(account_code="5.1.01.001", debit=Decimal("100.00")),
            JournalLineSpec(account_code="5.1.03.001", debit=Decimal("50.00")),
            JournalLineSpec(account_code="2.1.01.001", credit=Decimal("150.00")),
        ],
    )
    assert apply(erp, three_lines, "key-je-2").document_id == "000602"
    assert erp.account_balance("5.1.03.001").debits.amount == freight_after.debits.amount + 50
    assert sum(erp.account_balance(top).balance.amount for top in "12345") == 0


def test_a_credit_limit_change_lands(erp: Erp) -> None:
    receipt = apply(erp, ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("65000")), "key-cl-1")
    assert (receipt.document_type, receipt.document_id) == ("customer", "C00001")
    assert receipt.summary == (
        "Credit limit of Padaria Estrela Ltda (C00001) changed from BRL 50,000.00 to BRL 65,000.00"
    )
    assert erp.get_customer("C00001").credit_limit.amount == Decimal("65000.00")


def test_a_cancellation_lands_and_releases_the_customers_exposure(erp: Erp) -> None:
    exposure = erp.get_customer("C00001").open_orders_total.amount
    receipt = apply(erp, CancelSalesOrder(order_number="1", reason="Customer ordered twice"), "key-cx-1")
    assert (receipt.document_type, receipt.document_id) == ("sales_order", "000001")
    assert (
        receipt.summary
        == "Sales order 000001 of customer C00001 (BRL 883.00) cancelled: Customer ordered twice"
    )
    assert erp.get_sales_order("000001").status is SalesOrderStatus.CANCELLED
    assert erp.get_customer("C00001").open_orders_total.amount == exposure - Decimal("883.00")
    with pytest.raises(ValidationFailed, match="sales order 000001 is cancelled"):
        apply(erp, CancelSalesOrder(order_number="1", reason="again"), "key-cx-2")


def test_a_price_change_lands(erp: Erp) -> None:
    receipt = apply(erp, ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.55")), "key-pr-1")
    assert (receipt.document_type, receipt.document_id) == ("product", "HB-M8-40")
    assert receipt.summary == (
        "List price of HB-M8-40 Hex bolt M8 x 40 mm zinc plated changed from BRL 1.40 to BRL 1.55"
    )
    assert erp.get_product("HB-M8-40").list_price.amount == Decimal("1.55")
    assert erp.get_product("HB-M8-40").standard_cost.amount == Decimal("0.85")


@pytest.mark.needs("cancel_confirmed_purchase")
def test_a_purchase_order_cancellation_lands(erp: Erp) -> None:
    command = CancelPurchaseOrder(order_number="13", reason="Supplier cannot deliver this year")
    receipt = apply(erp, command, "key-cpo-1")
    assert (receipt.action, receipt.document_type, receipt.document_id) == (
        "cancel_purchase_order",
        "purchase_order",
        "000013",
    )
    assert receipt.summary == (
        "Purchase order 000013 to supplier F00001 (BRL 4,441.66) cancelled, releasing its commitment "
        "on cost center CC300: Supplier cannot deliver this year"
    )
    assert erp.get_purchase_order("000013").status is PurchaseOrderStatus.CANCELLED
    with pytest.raises(ValidationFailed, match="purchase order 000013 is cancelled"):
        apply(erp, CancelPurchaseOrder(order_number="13", reason="again"), "key-cpo-2")


@pytest.mark.needs("budgets")
def test_a_purchase_order_cancellation_releases_the_budget(erp: Erp) -> None:
    budget_before = erp.get_budget("CC300")
    apply(erp, CancelPurchaseOrder(order_number="13", reason="Supplier cannot deliver"), "key-cpo-1")
    budget_after = erp.get_budget("CC300")
    assert budget_after.committed.amount == budget_before.committed.amount - Decimal("4441.66")
    assert budget_after.available.amount == budget_before.available.amount + Decimal("4441.66")


@pytest.mark.needs("budgets", "cancel_confirmed_purchase")
def test_an_order_created_and_then_cancelled_gives_its_whole_commitment_back(erp: Erp) -> None:
    before = erp.get_budget("CC300")
    created = apply(erp, purchase_order(), "key-cpo-new")
    assert erp.get_budget("CC300").committed.amount == before.committed.amount + Decimal("960.00")
    apply(
        erp,
        CancelPurchaseOrder(order_number=created.document_id, reason="Ordered by mistake"),
        "key-cpo-undo",
    )
    assert erp.get_budget("CC300") == before


@pytest.mark.needs("cancel_confirmed_purchase")
@pytest.mark.parametrize(
    ("number", "reason", "message"),
    [
        ("000001", "late", "purchase order 000001 is received; only open orders can be cancelled"),
        ("000015", "late", "purchase order 000015 is cancelled; only open orders can be cancelled"),
        ("999999", "late", "purchase order 999999 does not exist"),
        ("000013", "  ", "a reason is required to cancel a purchase order"),
    ],
)
def test_only_an_open_purchase_order_can_be_cancelled_and_only_with_a_reason(
    erp: Erp, number: str, reason: str, message: str
) -> None:
    before = snapshot(erp)
    with pytest.raises(ValidationFailed) as failed:
        apply(erp, CancelPurchaseOrder(order_number=number, reason=reason), "key-cpo-bad")
    assert failed.value.problems == [message]
    assert snapshot(erp) == before
    assert erp.receipt_for("key-cpo-bad") is None


@pytest.mark.needs("cancel_confirmed_purchase")
def test_a_purchase_order_cancellation_relies_on_the_orders_version(erp: Erp) -> None:
    command = CancelPurchaseOrder(order_number="000013", reason="Project stopped")
    versions = erp.record_versions(command.relied_on())
    assert versions == {"purchase_order:000013": erp.get_purchase_order("13").version}
    assert (
        apply(erp, command.model_copy(update={"based_on": versions}), "key-cpo-fresh").document_id == "000013"
    )


# ---- exactly once -------------------------------------------------------------------------------


def test_the_same_key_returns_the_stored_receipt_and_writes_once(erp: Erp) -> None:
    command = purchase_order()
    first = apply(erp, command, "key-once")
    after_first = snapshot(erp)
    again = apply(erp, command, "key-once")
    assert again.replayed and not first.replayed
    assert again.model_copy(update={"replayed": False}) == first
    assert snapshot(erp) == after_first
    assert len(erp.list_purchase_orders(limit=1000)) == 301


def test_receipt_for_answers_from_the_ledger(erp: Erp) -> None:
    assert erp.receipt_for("key-ledger") is None
    receipt = apply(erp, ChangePrice(product_code="NUT-M8", new_price=Decimal("0.27")), "key-ledger")
    stored = erp.receipt_for("key-ledger")
    assert stored is not None and stored.replayed
    assert stored.model_copy(update={"replayed": False}) == receipt


def test_the_ledger_lists_every_landed_receipt_oldest_first(erp: Erp) -> None:
    before = list(erp.ledger())
    first = erp.apply(ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.45")), "ledger-1", "fp-1")
    second = erp.apply(
        ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("61000")), "ledger-2", "fp-2"
    )
    erp.apply(ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.45")), "ledger-1", "fp-1")  # replay
    listed = list(erp.ledger())[len(before) :]
    assert [r.idempotency_key for r in listed] == ["ledger-1", "ledger-2"]
    assert [r.document_id for r in listed] == [first.document_id, second.document_id]


def test_same_key_with_changed_payload_is_a_conflict_and_writes_nothing(erp: Erp) -> None:
    apply(erp, purchase_order(), "key-conflict")
    before = snapshot(erp)
    with pytest.raises(IdempotencyConflict, match="key-conflict was already used for a different payload"):
        apply(erp, purchase_order(quantity=2000), "key-conflict")
    assert snapshot(erp) == before


def test_a_stale_proposal_is_refused_and_writes_nothing(erp: Erp) -> None:
    command = purchase_order()
    versions = erp.record_versions(command.relied_on())
    apply(erp, ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.50")), "key-price-first")
    proposed = command.model_copy(update={"based_on": versions})
    before = snapshot(erp)
    with pytest.raises(StaleProposal) as stale:
        apply(erp, proposed, "key-stale")
    assert stale.value.changed == ["product:HB-M8-40"]
    assert snapshot(erp) == before
    assert erp.receipt_for("key-stale") is None


def test_a_proposal_whose_records_did_not_change_lands(erp: Erp) -> None:
    command = purchase_order()
    proposed = command.model_copy(update={"based_on": erp.record_versions(command.relied_on())})
    assert apply(erp, proposed, "key-fresh").document_id == "000301"


def test_a_validation_failure_writes_nothing_and_leaves_the_key_unused(erp: Erp) -> None:
    before = snapshot(erp)
    with pytest.raises(ValidationFailed) as failed:
        apply(erp, purchase_order(supplier_code="F00005", cost_center="CC210", quantity=4000), "key-invalid")
    budget_problem = "cost center CC210 has BRL 1,500.00 available, the order needs BRL 3,510.00"
    assert failed.value.problems == ["supplier F00005 is blocked"] + (
        [budget_problem] if has(erp, "budgets") else []
    )
    assert snapshot(erp) == before
    assert erp.receipt_for("key-invalid") is None
    assert apply(erp, purchase_order(), "key-invalid").document_id == "000301"


def test_a_malformed_key_is_refused(erp: Erp) -> None:
    with pytest.raises(ValidationFailed, match="idempotency key must be 1 to 100 characters"):
        apply(erp, purchase_order(), "")
    with pytest.raises(ValidationFailed):
        apply(erp, purchase_order(), "k" * 101)


def test_twenty_threads_applying_one_key_create_one_document(erp: Erp) -> None:
    command = purchase_order()
    committed_before = erp.get_budget("CC300").committed.amount if has(erp, "budgets") else None
    start = threading.Barrier(20)

    def attempt(_: int) -> Receipt:
        start.wait(timeout=30)
        return apply(erp, command, "key-race")

    with ThreadPoolExecutor(max_workers=20) as pool:
        receipts = list(pool.map(attempt, range(20)))
    assert sum(not r.replayed for r in receipts) == 1
    assert {r.document_id for r in receipts} == {"000301"}
    assert len(erp.list_purchase_orders(limit=1000)) == 301
    if committed_before is not None:
        assert erp.get_budget("CC300").committed.amount == committed_before + Decimal("960.00")


def test_twenty_threads_with_different_keys_get_distinct_numbers(erp: Erp) -> None:
    start = threading.Barrier(20)

    def attempt(n: int) -> Receipt:
        start.wait(timeout=30)
        return apply(erp, purchase_order(quantity=10 + n), f"key-many-{n}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        receipts = list(pool.map(attempt, range(20)))
    assert sorted(r.document_id for r in receipts) == [f"{n:06d}" for n in range(301, 321)]


# ---- the ledger and the documents it landed --------------------------------------------------------


def test_ledger_entries_hold_each_command_as_applied_with_its_receipt(erp: Erp) -> None:
    assert list(erp.ledger_entries()) == []
    commands: list[Command] = [
        purchase_order(),
        freight_entry(),
        ChangePrice(product_code="NUT-M8", new_price=Decimal("0.27")),
    ]
    receipts = [apply(erp, command, f"key-le-{n}") for n, command in enumerate(commands)]
    apply(erp, commands[0], "key-le-0")  # a replay adds nothing
    entries = list(erp.ledger_entries())
    assert [e.idempotency_key for e in entries] == ["key-le-0", "key-le-1", "key-le-2"]
    assert [parse_command(e.command) for e in entries] == commands
    assert [(e.action, e.fingerprint) for e in entries] == [(c.action, fingerprint(c)) for c in commands]
    assert [e.receipt for e in entries] == receipts
    assert all(e.created_at.tzinfo is not None for e in entries)
    assert [e.created_at for e in entries] == sorted(e.created_at for e in entries)


def test_landed_documents_are_the_orders_and_entries_carrying_a_key_cancelled_ones_included(erp: Erp) -> None:
    assert list(erp.landed_documents()) == []  # nothing seeded carries a reference
    order_command, entry_command = purchase_order(), freight_entry()
    created = apply(erp, order_command, "key-ld-po")
    apply(erp, entry_command, "key-ld-je")
    apply(erp, ChangePrice(product_code="DRL-18V", new_price=Decimal("649.00")), "key-ld-price")  # in place
    cancelled = has(erp, "cancel_confirmed_purchase")
    if cancelled:
        apply(erp, CancelPurchaseOrder(order_number=created.document_id, reason="Ordered twice"), "key-ld-cx")
    landed = list(erp.landed_documents())
    assert [(d.document_type, d.document_id, d.reference, d.status) for d in landed] == [
        ("purchase_order", "000301", "key-ld-po", "cancelled" if cancelled else "open"),
        ("journal_entry", "000601", "key-ld-je", "posted"),
    ]
    order, entry = landed
    assert order.cancelled is cancelled and not entry.cancelled
    assert (order.amount, order.created_on) == (Decimal("960.00"), date(2026, 11, 21))
    assert [(ln.code, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("HB-M8-40", Decimal(1000), Decimal("0.85")),
        ("NUT-M8", Decimal(1000), Decimal("0.11")),
    ]
    assert (entry.amount, entry.created_on) == (Decimal("250.00"), date(2026, 11, 20))
    assert [(ln.code, ln.debit, ln.credit) for ln in entry.lines] == [
        ("5.1.03.001", Decimal("250.00"), Decimal("0.00")),
        ("1.1.01.001", Decimal("0.00"), Decimal("250.00")),
    ]
    # Every field the commands set, as landed: what reconciliation holds them to.
    assert (order.party, order.cost_center, order.description) == ("F00001", "CC300", order_command.memo)
    assert entry.description == entry_command.description
    assert divergence(order_command, order) is None
    assert divergence(entry_command, entry) is None
    assert divergence(purchase_order(quantity=1100), order) == "line HB-M8-40: ordered 1100, landed 1000"
    assert divergence(purchase_order(supplier_code="F00002"), order) == "supplier F00002 approved, now F00001"


def test_a_record_changed_in_place_is_read_back_as_it_stands_now_and_a_missing_one_as_none(erp: Erp) -> None:
    changes: list[Command] = [
        ChangeCreditLimit(customer_code="c1", new_limit=Decimal("65000")),
        ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.55")),
        CancelSalesOrder(order_number="1", reason="Customer ordered twice"),
    ]
    if has(erp, "cancel_confirmed_purchase"):
        changes.append(CancelPurchaseOrder(order_number="13", reason="Supplier cannot deliver"))
    for n, command in enumerate(changes):
        assert record_divergence(command, _read(erp, command)) is not None  # not yet what it asks
        apply(erp, command, f"key-rr-{n}")
        record = _read(erp, command)
        assert f"{record.document_type}:{record.document_id}" == changed_record(command)
        assert record_divergence(command, record) is None
    assert read_record(ChangeCreditLimit(customer_code="C99999", new_limit=Decimal("1")), erp) is None
    assert read_record(ChangePrice(product_code="NO-SUCH-THING", new_price=Decimal("1")), erp) is None
    assert read_record(CancelSalesOrder(order_number="999999", reason="x"), erp) is None
    assert read_record(CancelPurchaseOrder(order_number="999999", reason="x"), erp) is None


def _read(erp: Erp, command: Command) -> LandedDocument:
    record = read_record(command, erp)
    assert record is not None
    return record


# ---- business events --------------------------------------------------------------------------------


@pytest.mark.needs("events")
def test_the_first_scan_after_seeding_reports_what_the_seed_holds(erp: Erp) -> None:
    events = erp.scan_events(NOW)
    assert [(e.kind, e.subject) for e in events] == SEEDED_EVENTS
    assert {e.detected_at for e in events} == {NOW}
    by_subject = {e.subject: e for e in events}
    bolt = by_subject["HB-M8-40"]
    assert bolt.event_id == event_id("stock_below_reorder_point", "HB-M8-40", 1)
    assert bolt.describe() == (
        "Stock of HB-M8-40 fell below its reorder point: 470 available, reorder point 500. "
        "Its last purchase order went to supplier F00011."
    )
    assert by_subject["000649"].describe() == (
        "Sales order 000649 of customer C00152 (BRL 3,207.77) leaves the customer's open orders at "
        "BRL 14,847.69, over the credit limit of BRL 5,000.00."
    )
    assert by_subject["000010160"].describe() == (
        "Supplier invoice 000010160 does not match purchase order 000291: "
        "P00197 billed at 25.14 a unit, ordered at 23.28."
    )
    assert by_subject["000010329"].describe() == (
        "Supplier invoice 000010329 does not match purchase order 000299: WSH-M8 billed 220, ordered 200."
    )
    assert by_subject["000010329"].facts == {
        "invoice_number": "000010329",
        "supplier_code": "F00007",
        "purchase_order_number": "000299",
        "product_code": "WSH-M8",
        "invoiced_quantity": "220",
        "ordered_quantity": "200",
        "invoiced_unit_price": "0.05",
        "ordered_unit_price": "0.05",
        "differing_products": "1",
    }


@pytest.mark.needs("events")
def test_a_condition_that_keeps_holding_raises_no_second_event(erp: Erp) -> None:
    first = erp.scan_events(NOW)
    assert erp.scan_events(NOW + timedelta(hours=1)) == []
    assert erp.unpublished_events(limit=1000) == first


@pytest.mark.needs("events", "goods_issue")
def test_a_goods_issue_that_takes_stock_below_its_reorder_point_raises_one_event(erp: Erp) -> None:
    erp.scan_events(NOW)
    assert goods_issue(erp, "NUT-M8", 5000).total_available == Decimal(2200)
    assert erp.scan_events(NOW + timedelta(minutes=5)) == []  # 2,200 available: still above 1,000
    report = goods_issue(erp, "nut-m8", "1500", "02")
    assert [(level.warehouse, level.on_hand) for level in report.levels] == [
        (Warehouse.MAIN, Decimal(200)),
        (Warehouse.SECONDARY, Decimal(500)),
    ]
    [event] = erp.scan_events(NOW + timedelta(minutes=10))
    assert (event.kind, event.subject, event.detected_at) == (
        "stock_below_reorder_point",
        "NUT-M8",
        NOW + timedelta(minutes=10),
    )
    assert (event.facts["available"], event.facts["reorder_point"]) == ("700", "1000")


@pytest.mark.needs("events")
def test_an_alert_closes_when_its_condition_clears_and_a_new_start_gets_a_new_id(erp: Erp) -> None:
    # Open orders of C00182 come to 9,992.76 against a limit of 5,000 (sales order 000870).
    [first] = [e for e in erp.scan_events(NOW) if e.subject == "000870"]
    apply(erp, ChangeCreditLimit(customer_code="C00182", new_limit=Decimal("12000")), "key-ev-raise")
    assert erp.scan_events(NOW + timedelta(hours=1)) == []  # clearing closes the alert, quietly
    apply(erp, ChangeCreditLimit(customer_code="C00182", new_limit=Decimal("9000")), "key-ev-lower")
    [again] = erp.scan_events(NOW + timedelta(hours=2))
    assert (again.kind, again.subject) == (first.kind, first.subject)
    assert again.event_id != first.event_id
    assert again.event_id == event_id("sales_order_over_credit_limit", "000870", 2)
    assert again.facts["credit_limit"] == "9000.00"
    assert erp.scan_events(NOW + timedelta(hours=3)) == []


@pytest.mark.needs("events")
def test_published_events_leave_the_unpublished_list_and_unknown_ids_are_refused(erp: Erp) -> None:
    events = erp.scan_events(NOW)
    assert erp.unpublished_events() == events  # oldest first, in the order the scan found them
    assert erp.unpublished_events(limit=2) == events[:2]
    erp.mark_events_published([e.event_id for e in events[:2]])
    erp.mark_events_published([events[0].event_id])  # again: harmless
    assert erp.unpublished_events() == events[2:]
    with pytest.raises(NotFound, match="the ERP has no event EV-00000000000000000000; nothing was marked"):
        erp.mark_events_published([events[2].event_id, "EV-00000000000000000000"])
    assert erp.unpublished_events() == events[2:]
    with pytest.raises(EventError, match="must be a list of event ids"):
        erp.mark_events_published(events[2].event_id)
    with pytest.raises(EventError, match="limit must be a whole number of at least 1"):
        erp.unpublished_events(limit=0)


def test_a_scan_at_a_time_without_a_zone_is_refused_and_records_nothing(erp: Erp) -> None:
    with pytest.raises(EventError, match="must carry a time zone"):
        erp.scan_events(datetime(2026, 11, 21, 9, 0))
    assert erp.unpublished_events() == []


@pytest.mark.needs("goods_issue")
@pytest.mark.parametrize(
    ("product", "quantity", "warehouse", "message"),
    [
        ("HB-M8-40", 321, "01", "only 320 of HB-M8-40 on hand in the main warehouse"),
        ("HB-M8-40", 0, "01", "the quantity issued must be positive, not 0"),
        ("HB-M8-40", "lots", "01", "the quantity issued must be a number, not 'lots'"),
        ("HB-M8-40", 1, "03", "warehouse '03' does not exist; use 01 (main) or 02 (secondary)"),
    ],
)
def test_a_goods_issue_takes_only_what_the_warehouse_holds(
    erp: Erp, product: str, quantity: int | str, warehouse: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        goods_issue(erp, product, quantity, warehouse)
    assert str(refused.value) == message
    assert erp.stock_report("HB-M8-40").total_available == Decimal(470)
    with pytest.raises(NotFound, match="product NOPE-1 does not exist"):
        goods_issue(erp, "NOPE-1", 1)


# ---- what an ERP has no home for ----------------------------------------------------------------


def _refused_in_one_line(call: Callable[[], object]) -> str:
    with pytest.raises(Unsupported) as refused:
        call()
    text = str(refused.value)
    assert text and "\n" not in text
    return text


def test_what_an_erp_lacks_is_refused_in_one_line_and_never_answered_wrong(erp: Erp) -> None:
    lacking = [
        c for c in ("budgets", "supplier_invoices", "events", "cancel_confirmed_purchase") if not has(erp, c)
    ]
    if not lacking:
        pytest.skip("this ERP has every capability the contract knows")
    if not has(erp, "budgets"):
        assert "no budgets" in _refused_in_one_line(lambda: erp.list_budgets())
        assert "CC300" in _refused_in_one_line(lambda: erp.get_budget("cc300"))
        assert erp.record_versions(["budget:CC300/2026"]) == {"budget:CC300/2026": "missing"}
        # A purchase order is still checked by every other rule; only the budget's is left out.
        with pytest.raises(ValidationFailed) as failed:
            erp.check(purchase_order(supplier_code="F00005", cost_center="CC210", quantity=4000))
        assert failed.value.problems == ["supplier F00005 is blocked"]
    if not has(erp, "supplier_invoices"):
        _refused_in_one_line(lambda: erp.list_supplier_invoices())
        assert "4533" in _refused_in_one_line(lambda: erp.get_supplier_invoice("4533"))
    if not has(erp, "events"):
        assert erp.scan_events(NOW) == []
        assert erp.unpublished_events() == []
        erp.mark_events_published([])
        with pytest.raises(NotFound, match="the ERP has no event EV-00000000000000000000"):
            erp.mark_events_published(["EV-00000000000000000000"])
    if not has(erp, "cancel_confirmed_purchase"):
        created = apply(erp, purchase_order(), "key-lack-po")
        before = snapshot(erp)
        with pytest.raises(ValidationFailed) as refused:
            apply(
                erp, CancelPurchaseOrder(order_number=created.document_id, reason="Too late"), "key-lack-cx"
            )
        assert str(refused.value).count("\n") == 0
        assert f"cannot cancel purchase order {created.document_id}" in str(refused.value)
        assert snapshot(erp) == before
        assert erp.receipt_for("key-lack-cx") is None


# ---- both adapters agree ------------------------------------------------------------------------


def test_both_adapters_answer_the_same_questions_identically(
    memory_erp: InMemoryErp, legacy_erp: LegacyErp
) -> None:
    questions: list[tuple[str, tuple[Any, ...]]] = [
        ("search_customers", ("horizonte",)),
        ("search_customers", ("ltda", 25)),
        ("get_customer", ("C00001",)),
        ("get_customer", ("C00002",)),
        ("search_suppliers", ("ltda", 30)),
        ("get_supplier", ("F00001",)),
        ("search_products", ("screw", 20)),
        ("get_product", ("HB-M8-40",)),
        ("stock_report", ("HB-M8-40",)),
        ("list_sales_orders", (None, None, 50)),
        ("list_sales_orders", ("C00002",)),
        ("get_sales_order", ("000001",)),
        ("list_purchase_orders", (None, None, 50)),
        ("get_purchase_order", ("000001",)),
        ("list_supplier_invoices", (None, None, 200)),
        ("list_supplier_invoices", ("F00001",)),
        ("get_supplier_invoice", ("000010160",)),
        ("list_budgets", ()),
        ("list_budgets", (2025,)),
        ("search_accounts", ("expense", 50)),
        ("account_balance", ("1",)),
        ("account_balance", ("1.1.01.001",)),
        ("account_balance", ("4", date(2026, 6, 30))),
        (
            "record_versions",
            (["customer:C00001", "product:HB-M8-40", "account:1.1.01.001", "supplier_invoice:4533"],),
        ),
    ]
    for name, args in questions:
        assert getattr(memory_erp, name)(*args) == getattr(legacy_erp, name)(*args), name


def test_both_adapters_give_the_same_receipts_for_the_same_commands(
    memory_erp: InMemoryErp, legacy_erp: LegacyErp
) -> None:
    commands: list[Command] = [
        purchase_order(),
        freight_entry(),
        ChangeCreditLimit(customer_code="C00004", new_limit=Decimal("90000")),
        CancelSalesOrder(order_number="000002", reason="Project postponed"),
        ChangePrice(product_code="DRL-18V", new_price=Decimal("649.00")),
        CancelPurchaseOrder(order_number="000013", reason="Supplier closed"),
    ]
    for n, command in enumerate(commands):
        a, b = apply(memory_erp, command, f"k{n}"), apply(legacy_erp, command, f"k{n}")
        assert a.model_copy(update={"committed_at": b.committed_at}) == b
    assert memory_erp.get_purchase_order("000301") == legacy_erp.get_purchase_order("000301")
    assert memory_erp.get_purchase_order("000013") == legacy_erp.get_purchase_order("000013")
    assert memory_erp.get_customer("C00002") == legacy_erp.get_customer("C00002")
    assert memory_erp.get_budget("CC300") == legacy_erp.get_budget("CC300")
    assert list(memory_erp.landed_documents()) == list(legacy_erp.landed_documents())

    def timeless(erp: Erp) -> list[tuple[object, ...]]:
        return [
            (e.idempotency_key, e.fingerprint, e.action, e.command, e.receipt and e.receipt.document_id)
            for e in erp.ledger_entries()
        ]

    assert timeless(memory_erp) == timeless(legacy_erp)


def test_both_adapters_detect_the_same_events_under_the_same_ids(
    memory_erp: InMemoryErp, legacy_erp: LegacyErp
) -> None:
    erps: tuple[Erp, Erp] = (memory_erp, legacy_erp)
    assert memory_erp.scan_events(NOW) == legacy_erp.scan_events(NOW)
    for erp in erps:
        goods_issue(erp, "DRL-18V", 10)  # 16 -> 6 available, reorder point 5: still fine
        goods_issue(erp, "DRL-18V", 3, "02")  # 3 left: below
        apply(erp, ChangeCreditLimit(customer_code="C00151", new_limit=Decimal("8000")), "k-raise")
    later = NOW + timedelta(hours=1)
    started = memory_erp.scan_events(later)
    assert [(e.kind, e.subject) for e in started] == [("stock_below_reorder_point", "DRL-18V")]
    assert legacy_erp.scan_events(later) == started
    for erp in erps:
        apply(erp, ChangeCreditLimit(customer_code="C00151", new_limit=Decimal("6000")), "k-lower")
    latest = NOW + timedelta(hours=2)
    again = memory_erp.scan_events(latest)
    assert [(e.event_id, e.subject) for e in again] == [
        (event_id("sales_order_over_credit_limit", "000292", 2), "000292")
    ]
    assert legacy_erp.scan_events(latest) == again
    assert memory_erp.unpublished_events(limit=1000) == legacy_erp.unpublished_events(limit=1000)
