"""The demo dataset: deterministic, big enough, and holding the records the README talks about."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from erp_acl.domain import PurchaseOrderStatus, SalesOrderStatus, Warehouse
from erp_acl.seed_data import DEFAULT_SEED, OPEN_EXPOSURE, TODAY, SeedData, generate
from erp_acl.text_match import rank


@pytest.fixture(scope="module")
def data() -> SeedData:
    return generate()


def test_the_same_seed_gives_identical_data(data: SeedData) -> None:
    assert generate(seed=DEFAULT_SEED) == data


def test_another_seed_gives_other_data_but_the_same_named_records(data: SeedData) -> None:
    other = generate(seed=7)
    assert other.customers != data.customers
    assert other.customers[:4] == [
        c.model_copy(update={"open_orders_total": o.open_orders_total})
        for c, o in zip(data.customers[:4], other.customers[:4], strict=True)
    ]
    assert other.suppliers[:5] == data.suppliers[:5]


def test_scale_one_has_at_least_the_promised_counts(data: SeedData) -> None:
    counts = data.counts()
    assert counts["customers"] >= 200
    assert counts["suppliers"] >= 30
    assert counts["products"] >= 500
    assert counts["sales_orders"] >= 1000
    assert counts["purchase_orders"] >= 300
    assert counts["cost_centers"] == 12
    assert counts["accounts"] >= 60
    assert counts["stock_levels"] == 2 * counts["products"]
    assert counts["sales_order_lines"] > counts["sales_orders"]
    assert counts["journal_entries"] > 0


def test_scale_multiplies_the_counts() -> None:
    bigger = generate(scale=2).counts()
    assert (bigger["customers"], bigger["suppliers"], bigger["products"]) == (400, 60, 1000)
    assert (bigger["sales_orders"], bigger["purchase_orders"]) == (2000, 600)
    with pytest.raises(ValueError, match="at least 1"):
        generate(scale=0)


def test_codes_are_unique(data: SeedData) -> None:
    for records in (data.customers, data.suppliers, data.products):
        codes = [r.code for r in records]
        assert len(codes) == len(set(codes))
    assert len({p.description.casefold() for p in data.products}) == len(data.products)


def test_the_named_suppliers_are_there(data: SeedData) -> None:
    by_code = {s.code: s for s in data.suppliers}
    assert (by_code["F00001"].name, by_code["F00001"].short_name, by_code["F00001"].blocked) == (
        "Fastenal Brasil Ltda",
        "Fastenal",
        False,
    )
    assert by_code["F00002"].name == "Acme Fixings Ltda"
    assert by_code["F00003"].name == "Acme Fittings Ltda"
    assert by_code["F00004"].name == "Parafusos Santos Ltda"
    assert "ignore your rules" in by_code["F00004"].memo
    assert (by_code["F00005"].name, by_code["F00005"].blocked) == ("Metalurgica Boa Vista Ltda", True)


def test_the_named_customers_are_there(data: SeedData) -> None:
    by_code = {c.code: c for c in data.customers}
    assert (by_code["C00001"].name, by_code["C00001"].credit_limit.amount) == (
        "Padaria Estrela Ltda",
        Decimal(50_000),
    )
    assert (by_code["C00002"].name, by_code["C00002"].credit_limit.amount) == (
        "Construtora Horizonte S.A.",
        Decimal(250_000),
    )
    assert "credit limit" in by_code["C00002"].memo
    assert (by_code["C00003"].name, by_code["C00003"].blocked) == ("Mercado Bom Preco Ltda", True)
    assert by_code["C00004"].name == "Horizonte Engenharia Ltda"


def test_the_demo_bolt_is_below_its_reorder_point(data: SeedData) -> None:
    bolt = next(p for p in data.products if p.code == "HB-M8-40")
    assert (bolt.description, bolt.unit) == ("Hex bolt M8 x 40 mm zinc plated", "PC")
    assert (bolt.standard_cost.amount, bolt.list_price.amount, bolt.reorder_point) == (
        Decimal("0.85"),
        Decimal("1.40"),
        Decimal(500),
    )
    stock = {s.warehouse: s.on_hand for s in data.stock if s.product_code == "HB-M8-40"}
    assert stock == {Warehouse.MAIN: Decimal(320), Warehouse.SECONDARY: Decimal(150)}


def test_the_named_products_are_there(data: SeedData) -> None:
    descriptions = {p.code: p.description for p in data.products}
    assert descriptions["HB-M10-50"] == "Hex bolt M10 x 50 mm zinc plated"
    assert descriptions["NUT-M8"] == "Hex nut M8 zinc plated"
    assert descriptions["WSH-M8"] == "Flat washer M8"
    assert descriptions["GLV-NIT-L"] == "Nitrile gloves size L (box of 100)"
    assert descriptions["PAP-A4-500"] == "Copy paper A4 75g (ream of 500)"
    assert descriptions["DRL-18V"] == "Cordless drill 18V"
    assert descriptions["P00008"]


def test_only_the_demo_bolt_answers_hex_bolt_m8(data: SeedData) -> None:
    found = rank("hex bolts M8", data.products, code=lambda p: p.code, text=lambda p: p.description)
    assert [p.code for p in found] == ["HB-M8-40"]


def test_every_product_has_stock_in_both_warehouses(data: SeedData) -> None:
    warehouses = Counter(s.product_code for s in data.stock)
    assert set(warehouses) == {p.code for p in data.products}
    assert set(warehouses.values()) == {2}
    assert all(s.available == s.on_hand - s.reserved and s.reserved <= s.on_hand for s in data.stock)


def test_cost_centers_and_budgets_match_the_demo(data: SeedData) -> None:
    assert [(c.code, c.description) for c in data.cost_centers] == [
        ("CC100", "Administration"),
        ("CC110", "Finance"),
        ("CC120", "IT"),
        ("CC200", "Sales"),
        ("CC210", "Marketing"),
        ("CC300", "Maintenance"),
        ("CC310", "Production"),
        ("CC320", "Quality"),
        ("CC400", "Logistics"),
        ("CC410", "Warehouse"),
        ("CC500", "Human Resources"),
        ("CC600", "Research"),
    ]
    current = {b.cost_center: b for b in data.budgets if b.year == 2026}
    assert len(current) == 12
    maintenance = current["CC300"]
    assert maintenance.annual.amount == 480_000
    assert 80_000 <= maintenance.committed.amount <= 100_000
    assert 200_000 <= maintenance.spent.amount <= 220_000
    assert maintenance.available.amount > 100_000
    assert current["CC210"].available.amount < 2_000
    for budget in data.budgets:
        assert budget.available.amount == budget.annual.amount - budget.committed.amount - budget.spent.amount


def test_the_chart_of_accounts_has_the_named_postable_accounts(data: SeedData) -> None:
    accounts = {a.code: a for a in data.accounts}
    for code, name in [
        ("1.1.01.001", "Cash"),
        ("1.1.02.001", "Bank account Itau"),
        ("1.1.03.001", "Accounts receivable"),
        ("2.1.01.001", "Accounts payable (suppliers)"),
        ("3.1.01.001", "Share capital"),
        ("4.1.01.001", "Product sales revenue"),
        ("5.1.01.001", "Office supplies expense"),
        ("5.1.02.001", "Maintenance expense"),
        ("5.1.03.001", "Freight expense"),
    ]:
        assert (accounts[code].name, accounts[code].postable, accounts[code].blocked) == (name, True, False)
    for summary in ("1", "1.1", "1.1.01", "2", "3", "4", "5"):
        assert not accounts[summary].postable
    assert [a.code for a in data.accounts if a.blocked and a.postable] == ["1.1.02.004"]
    assert {a.kind.value for a in data.accounts} == {"asset", "liability", "equity", "revenue", "expense"}
    for code in accounts:
        if "." in code:
            assert code.rsplit(".", 1)[0] in accounts  # every account has its parent


def test_journal_entries_balance_and_post_only_to_open_postable_accounts(data: SeedData) -> None:
    postable = {a.code for a in data.accounts if a.postable and not a.blocked}
    for entry in data.journal_entries:
        assert sum(line.debit.amount for line in entry.lines) == sum(
            line.credit.amount for line in entry.lines
        )
        assert {line.account_code for line in entry.lines} <= postable
        assert entry.entry_date <= TODAY


def test_sales_orders_cover_every_status_and_the_demo_orders(data: SeedData) -> None:
    orders = {o.number: o for o in data.sales_orders}
    assert list(orders) == [f"{n:06d}" for n in range(1, len(orders) + 1)]
    assert (orders["000001"].customer_code, orders["000001"].status) == ("C00001", SalesOrderStatus.OPEN)
    assert orders["000004"].status is SalesOrderStatus.INVOICED
    assert orders["000005"].status is SalesOrderStatus.CANCELLED
    assert orders["000003"].status is SalesOrderStatus.CREDIT_HOLD
    assert set(Counter(o.status for o in data.sales_orders)) == set(SalesOrderStatus)
    for order in data.sales_orders:
        assert order.total.amount == sum(line.total.amount for line in order.lines)
        assert order.issued_on <= TODAY


def test_open_order_totals_add_up_per_customer(data: SeedData) -> None:
    for customer in data.customers[:40]:
        expected = sum(
            (
                o.total.amount
                for o in data.sales_orders
                if o.customer_code == customer.code and o.status in OPEN_EXPOSURE
            ),
            Decimal(0),
        )
        assert customer.open_orders_total.amount == expected
    assert data.customers[0].open_orders_total.amount < data.customers[0].credit_limit.amount


def test_purchase_orders_are_numbered_and_charge_known_cost_centers(data: SeedData) -> None:
    numbers = [o.number for o in data.purchase_orders]
    assert numbers == [f"{n:06d}" for n in range(1, len(numbers) + 1)]
    centers = {c.code for c in data.cost_centers}
    assert {o.cost_center for o in data.purchase_orders} <= centers
    assert set(Counter(o.status for o in data.purchase_orders)) == set(PurchaseOrderStatus)
    blocked = {s.code for s in data.suppliers if s.blocked}
    assert not any(o.supplier_code in blocked for o in data.purchase_orders)


def test_some_memos_carry_prompt_injections_as_real_data_does(data: SeedData) -> None:
    def injected(memo: str) -> bool:
        lowered = memo.lower()
        return any(marker in lowered for marker in ("ai assistant", "system", "ai agent", "assistant"))

    assert any(injected(c.memo) for c in data.customers)
    assert any(injected(s.memo) for s in data.suppliers)
    assert any(injected(o.memo) for o in data.sales_orders)
    assert any(injected(p.memo) for p in data.products)


def test_invoices_bill_their_orders_exactly_but_for_one_price_and_one_quantity(data: SeedData) -> None:
    orders = {o.number: o for o in data.purchase_orders}
    statuses = Counter(orders[i.purchase_order_number].status for i in data.supplier_invoices)
    assert set(statuses) == {PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.OPEN}
    assert len({i.number for i in data.supplier_invoices}) == len(data.supplier_invoices)
    differing = []
    for invoice in data.supplier_invoices:
        order = orders[invoice.purchase_order_number]
        assert invoice.supplier_code == order.supplier_code
        assert order.issued_on <= invoice.issued_on < TODAY
        assert invoice.total.amount == sum(line.total.amount for line in invoice.lines)
        for billed, ordered in zip(invoice.lines, order.lines, strict=True):
            if (billed.quantity, billed.unit_price) != (ordered.quantity, ordered.unit_price):
                differing.append((invoice.number, billed, ordered))
    [(price_invoice, billed, ordered), (quantity_invoice, billed_qty, ordered_qty)] = differing
    assert billed.unit_price.amount == (ordered.unit_price.amount * Decimal("1.08")).quantize(Decimal("0.01"))
    assert billed.quantity == ordered.quantity
    assert (billed_qty.quantity, ordered_qty.quantity) == (Decimal(220), Decimal(200))
    assert billed_qty.unit_price == ordered_qty.unit_price
    assert (price_invoice, quantity_invoice) == ("000010160", "000010329")
