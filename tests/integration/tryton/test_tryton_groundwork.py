"""Tryton 8.2 behind the ACL, groundwork: JSON-RPC, the whole demo seed loaded, and a first write."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erp_acl.domain import AccountKind, PurchaseOrderStatus, SalesOrderStatus, Warehouse
from erp_acl.errors import ErpError, ErpUnavailable, ValidationFailed
from erp_acl.seed_data import TODAY, generate
from erp_acl.tryton.conventions import (
    COST_CENTER_MARK,
    DOCUMENT_NUMBER_PADDING,
    GENERAL_JOURNAL_CODE,
    state_of,
)
from erp_acl.tryton.rpc import LoginRefused, TrytonRpc, decode, encode
from erp_acl.tryton.server import TrytonServer, start_server
from erp_acl.tryton.setup import (
    COMPANY_NAME,
    CUSTOMER_CATEGORY,
    SUPPLIER_CATEGORY,
    WAREHOUSE_CODES,
    copy_database,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEED = generate(1)
ALL = {"active_test": False}
SALE_STATES = {
    SalesOrderStatus.OPEN: "quotation",
    SalesOrderStatus.CREDIT_HOLD: "quotation",
    SalesOrderStatus.INVOICED: "done",
    SalesOrderStatus.CANCELLED: "cancelled",
}
PURCHASE_STATES = {
    PurchaseOrderStatus.OPEN: "processing",
    PurchaseOrderStatus.RECEIVED: "done",
    PurchaseOrderStatus.CANCELLED: "cancelled",
}


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert text
    assert "\n" not in text
    assert "Traceback" not in text
    return text


def _parties(rpc: TrytonRpc, category: str) -> dict[str, dict[str, Any]]:
    rows = rpc.search_read(
        "party.party",
        [("categories.name", "=", category)],
        [
            "code",
            "name",
            "active",
            "email",
            "tax_identifier.code",
            "identifiers.code",
            "credit_limit_amount",
            "addresses.party_name",
            "addresses.city",
            "addresses.subdivision.code",
        ],
        context=ALL,
    )
    return {row["code"]: row for row in rows}


def _memos(rpc: TrytonRpc, parties: dict[str, dict[str, Any]]) -> dict[str, str]:
    code_of = {f"party.party,{row['id']}": code for code, row in parties.items()}
    notes = rpc.search_read("ir.note", [("resource", "in", list(code_of))], ["resource", "message"])
    return {code_of[note["resource"]]: note["message"] for note in notes}


def _warehouses(rpc: TrytonRpc) -> dict[str, int]:
    rows = rpc.search_read("stock.location", [("type", "=", "warehouse")], ["code"])
    return {row["code"]: row["id"] for row in rows}


def test_tryton_values_survive_the_json_encoding_both_ways() -> None:
    values = {
        "amount": Decimal("1234.50"),
        "day": date(2026, 11, 21),
        "moment": datetime(2026, 11, 21, 9, 30, 5, 12),
        "blob": b"\x00nota fiscal",
        "nested": [Decimal("0.01"), (date(2026, 1, 2),)],
    }
    encoded = encode(values)
    assert encoded["amount"] == {"__class__": "Decimal", "decimal": "1234.50"}
    assert encoded["day"] == {"__class__": "date", "year": 2026, "month": 11, "day": 21}
    back = decode(json.dumps(encoded))
    assert back == {**values, "nested": [Decimal("0.01"), [date(2026, 1, 2)]]}


def test_an_admin_logs_in_over_json_rpc_and_works_in_the_demo_company(rpc: TrytonRpc) -> None:
    assert rpc.logged_in
    assert rpc.user_id is not None
    company = rpc.context["company"]
    assert company in rpc.context["companies"]
    [row] = rpc.read("company.company", [company], ["rec_name", "currency.code"])
    assert row["rec_name"] == COMPANY_NAME
    assert row["currency."]["code"] == "BRL"  # dotted fields come back nested under "field."


def test_the_company_currency_is_the_brazilian_real_rounded_to_cents(rpc: TrytonRpc) -> None:
    [brl] = rpc.search_read("currency.currency", [("code", "=", "BRL")], ["symbol", "rounding", "digits"])
    assert brl["symbol"] == "R$"
    assert brl["rounding"] == Decimal("0.01")
    assert isinstance(brl["rounding"], Decimal)
    assert brl["digits"] == 2


# ---- parties --------------------------------------------------------------------------------------


def test_every_seed_customer_is_a_party_with_its_credit_limit_trade_name_state_and_memo(
    rpc: TrytonRpc,
) -> None:
    parties = _parties(rpc, CUSTOMER_CATEGORY)
    assert sorted(parties) == [c.code for c in SEED.customers]
    memos = _memos(rpc, parties)
    for customer in SEED.customers:
        row = parties[customer.code]
        [address] = row["addresses."]
        assert row["name"] == customer.name
        assert address["party_name"] == customer.short_name
        assert address["city"] == customer.city
        assert state_of(address["subdivision."]["code"]) == customer.state
        assert row["credit_limit_amount"] == customer.credit_limit.amount
        assert bool(row["active"]) is not customer.blocked
        assert memos.get(customer.code, "") == customer.memo
        assert [i["code"] for i in row["identifiers."]] == [customer.tax_id]
    assert not parties["C00003"]["active"]  # Mercado Bom Preco, blocked
    assert parties["C00001"]["tax_identifier."]["code"] == "12.345.678/0001-95"


def test_every_seed_supplier_is_a_party_with_its_email_tax_id_state_and_memo(rpc: TrytonRpc) -> None:
    parties = _parties(rpc, SUPPLIER_CATEGORY)
    assert sorted(parties) == [s.code for s in SEED.suppliers]
    memos = _memos(rpc, parties)
    for supplier in SEED.suppliers:
        row = parties[supplier.code]
        [address] = row["addresses."]
        assert row["name"] == supplier.name
        assert row["email"] == supplier.email
        assert address["party_name"] == supplier.short_name
        assert address["city"] == supplier.city
        assert state_of(address["subdivision."]["code"]) == supplier.state
        assert bool(row["active"]) is not supplier.blocked
        assert memos.get(supplier.code, "") == supplier.memo
    fastenal = parties["F00001"]
    assert fastenal["tax_identifier."]["code"] == "07.526.557/0001-00"
    assert fastenal["addresses."][0]["subdivision."]["code"] == "BR-SP"
    assert not parties["F00005"]["active"]


# ---- products and stock ---------------------------------------------------------------------------


def test_every_seed_product_carries_its_unit_symbol_prices_memo_and_reorder_point(rpc: TrytonRpc) -> None:
    rows = rpc.search_read(
        "product.product",
        [],
        [
            "code",
            "name",
            "active",
            "purchasable",
            "description",
            "cost_price",
            "template.list_price",
            "default_uom.symbol",
            "default_uom.category.name",
        ],
        context=ALL,
    )
    by_code = {row["code"]: row for row in rows}
    assert sorted(by_code) == sorted(p.code for p in SEED.products)
    points = rpc.search_read(
        "stock.order_point", [("type", "=", "purchase")], ["product", "min_quantity", "location.code"]
    )
    reorder: dict[int, Decimal] = defaultdict(Decimal)
    for point in points:
        assert point["location."]["code"] == WAREHOUSE_CODES[Warehouse.MAIN]
        reorder[point["product"]] += Decimal(str(point["min_quantity"]))
    for product in SEED.products:
        row = by_code[product.code]
        assert row["name"] == product.description
        assert row["default_uom."]["symbol"] == product.unit
        assert row["default_uom."]["category."]["name"] == "Units"
        assert row["template."]["list_price"] == product.list_price.amount
        assert row["cost_price"] == product.standard_cost.amount
        assert (row["description"] or "") == product.memo
        assert (not row["active"] or not row["purchasable"]) is product.blocked
        assert reorder[row["id"]] == product.reorder_point
    bolt = by_code["HB-M8-40"]
    assert bolt["name"] == "Hex bolt M8 x 40 mm zinc plated"
    assert isinstance(bolt["cost_price"], Decimal)


def test_stock_on_hand_is_split_over_the_two_warehouses_as_in_the_seed(rpc: TrytonRpc) -> None:
    warehouses = _warehouses(rpc)
    assert set(warehouses) == set(WAREHOUSE_CODES.values())
    for warehouse, code in WAREHOUSE_CODES.items():
        rows = rpc.search_read(
            "product.product",
            [],
            ["code", "quantity"],
            context={**ALL, "locations": [warehouses[code]], "stock_date_end": TODAY},
        )
        on_hand = {row["code"]: Decimal(str(row["quantity"])) for row in rows}
        expected = {s.product_code: s.on_hand for s in SEED.stock if s.warehouse == warehouse}
        assert on_hand == expected


# ---- accounting -----------------------------------------------------------------------------------


def _accounts(rpc: TrytonRpc) -> list[dict[str, Any]]:
    return rpc.search_read(
        "account.account",
        [("code", "!=", None)],
        ["code", "name", "closed", "type", "type.revenue", "type.expense", "parent.code", "balance"],
        context={**ALL, "date": TODAY},
    )


def test_the_chart_of_accounts_is_the_seeds_with_summary_accounts_as_views(rpc: TrytonRpc) -> None:
    rows = {row["code"]: row for row in _accounts(rpc)}
    assert sorted(rows) == sorted(a.code for a in SEED.accounts)
    for account in SEED.accounts:
        row = rows[account.code]
        assert row["name"] == account.name
        assert (row["type"] is not None) is account.postable
        assert bool(row["closed"]) is account.blocked
        parent = account.code.rsplit(".", 1)[0] if "." in account.code else None
        assert (row["parent."] or {}).get("code") == parent
        if account.postable:
            assert bool(row["type."]["revenue"]) is (account.kind is AccountKind.REVENUE)
            assert bool(row["type."]["expense"]) is (account.kind is AccountKind.EXPENSE)


def test_the_journal_entries_are_posted_and_every_account_balance_matches_the_seed(rpc: TrytonRpc) -> None:
    moves = rpc.search_read(
        "account.move",
        [("journal.code", "=", GENERAL_JOURNAL_CODE)],
        ["number", "date", "description", "state"],
    )
    by_number = {row["number"]: row for row in moves}
    assert sorted(by_number) == [e.number for e in SEED.journal_entries]
    for entry in SEED.journal_entries:
        row = by_number[entry.number]
        assert (row["state"], row["date"], row["description"]) == (
            "posted",
            entry.entry_date,
            entry.description,
        )
    assert by_number["000001"]["description"] == "Opening balances 2026"

    expected: dict[str, Decimal] = defaultdict(Decimal)
    for entry in SEED.journal_entries:
        for line in entry.lines:
            for depth in range(1, line.account_code.count(".") + 2):  # the account and its parents
                code = ".".join(line.account_code.split(".")[:depth])
                expected[code] += line.debit.amount - line.credit.amount
    # An account's balance sums its own lines and its children's (a view account has only those).
    balances = {row["code"]: row["balance"] for row in _accounts(rpc)}
    assert {code: balance for code, balance in balances.items() if balance} == {
        code: balance for code, balance in expected.items() if balance
    }
    assert balances["1.2.01.001"] == Decimal("800000.00")  # the opening entry's machinery, untouched since
    assert balances["3"] == Decimal("-2350000.00")  # equity: only the opening entry's credits


def test_fiscal_years_cover_the_seed_today_and_next_year_with_monthly_periods(rpc: TrytonRpc) -> None:
    years = {
        row["name"]: row["periods"] for row in rpc.search_read("account.fiscalyear", [], ["name", "periods"])
    }
    wanted = {TODAY.year, date.today().year, date.today().year + 1}
    assert {int(name) for name in years} == wanted
    assert all(len(periods) == 12 for periods in years.values())


# ---- orders ---------------------------------------------------------------------------------------


def test_sales_orders_keep_the_seeds_numbers_customers_dates_statuses_and_totals(rpc: TrytonRpc) -> None:
    rows = rpc.search_read(
        "sale.sale",
        [],
        ["number", "state", "party.code", "sale_date", "description", "untaxed_amount", "lines"],
        context=ALL,
    )
    by_number = {row["number"]: row for row in rows}
    assert sorted(by_number) == [o.number for o in SEED.sales_orders]
    for order in SEED.sales_orders:
        row = by_number[order.number]
        assert row["state"] == SALE_STATES[order.status], order.number
        assert row["party."]["code"] == order.customer_code
        assert row["sale_date"] == order.issued_on
        assert (row["description"] or "") == order.memo
        assert row["untaxed_amount"] == order.total.amount, order.number
        assert len(row["lines"]) == len(order.lines)
    done = rpc.search_read("sale.sale", [("state", "=", "done")], ["invoice_state", "shipment_state"])
    assert {(r["invoice_state"], r["shipment_state"]) for r in done} == {("paid", "sent")}


def test_sales_order_lines_carry_product_quantity_unit_and_price(rpc: TrytonRpc) -> None:
    order = next(o for o in SEED.sales_orders if o.number == "000002")
    [sale] = rpc.search("sale.sale", [("number", "=", "000002")])
    lines = rpc.search_read(
        "sale.line",
        [("sale", "=", sale)],
        ["product.code", "quantity", "unit.symbol", "unit_price"],
        order=[("sequence", "ASC")],
    )
    units = {p.code: p.unit for p in SEED.products}
    assert [
        (r["product."]["code"], Decimal(str(r["quantity"])), r["unit."]["symbol"], r["unit_price"])
        for r in lines
    ] == [
        (line.product_code, line.quantity, units[line.product_code], line.unit_price.amount)
        for line in order.lines
    ]


def test_purchase_orders_keep_the_seeds_numbers_suppliers_cost_centers_statuses_and_totals(
    rpc: TrytonRpc,
) -> None:
    numbers = [o.number for o in SEED.purchase_orders]
    rows = rpc.search_read(
        "purchase.purchase",
        [("number", "in", numbers)],  # not the purchase a later test adds
        ["number", "state", "party.code", "purchase_date", "description", "comment", "untaxed_amount"],
    )
    by_number = {row["number"]: row for row in rows}
    assert sorted(by_number) == numbers
    for order in SEED.purchase_orders:
        row = by_number[order.number]
        assert row["state"] == PURCHASE_STATES[order.status], order.number
        assert row["party."]["code"] == order.supplier_code
        assert row["purchase_date"] == order.issued_on
        assert (row["description"] or "") == order.memo
        assert row["comment"] == f"{COST_CENTER_MARK}{order.cost_center}"
        assert row["untaxed_amount"] == order.total.amount, order.number
    assert sum(1 for row in rows if row["state"] == "processing") == 36


# ---- the RPC client's failures -------------------------------------------------------------------


def test_a_wrong_password_is_refused_in_one_line(tryton_server: TrytonServer) -> None:
    client = tryton_server.client("admin", "not-the-password", login=False)
    with pytest.raises(LoginRefused) as refused:
        client.login()
    assert "wrong user name or password" in _one_line(refused.value)
    assert "not-the-password" not in str(refused.value)


def test_an_expired_session_is_renewed_by_logging_in_again_once(rpc: TrytonRpc) -> None:
    rpc._token = "0" * 64  # what a session the server forgot looks like
    assert rpc.search("currency.currency", [("code", "=", "BRL")])
    assert rpc._token != "0" * 64


def test_a_tryton_user_error_becomes_a_one_line_validation_failure(rpc: TrytonRpc) -> None:
    with pytest.raises(ValidationFailed) as failed:
        rpc.create(
            "party.party",
            [
                {
                    "name": "Bad CNPJ Ltda",
                    "identifiers": [("create", [{"type": "br_vat", "code": "11.111.111/1111-11"}])],
                }
            ],
        )
    assert "not valid" in _one_line(failed.value)


def test_a_stopped_server_is_reported_unavailable_in_one_line(tryton_template: Path, tmp_path: Path) -> None:
    copy_database(tryton_template, tmp_path, "stopped")
    server = start_server(tmp_path, "stopped")
    client = server.client()
    server.stop()
    with pytest.raises(ErpUnavailable) as unavailable:
        client.search("party.party", [])
    assert "unreachable" in _one_line(unavailable.value)
    with pytest.raises(ErpUnavailable):
        TrytonRpc(server.base_url, "stopped", "admin", "admin").login()


def test_a_server_without_its_database_fails_to_start_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(ErpError) as missing:
        start_server(tmp_path, "nothing-here")
    assert "prepare it first" in _one_line(missing.value)


# ---- a first write --------------------------------------------------------------------------------


def _purchase_state(rpc: TrytonRpc, purchase: int, wanted: str, seconds: float = 10.0) -> dict[str, Any]:
    # confirm may finish its work after the call returns: poll until the state is reached.
    deadline = time.monotonic() + seconds
    while True:
        [row] = rpc.read("purchase.purchase", [purchase], ["state", "number", "total_amount", "reference"])
        if row["state"] == wanted or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


def test_a_new_purchase_order_is_confirmed_into_processing_and_continues_the_numbering(
    rpc: TrytonRpc,
) -> None:
    [supplier] = rpc.search_read("party.party", [("code", "=", "F00001")], ["addresses"])
    [product] = rpc.search_read("product.product", [("code", "=", "HB-M8-40")], ["default_uom", "cost_price"])
    [warehouse] = rpc.search("stock.location", [("code", "=", WAREHOUSE_CODES[Warehouse.MAIN])])
    [purchase] = rpc.create(
        "purchase.purchase",
        [
            {
                "party": supplier["id"],
                "invoice_address": supplier["addresses"][0],
                "warehouse": warehouse,
                "reference": "countersign-key-0001",
                "description": "Groundwork test order",
                "lines": [
                    (
                        "create",
                        [
                            {
                                "type": "line",
                                "product": product["id"],
                                "quantity": 100.0,
                                "unit": product["default_uom"],
                                "unit_price": Decimal("0.8500"),
                                "description": "Hex bolt M8 x 40 mm zinc plated",
                            }
                        ],
                    )
                ],
            }
        ],
    )
    rpc.button("purchase.purchase", "quote", [purchase])
    rpc.button("purchase.purchase", "confirm", [purchase])
    row = _purchase_state(rpc, purchase, "processing")
    assert row["state"] == "processing"
    next_number = len(SEED.purchase_orders) + 1
    assert row["number"] == f"{next_number:0{DOCUMENT_NUMBER_PADDING}d}" == "000301"
    assert row["reference"] == "countersign-key-0001"
    assert row["total_amount"] == Decimal("85.00")
