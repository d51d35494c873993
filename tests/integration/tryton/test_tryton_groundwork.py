"""Tryton 8.2 behind the ACL, groundwork: JSON-RPC, the prepared demo company and a first write."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from erp_acl.errors import ErpError, ErpUnavailable, ValidationFailed
from erp_acl.seed_data import generate
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


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert text
    assert "\n" not in text
    assert "Traceback" not in text
    return text


def _party_codes(rpc: TrytonRpc, category: str) -> list[str]:
    rows = rpc.search_read(
        "party.party", [("categories.name", "=", category)], ["code"], order=[("code", "ASC")]
    )
    return [row["code"] for row in rows]


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


def test_the_demo_customers_and_suppliers_keep_the_bundled_erp_codes(rpc: TrytonRpc) -> None:
    customers = _party_codes(rpc, CUSTOMER_CATEGORY)
    suppliers = _party_codes(rpc, SUPPLIER_CATEGORY)
    assert customers == [c.code for c in SEED.customers[:10]]
    assert len(suppliers) == 5
    [fastenal] = rpc.search_read(
        "party.party",
        [("code", "=", "F00001")],
        ["name", "tax_identifier.code", "email", "addresses.city"],
    )
    assert fastenal["name"] == "Fastenal Brasil Ltda"
    assert fastenal["tax_identifier."]["code"] == "07.526.557/0001-00"
    assert fastenal["addresses."][0]["city"] == "Sorocaba"
    assert fastenal["email"] == "vendas@fastenal.com.br"


def test_the_demo_products_carry_list_prices_and_costs_as_decimals(rpc: TrytonRpc) -> None:
    rows = rpc.search_read(
        "product.product",
        [],
        ["code", "name", "template.list_price", "cost_price", "default_uom.name"],
        order=[("code", "ASC")],
    )
    assert len(rows) == 20
    by_code = {row["code"]: row for row in rows}
    expected = next(p for p in SEED.products if p.code == "HB-M8-40")
    bolt = by_code["HB-M8-40"]
    assert bolt["name"] == "Hex bolt M8 x 40 mm zinc plated"
    assert bolt["template."]["list_price"] == expected.list_price.amount
    assert bolt["cost_price"] == expected.standard_cost.amount
    assert isinstance(bolt["cost_price"], Decimal)
    assert bolt["default_uom."]["name"] == "Unit"


def test_stock_on_hand_is_split_over_the_two_warehouses_as_in_the_seed(rpc: TrytonRpc) -> None:
    [product] = rpc.search("product.product", [("code", "=", "HB-M8-40")])
    warehouses = {
        row["code"]: row["id"]
        for row in rpc.search_read("stock.location", [("type", "=", "warehouse")], ["code"])
    }
    assert set(warehouses) == set(WAREHOUSE_CODES.values())
    expected = {WAREHOUSE_CODES[s.warehouse]: s.on_hand for s in SEED.stock if s.product_code == "HB-M8-40"}
    on_hand = {
        code: Decimal(
            str(
                rpc.read("product.product", [product], ["quantity"], context={"locations": [wh]})[0][
                    "quantity"
                ]
            )
        )
        for code, wh in warehouses.items()
    }
    assert on_hand == expected


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


def _purchase_state(rpc: TrytonRpc, purchase: int, wanted: str, seconds: float = 10.0) -> dict[str, Any]:
    # confirm may finish its work after the call returns: poll until the state is reached.
    deadline = time.monotonic() + seconds
    while True:
        [row] = rpc.read("purchase.purchase", [purchase], ["state", "number", "total_amount", "reference"])
        if row["state"] == wanted or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


def test_a_one_line_purchase_order_is_quoted_and_confirmed_into_processing(rpc: TrytonRpc) -> None:
    [supplier] = rpc.search_read("party.party", [("code", "=", "F00001")], ["addresses"])
    [product] = rpc.search_read("product.product", [("code", "=", "HB-M8-40")], ["default_uom", "cost_price"])
    [warehouse] = rpc.search("stock.location", [("code", "=", WAREHOUSE_CODES[SEED.stock[0].warehouse])])
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
    assert row["number"]
    assert row["reference"] == "countersign-key-0001"
    assert row["total_amount"] == Decimal("85.00")
