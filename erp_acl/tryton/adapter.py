"""``TrytonErp``: the ports (ErpReader + ErpWriter + ErpEvents) over a Tryton 8.2 server (JSON-RPC).

Reads map Tryton's records onto the domain: customers and suppliers are parties told apart by the
party categories ``Customer`` / ``Supplier``; products are ``product.product`` (list price read
from the template); stock on hand per warehouse is ``product.product.quantity`` with the
warehouse as the ``locations`` context; purchase and sales orders are ``purchase.purchase`` and
``sale.sale``. Versions are the same content digests every adapter uses (``versions.stamp``), so
a proposal made against one ERP reads the same versions from another holding the same data.

Writes cannot share a transaction with an idempotency ledger, so the ledger *is* the documents:
a purchase order Countersign creates carries ``countersign:<key>`` in its ``reference`` field, and
its ``comment`` holds the fingerprint, the command and the cost center (one marked JSON line).
``apply`` looks the key up BEFORE creating anything: found with the same fingerprint -> that
document's receipt (finishing quote/confirm if a previous attempt was cut off), another
fingerprint -> ``IdempotencyConflict``; not found -> check versions and rules, create, look the
key up again (two racing creators: the later document cancels and deletes itself), quote,
confirm, and poll until Tryton reaches ``processing``. A response lost after a create is thus
harmless: the retry finds the document by its key.

What this Tryton set-up does not have (budgets, supplier invoices here, credit limits, business
events) is refused with ``Unsupported`` (one line), or answered empty where the port allows it.
One instance holds one ``TrytonRpc`` session: not thread-safe, use one per thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from erp_acl import documents
from erp_acl import identifiers as ids
from erp_acl.commands import Command, CreatePurchaseOrder
from erp_acl.domain import (
    AccountBalance,
    AccountKind,
    Budget,
    Customer,
    GLAccount,
    LandedDocument,
    LandedLine,
    LedgerEntry,
    Money,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    Receipt,
    SalesOrder,
    SalesOrderStatus,
    StockReport,
    Supplier,
    SupplierInvoice,
    Warehouse,
    money,
)
from erp_acl.errors import ErpError, NotFound, ValidationFailed
from erp_acl.events import BusinessEvent, check_limit, checked_ids, unknown_events
from erp_acl.rules import MAX_MEMO, check_versions, line_total
from erp_acl.seed_data import OPEN_EXPOSURE
from erp_acl.text_match import rank, search_text
from erp_acl.tryton.rpc import TrytonRpc, one_line
from erp_acl.tryton.setup import CUSTOMER_CATEGORY, SUPPLIER_CATEGORY, WAREHOUSE_CODES
from erp_acl.versions import MISSING, stamp, versions_of

__all__ = ["REFERENCE_PREFIX", "TrytonErp", "Unsupported"]

REFERENCE_PREFIX = "countersign:"
"""What a purchase's ``reference`` starts with when Countersign created it (then the key)."""
LEDGER_MARK = "countersign-ledger: "
"""Start of the comment line holding the ledger data (fingerprint, command, cost center)."""
CONFIRM_TIMEOUT = 30.0
_POLL_INTERVAL = 0.2

PURCHASE_STATUS: dict[str, PurchaseOrderStatus] = {
    "draft": PurchaseOrderStatus.OPEN,
    "quotation": PurchaseOrderStatus.OPEN,
    "confirmed": PurchaseOrderStatus.OPEN,
    "processing": PurchaseOrderStatus.OPEN,
    "done": PurchaseOrderStatus.RECEIVED,
    "cancelled": PurchaseOrderStatus.CANCELLED,
}
SALES_STATUS: dict[str, SalesOrderStatus] = {
    "draft": SalesOrderStatus.OPEN,
    "quotation": SalesOrderStatus.OPEN,
    "confirmed": SalesOrderStatus.OPEN,
    "processing": SalesOrderStatus.OPEN,
    "done": SalesOrderStatus.INVOICED,
    "cancelled": SalesOrderStatus.CANCELLED,
}
_ACCOUNT_ROOTS = {
    "1": AccountKind.ASSET,
    "2": AccountKind.LIABILITY,
    "3": AccountKind.EQUITY,
    "4": AccountKind.REVENUE,
    "5": AccountKind.EXPENSE,
}

_PARTY_FIELDS = ["code", "name", "active", "email", "tax_identifier.code", "addresses.city"]
_PRODUCT_FIELDS = [
    "code",
    "name",
    "active",
    "purchasable",
    "description",
    "cost_price",
    "template.list_price",
    "default_uom.symbol",
]
_ORDER_FIELDS = [
    "number",
    "reference",
    "state",
    "party.code",
    "description",
    "comment",
    "create_date",
]
_LINE_FIELDS = ["sequence", "type", "product.code", "quantity", "unit_price", "amount"]
_ACCOUNT_FIELDS = [
    "code",
    "name",
    "closed",
    "active",
    "type",
    "type.statement",
    "type.assets",
    "type.revenue",
    "type.expense",
]


class Unsupported(ErpError):
    """The Tryton ERP (as set up here) has no such thing, or this adapter does not do it yet."""


def _text(value: Any) -> str:
    return "" if value is None or value is False else str(value)


def _nested(row: dict[str, Any], field: str) -> dict[str, Any]:
    """A related record read through a dotted field (``"party.code"`` comes back as ``row["party."]``)."""
    value = row.get(f"{field}.")
    return value if isinstance(value, dict) else {}


def _decimal(value: Any) -> Decimal:
    return Decimal("0") if value is None else Decimal(str(value))


def _utc(moment: datetime) -> datetime:
    """Tryton's timestamps are naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reference_of(idempotency_key: str) -> str:
    return f"{REFERENCE_PREFIX}{idempotency_key}"


def _ledger_data(comment: Any) -> dict[str, Any]:
    for line in _text(comment).splitlines():
        if line.startswith(LEDGER_MARK):
            try:
                data = json.loads(line[len(LEDGER_MARK) :])
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


class TrytonErp:
    """ErpReader + ErpWriter + ErpEvents over one Tryton database, through ``rpc``.

    ``today`` is the clock of new purchase orders (tests pin it); ``confirm_timeout`` how long
    ``apply`` waits for a confirmed purchase to reach ``processing``.
    """

    def __init__(
        self,
        rpc: TrytonRpc,
        *,
        today: Callable[[], date] | None = None,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        self._rpc = rpc
        self._today = today or date.today
        self._confirm_timeout = confirm_timeout
        self._warehouses: dict[Warehouse, int] | None = None

    @property
    def rpc(self) -> TrytonRpc:
        return self._rpc

    def close(self) -> None:
        self._rpc.logout()

    # ---- parties ----------------------------------------------------------------------------------

    def _parties(self, category: str, domain: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self._rpc.search_read(
            "party.party",
            [("categories.name", "=", category), *domain],
            _PARTY_FIELDS,
            order=[("code", "ASC")],
            context={"active_test": False},
        )

    def _open_totals(self, party_ids: Sequence[int]) -> dict[int, Money]:
        states = [state for state, status in SALES_STATUS.items() if status in OPEN_EXPOSURE]
        totals: dict[int, Decimal] = {i: Decimal("0") for i in party_ids}
        if party_ids:
            rows = self._rpc.search_read(
                "sale.sale",
                [("party", "in", list(party_ids)), ("state", "in", states)],
                ["party", "total_amount"],
            )
            for row in rows:
                totals[int(row["party"])] += _decimal(row["total_amount"])
        return {i: money(total) for i, total in totals.items()}

    def _customer(self, row: dict[str, Any], open_total: Money) -> Customer:
        cities = row.get("addresses.") or [{}]
        return stamp(
            Customer(
                code=_text(row["code"]),
                name=_text(row["name"]),
                short_name=_text(row["name"]),
                tax_id=_text(_nested(row, "tax_identifier").get("code")),
                city=_text(cities[0].get("city")),
                state="",
                # Tryton without account_credit_limit keeps no credit limit: none granted.
                credit_limit=money(0),
                open_orders_total=open_total,
                blocked=not row["active"],
            )
        )

    def _supplier(self, row: dict[str, Any]) -> Supplier:
        cities = row.get("addresses.") or [{}]
        return stamp(
            Supplier(
                code=_text(row["code"]),
                name=_text(row["name"]),
                short_name=_text(row["name"]),
                tax_id=_text(_nested(row, "tax_identifier").get("code")),
                city=_text(cities[0].get("city")),
                state="",
                email=_text(row.get("email")),
                blocked=not row["active"],
            )
        )

    def _ranked(self, query: str, rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        return rank(
            query,
            rows,
            code=lambda r: _text(r["code"]),
            text=lambda r: search_text(_text(r["name"]), _text(_nested(r, "tax_identifier").get("code"))),
            limit=limit,
        )

    def search_customers(self, query: str, limit: int = 10) -> list[Customer]:
        found = self._ranked(query, self._parties(CUSTOMER_CATEGORY), limit)
        totals = self._open_totals([r["id"] for r in found])
        return [self._customer(r, totals[r["id"]]) for r in found]

    def get_customer(self, code: str) -> Customer:
        wanted = ids.customer_code(code)
        rows = self._parties(CUSTOMER_CATEGORY, [("code", "=", wanted)])
        if not rows:
            raise ids.not_found("customer", wanted)
        return self._customer(rows[0], self._open_totals([rows[0]["id"]])[rows[0]["id"]])

    def search_suppliers(self, query: str, limit: int = 10) -> list[Supplier]:
        return [self._supplier(r) for r in self._ranked(query, self._parties(SUPPLIER_CATEGORY), limit)]

    def _supplier_row(self, code: str) -> dict[str, Any]:
        wanted = ids.supplier_code(code)
        rows = self._parties(SUPPLIER_CATEGORY, [("code", "=", wanted)])
        if not rows:
            raise ids.not_found("supplier", wanted)
        return rows[0]

    def get_supplier(self, code: str) -> Supplier:
        return self._supplier(self._supplier_row(code))

    # ---- products and stock ----------------------------------------------------------------------

    def _product_rows(self, domain: Sequence[Any]) -> list[dict[str, Any]]:
        return self._rpc.search_read(
            "product.product",
            list(domain),
            _PRODUCT_FIELDS,
            order=[("code", "ASC")],
            context={"active_test": False},
        )

    def _product(self, row: dict[str, Any]) -> Product:
        symbol = _text(_nested(row, "default_uom").get("symbol"))
        return stamp(
            Product(
                code=_text(row["code"]),
                description=_text(row["name"]),
                unit=symbol.upper(),
                list_price=money(_decimal(_nested(row, "template").get("list_price"))),
                standard_cost=money(_decimal(row.get("cost_price"))),
                # stock_supply (order points) is not installed: no reorder point.
                reorder_point=Decimal("0"),
                blocked=not row["active"] or not row.get("purchasable", True),
                memo=_text(row.get("description")),
            )
        )

    def _product_row(self, code: str) -> dict[str, Any]:
        wanted = ids.product_code(code)
        rows = self._product_rows([("code", "=", wanted)])
        if not rows:
            raise ids.not_found("product", wanted)
        return rows[0]

    def search_products(self, query: str, limit: int = 10) -> list[Product]:
        rows = self._product_rows([])
        found = rank(
            query,
            rows,
            code=lambda r: _text(r["code"]),
            text=lambda r: search_text(_text(r["name"])),
            limit=limit,
        )
        return [self._product(r) for r in found]

    def get_product(self, code: str) -> Product:
        return self._product(self._product_row(code))

    def _warehouse_ids(self) -> dict[Warehouse, int]:
        if self._warehouses is None:
            rows = self._rpc.search_read(
                "stock.location", [("type", "=", "warehouse")], ["code"], context={"active_test": False}
            )
            by_code = {_text(r["code"]): int(r["id"]) for r in rows}
            self._warehouses = {
                warehouse: by_code[code] for warehouse, code in WAREHOUSE_CODES.items() if code in by_code
            }
        return self._warehouses

    def stock_report(self, product_code: str) -> StockReport:
        row = self._product_row(product_code)
        product = self._product(row)
        levels = []
        for warehouse, location in self._warehouse_ids().items():
            [stock] = self._rpc.read(
                "product.product", [row["id"]], ["quantity"], context={"locations": [location]}
            )
            # Tryton reserves nothing by itself (no reservation module): reserved is 0.
            on_hand = _decimal(stock["quantity"])
            levels.append(documents.stock_level(product.code, warehouse, on_hand, Decimal("0")))
        return documents.stock_report(product, levels)

    # ---- orders -------------------------------------------------------------------------------------

    def _orders(
        self,
        model: str,
        domain: Sequence[Any],
        limit: int | None,
        extra: Sequence[str],
        order: Sequence[tuple[str, str]] = (("id", "DESC"),),
    ) -> list[dict[str, Any]]:
        """Orders with their lines (``"lines"``: rows in sequence order), in one call each."""
        rows = self._rpc.search_read(
            model, [("number", "!=", None), *domain], [*_ORDER_FIELDS, *extra], limit=limit, order=list(order)
        )
        if not rows:
            return rows
        line_model = "purchase.line" if model == "purchase.purchase" else "sale.line"
        parent = "purchase" if model == "purchase.purchase" else "sale"
        lines = self._rpc.search_read(
            line_model,
            [(parent, "in", [r["id"] for r in rows]), ("type", "=", "line")],
            [parent, *_LINE_FIELDS],
            order=[("sequence", "ASC"), ("id", "ASC")],
        )
        by_order: dict[int, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
        for line in lines:
            by_order[int(line[parent])].append(line)
        for r in rows:
            r["lines"] = by_order[r["id"]]
        return rows

    @staticmethod
    def _order_lines(row: dict[str, Any]) -> list[OrderLine]:
        return [
            OrderLine(
                line_no=line_no,
                product_code=_text(_nested(line, "product").get("code")),
                quantity=ids.quantity(_decimal(line["quantity"])),
                unit_price=money(_decimal(line["unit_price"])),
                total=money(line_total(_decimal(line["quantity"]), _decimal(line["unit_price"]))),
            )
            for line_no, line in enumerate(row["lines"], 1)
        ]

    @staticmethod
    def _numbers(number: str) -> list[str]:
        """A number as people type it (``000012``) and as Tryton's sequence wrote it (``12``)."""
        wanted = ids.order_number(number)
        return sorted({wanted, number.strip(), wanted.lstrip("0") or "0"})

    def _purchase_order(self, row: dict[str, Any]) -> PurchaseOrder:
        lines = self._order_lines(row)
        ledger = _ledger_data(row.get("comment"))
        reference = _text(row.get("reference"))
        issued = row.get("purchase_date") or row["create_date"]
        return stamp(
            PurchaseOrder(
                number=_text(row["number"]),
                supplier_code=_text(_nested(row, "party").get("code")),
                issued_on=issued if not isinstance(issued, datetime) else issued.date(),
                cost_center=_text(ledger.get("cost_center")),
                status=PURCHASE_STATUS.get(_text(row["state"]), PurchaseOrderStatus.OPEN),
                lines=lines,
                total=money(sum((line.total.amount for line in lines), Decimal("0"))),
                memo=_text(row.get("description")),
                reference=reference.removeprefix(REFERENCE_PREFIX),
            )
        )

    def list_purchase_orders(
        self, supplier_code: str | None = None, status: PurchaseOrderStatus | None = None, limit: int = 20
    ) -> list[PurchaseOrder]:
        party = None if supplier_code is None else ids.supplier_code(supplier_code)
        domain = _order_domain(party, PURCHASE_STATUS, status)
        rows = self._orders("purchase.purchase", domain, limit, ["purchase_date"]) if limit > 0 else []
        return [self._purchase_order(r) for r in rows]

    def get_purchase_order(self, number: str) -> PurchaseOrder:
        rows = self._orders(
            "purchase.purchase", [("number", "in", self._numbers(number))], 1, ["purchase_date"]
        )
        if not rows:
            raise ids.not_found("purchase_order", ids.order_number(number))
        return self._purchase_order(rows[0])

    def _sales_order(self, row: dict[str, Any]) -> SalesOrder:
        lines = self._order_lines(row)
        issued = row.get("sale_date") or row["create_date"]
        return stamp(
            SalesOrder(
                number=_text(row["number"]),
                customer_code=_text(_nested(row, "party").get("code")),
                issued_on=issued if not isinstance(issued, datetime) else issued.date(),
                status=SALES_STATUS.get(_text(row["state"]), SalesOrderStatus.OPEN),
                lines=lines,
                total=money(sum((line.total.amount for line in lines), Decimal("0"))),
                memo=_text(row.get("description")),
            )
        )

    def list_sales_orders(
        self, customer_code: str | None = None, status: SalesOrderStatus | None = None, limit: int = 20
    ) -> list[SalesOrder]:
        party = None if customer_code is None else ids.customer_code(customer_code)
        domain = _order_domain(party, SALES_STATUS, status)
        rows = self._orders("sale.sale", domain, limit, ["sale_date"]) if limit > 0 else []
        return [self._sales_order(r) for r in rows]

    def get_sales_order(self, number: str) -> SalesOrder:
        rows = self._orders("sale.sale", [("number", "in", self._numbers(number))], 1, ["sale_date"])
        if not rows:
            raise ids.not_found("sales_order", ids.order_number(number))
        return self._sales_order(rows[0])

    # ---- what this Tryton set-up does not have ---------------------------------------------------

    def list_supplier_invoices(
        self, supplier_code: str | None = None, purchase_order_number: str | None = None, limit: int = 20
    ) -> list[SupplierInvoice]:
        raise Unsupported("the Tryton ERP adapter does not read supplier invoices yet")

    def get_supplier_invoice(self, number: str) -> SupplierInvoice:
        raise Unsupported(
            f"the Tryton ERP adapter does not read supplier invoices yet (asked for {one_line(number, 40)})"
        )

    def list_budgets(self, year: int | None = None) -> list[Budget]:
        raise Unsupported("the Tryton ERP has no budgets: cost centers are not tracked there")

    def get_budget(self, cost_center: str, year: int | None = None) -> Budget:
        raise Unsupported(
            f"the Tryton ERP has no budgets: no budget for cost center {ids.cost_center_code(cost_center)}"
        )

    # ---- accounts -------------------------------------------------------------------------------

    @staticmethod
    def _account(row: dict[str, Any]) -> GLAccount:
        code = _text(row["code"])
        kind_of = _nested(row, "type")
        if kind_of.get("revenue"):
            kind = AccountKind.REVENUE
        elif kind_of.get("expense"):
            kind = AccountKind.EXPENSE
        elif code[:1] in _ACCOUNT_ROOTS:
            kind = _ACCOUNT_ROOTS[code[:1]]
        elif kind_of.get("statement") == "income":
            kind = AccountKind.REVENUE if "revenue" in _text(row["name"]).lower() else AccountKind.EXPENSE
        else:
            kind = AccountKind.ASSET if kind_of.get("assets") else AccountKind.LIABILITY
        return GLAccount(
            code=code,
            name=_text(row["name"]),
            kind=kind,
            # Accounts without a type are Tryton's view (summary) accounts.
            postable=row.get("type") is not None,
            blocked=bool(row.get("closed")) or not row.get("active", True),
        )

    def search_accounts(self, query: str, limit: int = 10) -> list[GLAccount]:
        rows = self._rpc.search_read("account.account", [("code", "!=", None)], _ACCOUNT_FIELDS)
        found = rank(
            query,
            rows,
            code=lambda r: _text(r["code"]),
            text=lambda r: search_text(_text(r["name"])),
            limit=limit,
        )
        return [self._account(r) for r in found]

    def account_balance(self, code: str, as_of: date | None = None) -> AccountBalance:
        day = as_of or self._today()
        wanted = ids.account_code(code)
        rows = self._rpc.search_read(
            "account.account",
            [("code", "in", sorted({wanted, code.strip()}))],
            [*_ACCOUNT_FIELDS, "debit", "credit"],
            limit=1,
            context={"date": day},
        )
        if not rows:
            raise ids.not_found("account", wanted)
        debits, credits = _decimal(rows[0]["debit"]), _decimal(rows[0]["credit"])
        return AccountBalance(
            account=self._account(rows[0]),
            as_of=day,
            debits=money(debits),
            credits=money(credits),
            balance=money(debits - credits),
        )

    # ---- versions and rules ----------------------------------------------------------------------

    def record_versions(self, refs: Sequence[str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for ref in refs:
            try:
                result.update(versions_of(self, [ref]))
            except Unsupported:  # a budget or supplier invoice: none exists here
                result[ref] = MISSING
        return result

    def check(self, command: Command) -> None:
        if not isinstance(command, CreatePurchaseOrder):
            raise self._unsupported(command)
        problems = self._purchase_problems(command)
        if problems:
            raise ValidationFailed(problems)

    @staticmethod
    def _unsupported(command: Command) -> Unsupported:
        return Unsupported(
            f"the Tryton ERP adapter cannot {command.action.replace('_', ' ')} yet; "
            "only purchase orders are written to Tryton"
        )

    def _purchase_problems(self, command: CreatePurchaseOrder) -> list[str]:
        """The domain's purchase-order rules, less the budget (Tryton has none)."""
        problems: list[str] = []
        try:
            supplier = self.get_supplier(command.supplier_code)
        except NotFound as missing:
            problems.append(str(missing))
        else:
            if supplier.blocked:
                problems.append(f"supplier {supplier.code} is blocked")
        for line in command.lines:
            try:
                product = self.get_product(line.product_code)
            except NotFound as missing:
                problems.append(str(missing))
                continue
            if product.blocked:
                problems.append(f"product {product.code} is blocked")
            if line.quantity <= 0:
                problems.append(f"quantity of {product.code} must be positive")
            if line.unit_price is not None and line.unit_price <= 0:
                problems.append(f"unit price of {product.code} must be positive")
            elif line.unit_price is None and product.standard_cost.amount <= 0:
                problems.append(f"product {product.code} has no standard cost; give a unit price")
        if not ids.cost_center_code(command.cost_center):
            problems.append("a purchase order needs a cost center")
        if len(command.memo) > MAX_MEMO:
            problems.append(f"the memo is longer than {MAX_MEMO} characters")
        return problems

    # ---- writes ---------------------------------------------------------------------------------

    def _keyed(self, idempotency_key: str) -> list[dict[str, Any]]:
        """Purchases carrying this key in their reference, oldest first."""
        return self._rpc.search_read(
            "purchase.purchase",
            [("reference", "=", reference_of(idempotency_key))],
            ["state", "number", "comment", "create_date"],
            order=[("id", "ASC")],
        )

    def apply(self, command: Command, idempotency_key: str, fingerprint: str) -> Receipt:
        documents.check_key(idempotency_key)
        if not isinstance(command, CreatePurchaseOrder):
            raise self._unsupported(command)
        found = self._keyed(idempotency_key)
        if found:
            return self._resume(found[0], idempotency_key, fingerprint)
        check_versions(command, self)
        self.check(command)
        created = self._create_purchase(command, idempotency_key, fingerprint)
        # Tryton has no unique constraint on the reference: if a racing apply created a
        # document under the same key first, this one withdraws and the first one stands.
        first = self._keyed(idempotency_key)[0]
        if first["id"] != created:
            self._withdraw(created)
            return self._resume(first, idempotency_key, fingerprint)
        self._confirm(created)
        return self._receipt(created, replayed=False)

    def _resume(self, row: dict[str, Any], key: str, fingerprint: str) -> Receipt:
        """The receipt of a document that already carries the key (finishing what a cut-off
        attempt left undone)."""
        if _ledger_data(row.get("comment")).get("fingerprint") != fingerprint:
            raise documents.conflict(key)
        if row["state"] in ("draft", "quotation", "confirmed"):
            self._confirm(int(row["id"]))
        return self._receipt(int(row["id"]), replayed=True)

    def _create_purchase(self, command: CreatePurchaseOrder, key: str, fingerprint: str) -> int:
        supplier = self._supplier_row(command.supplier_code)
        [party] = self._rpc.read("party.party", [supplier["id"]], ["addresses"])
        if not party["addresses"]:
            raise ValidationFailed([f"supplier {supplier['code']} has no address in Tryton to invoice"])
        warehouse = self._warehouse_ids().get(Warehouse.MAIN)
        if warehouse is None:
            raise ErpError("the Tryton ERP has no main warehouse (code 01)")
        lines = []
        for spec in command.lines:
            row = self._product_row(spec.product_code)
            [unit] = self._rpc.read("product.product", [row["id"]], ["purchase_uom"])
            price = spec.unit_price if spec.unit_price is not None else _decimal(row["cost_price"])
            lines.append(
                {
                    "type": "line",
                    "product": row["id"],
                    "quantity": float(ids.quantity(spec.quantity)),
                    "unit": unit["purchase_uom"],
                    "unit_price": money(price).amount,
                    "description": _text(row["name"]),
                }
            )
        ledger = {
            "key": key,
            "fingerprint": fingerprint,
            "action": command.action,
            "cost_center": ids.cost_center_code(command.cost_center),
            "command": command.model_dump(mode="json"),
        }
        [created] = self._rpc.create(
            "purchase.purchase",
            [
                {
                    "party": supplier["id"],
                    "invoice_address": party["addresses"][0],
                    "warehouse": warehouse,
                    "purchase_date": self._today(),
                    "reference": reference_of(key),
                    "description": command.memo.strip(),
                    "comment": LEDGER_MARK + json.dumps(ledger, sort_keys=True, separators=(",", ":")),
                    "lines": [("create", lines)],
                }
            ],
        )
        return created

    def _withdraw(self, purchase: int) -> None:
        try:
            self._rpc.button("purchase.purchase", "cancel", [purchase])
            self._rpc.execute("purchase.purchase", "delete", [purchase])
        except ErpError as exc:
            raise ErpError(
                f"two purchases were created under one key and Tryton refused to delete the later one "
                f"(id {purchase}): {exc}"
            ) from None

    def _confirm(self, purchase: int) -> None:
        """Quote and confirm as needed, then wait until Tryton has processed the purchase."""
        for button, from_state in (("quote", "draft"), ("confirm", "quotation")):
            if self._state(purchase) != from_state:
                continue
            try:
                self._rpc.button("purchase.purchase", button, [purchase])
            except ValidationFailed:
                # A concurrent retry of the same key may have pressed it first: fine if it moved on.
                if self._state(purchase) == from_state:
                    raise
        # confirm may finish its work (process) after the call returns: poll the state.
        deadline = time.monotonic() + self._confirm_timeout
        while True:
            [row] = self._rpc.read("purchase.purchase", [purchase], ["state", "number"])
            if row["state"] in ("processing", "done", "cancelled"):
                return
            if time.monotonic() > deadline:
                raise ErpError(
                    f"Tryton left purchase {row['number'] or purchase} {row['state']} instead of "
                    f"processing it within {self._confirm_timeout:.0f} s; retry with the same key"
                )
            time.sleep(_POLL_INTERVAL)

    def _state(self, purchase: int) -> str:
        [row] = self._rpc.read("purchase.purchase", [purchase], ["state"])
        return _text(row["state"])

    def _receipt(self, purchase: int, *, replayed: bool) -> Receipt:
        rows = self._orders("purchase.purchase", [("id", "=", purchase)], 1, ["purchase_date"])
        if not rows:
            raise ErpError(f"the Tryton purchase {purchase} vanished while it was being written")
        return self._receipt_of(rows[0], replayed=replayed)

    def _receipt_of(
        self, row: dict[str, Any], *, replayed: bool, supplier: Supplier | None = None
    ) -> Receipt:
        order = self._purchase_order(row)
        ledger = _ledger_data(row.get("comment"))
        plan = documents.PurchaseOrderPlan(
            supplier=supplier or self.get_supplier(order.supplier_code),
            cost_center=order.cost_center,
            issued_on=order.issued_on,
            lines=order.lines,
            total=order.total,
            memo=order.memo,
        )
        return Receipt(
            action=_text(ledger.get("action")) or "create_purchase_order",
            document_type=documents.PURCHASE_ORDER,
            document_id=order.number,
            summary=documents.purchase_order_summary(order.number, plan),
            idempotency_key=order.reference,
            fingerprint=_text(ledger.get("fingerprint")),
            committed_at=_utc(row["create_date"]),
            replayed=replayed,
        )

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        """The receipt of the document carrying the key; None while nothing (or only a draft or
        quotation an interrupted ``apply`` left, which a retry with the key finishes) landed."""
        found = self._keyed(idempotency_key)
        if not found or found[0]["state"] in ("draft", "quotation"):
            return None
        return self._receipt(int(found[0]["id"]), replayed=True)

    def _landed_rows(self) -> list[dict[str, Any]]:
        """Every numbered purchase with a Countersign reference, oldest first."""
        return self._orders(
            "purchase.purchase",
            [("reference", "like", f"{REFERENCE_PREFIX}%")],
            None,
            ["purchase_date"],
            order=(("id", "ASC"),),
        )

    def ledger(self) -> Iterator[Receipt]:
        rows = self._landed_rows()
        suppliers = {s["code"]: self._supplier(s) for s in self._parties(SUPPLIER_CATEGORY)}
        for row in rows:
            code = _text(_nested(row, "party").get("code"))
            yield self._receipt_of(row, replayed=False, supplier=suppliers.get(code))

    def ledger_entries(self) -> Iterator[LedgerEntry]:
        rows = self._landed_rows()
        suppliers = {s["code"]: self._supplier(s) for s in self._parties(SUPPLIER_CATEGORY)}
        for row in rows:
            ledger = _ledger_data(row.get("comment"))
            code = _text(_nested(row, "party").get("code"))
            receipt = self._receipt_of(row, replayed=False, supplier=suppliers.get(code))
            yield LedgerEntry(
                idempotency_key=receipt.idempotency_key,
                fingerprint=receipt.fingerprint,
                action=receipt.action,
                command=ledger.get("command") or {},
                receipt=receipt,
                created_at=receipt.committed_at,
            )

    def landed_documents(self) -> Iterator[LandedDocument]:
        rows = self._landed_rows()
        rows.sort(key=lambda r: (len(_text(r["number"])), _text(r["number"])))
        for row in rows:
            order = self._purchase_order(row)
            yield LandedDocument(
                reference=order.reference,
                document_type=documents.PURCHASE_ORDER,
                document_id=order.number,
                status=order.status.value,
                amount=order.total.amount,
                lines=tuple(
                    LandedLine(
                        code=line.product_code, quantity=line.quantity, unit_price=line.unit_price.amount
                    )
                    for line in order.lines
                ),
                created_on=order.issued_on,
            )

    # ---- events: none in this Tryton set-up --------------------------------------------------

    def scan_events(self, now: datetime) -> list[BusinessEvent]:
        """No condition is watched in Tryton (no alerts model): nothing ever starts."""
        if now.tzinfo is None:
            raise ValidationFailed(["now must be timezone-aware"])
        return []

    def unpublished_events(self, limit: int = 100) -> list[BusinessEvent]:
        check_limit(limit)
        return []

    def mark_events_published(self, event_ids: Sequence[str]) -> None:
        wanted = checked_ids(event_ids)
        if wanted:
            raise unknown_events(wanted)


def _order_domain(party_code: str | None, states: Mapping[str, Any], status: Any | None) -> list[Any]:
    """A Tryton search domain for orders of one party and in the Tryton states of one status."""
    domain: list[Any] = []
    if party_code is not None:
        domain.append(("party.code", "=", party_code))
    if status is not None:
        domain.append(("state", "in", [state for state, ours in states.items() if ours is status]))
    return domain
