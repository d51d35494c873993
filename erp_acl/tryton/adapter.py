"""``TrytonErp``: the ports (ErpReader + ErpWriter + ErpEvents) over a Tryton 8.2 server (JSON-RPC).

Reads map Tryton's records onto the domain, where ``conventions`` says each fact lives:
customers and suppliers are parties (categories ``Customer`` / ``Supplier``, credit limits from
``account_credit_limit``); products are ``product.product`` (list price from the template,
reorder point from ``stock_supply`` order points); stock on hand per warehouse is
``product.product.quantity`` with the warehouse as the ``locations`` context; purchase and sales
orders are ``purchase.purchase`` and ``sale.sale``; balances come from posted ``account.move``
lines. Versions are the same content digests every adapter uses (``versions.stamp``), so a
proposal made against one ERP reads the same versions from another holding the same data.

Writes cannot share a transaction with an idempotency ledger, so each is claimed in Tryton first
(``ledger.TrytonLedger``: an attachment named after the key) and the documents carry the key in
their own reference: a purchase's ``reference``, a journal entry's description suffix. ``apply``
looks the key up BEFORE writing anything: a completed claim with the same fingerprint -> its
receipt; another fingerprint -> ``IdempotencyConflict``; a pending claim (an attempt cut off, its
answer lost) -> finish it, finding in Tryton whatever that attempt already wrote; no claim ->
check versions and rules, claim, write, close the claim. A purchase is created, quoted and
confirmed, then polled until Tryton reaches ``processing``. A response lost after a create is
thus harmless: the retry finds the document by its key.

Tryton has no budgets and this set-up keeps no supplier invoices: those reads raise
``Unsupported`` (one line); budget rules are skipped. Business events are not detected in Tryton:
scans find nothing. Tryton cancels sales and purchases only before they are confirmed; later,
cancelling is refused in one line. One instance may be shared by threads (``TrytonRpc`` is).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erp_acl import documents
from erp_acl import identifiers as ids
from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    ChangeCreditLimit,
    ChangePrice,
    Command,
    CreatePurchaseOrder,
    PostJournalEntry,
    parse_command,
)
from erp_acl.domain import (
    AccountBalance,
    AccountKind,
    Budget,
    Customer,
    GLAccount,
    JournalEntry,
    JournalLine,
    LandedDocument,
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
from erp_acl.errors import ErpError, NotFound, Unsupported, ValidationFailed
from erp_acl.events import BusinessEvent, check_limit, checked_ids, unknown_events, utc
from erp_acl.landing import landed_journal_entry, landed_purchase_order
from erp_acl.rules import check_versions, line_total, problems_of
from erp_acl.seed_data import OPEN_EXPOSURE
from erp_acl.text_match import rank, search_text
from erp_acl.tryton.conventions import (
    COST_CENTER_MARK,
    CUSTOMER_CATEGORY,
    GENERAL_JOURNAL_CODE,
    REFERENCE_PREFIX,
    SUPPLIER_CATEGORY,
    WAREHOUSE_CODES,
    reference_of,
    state_of,
)
from erp_acl.tryton.ledger import Claim, TrytonLedger
from erp_acl.tryton.rpc import TrytonRpc, one_line
from erp_acl.versions import MISSING, stamp, versions_of

__all__ = ["REFERENCE_PREFIX", "TrytonErp", "Unsupported"]

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
CANCELLABLE = ("draft", "quotation")
"""The states Tryton cancels a sale or a purchase from."""
_ACCOUNT_ROOTS = {
    "1": AccountKind.ASSET,
    "2": AccountKind.LIABILITY,
    "3": AccountKind.EQUITY,
    "4": AccountKind.REVENUE,
    "5": AccountKind.EXPENSE,
}

_PARTY_FIELDS = [
    "code",
    "name",
    "active",
    "email",
    "tax_identifier.code",
    "identifiers.code",
    "addresses.city",
    "addresses.party_name",
    "addresses.subdivision.code",
]
_PRODUCT_FIELDS = [
    "code",
    "name",
    "active",
    "purchasable",
    "description",
    "cost_price",
    "template",
    "template.list_price",
    "default_uom.symbol",
]
_ORDER_FIELDS = ["number", "reference", "state", "party.code", "description", "comment", "create_date"]
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
_MOVE_FIELDS = ["number", "date", "description", "state", "lines"]
_INACTIVE_TOO = {"active_test": False}


def _text(value: Any) -> str:
    return "" if value is None or value is False else str(value)


def _nested(row: dict[str, Any], field: str) -> dict[str, Any]:
    """A related record read through a dotted field (``"party.code"`` comes back as ``row["party."]``)."""
    value = row.get(f"{field}.")
    return value if isinstance(value, dict) else {}


def _decimal(value: Any) -> Decimal:
    return Decimal("0") if value is None or value is False else Decimal(str(value))


def _tax_id(row: dict[str, Any]) -> str:
    """The party's tax identifier; else its first identifier (Tryton leaves ids whose check
    digits it rejects untyped, so they are no ``tax_identifier``)."""
    typed = _text(_nested(row, "tax_identifier").get("code"))
    if typed:
        return typed
    others = row.get("identifiers.") or []
    return _text(others[0].get("code")) if others and isinstance(others[0], dict) else ""


def _party_fields(row: dict[str, Any], memos: dict[int, str]) -> dict[str, Any]:
    """What a customer and a supplier both take from a party and its first address."""
    address = _first_address(row)
    return {
        "code": _text(row["code"]),
        "name": _text(row["name"]),
        "short_name": _text(address.get("party_name")) or _text(row["name"]),
        "tax_id": _tax_id(row),
        "city": _text(address.get("city")),
        "state": state_of(_text(_nested(address, "subdivision").get("code"))),
        "blocked": not row["active"],
        "memo": memos.get(int(row["id"]), ""),
    }


def _first_address(row: dict[str, Any]) -> dict[str, Any]:
    addresses = row.get("addresses.") or [{}]
    return addresses[0] if isinstance(addresses[0], dict) else {}


def _cost_center(comment: Any) -> str:
    for line in _text(comment).splitlines():
        if line.startswith(COST_CENTER_MARK):
            return line[len(COST_CENTER_MARK) :].strip()
    return ""


def _key_in(description: str) -> str:
    """The idempotency key a journal entry's description ends with (``... [countersign:<key>]``)."""
    marker = f"[{REFERENCE_PREFIX}"
    if description.endswith("]") and marker in description:
        return description[description.rindex(marker) + len(marker) : -1]
    return ""


def _described(description: str, key: str) -> str:
    return f"{description.strip()} [{reference_of(key)}]"


class TrytonErp:
    """ErpReader + ErpWriter + ErpEvents over one Tryton database, through ``rpc``.

    ``today`` is the clock of new documents (tests pin it); ``confirm_timeout`` how long
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
        self._ledger = TrytonLedger(rpc)

    @property
    def rpc(self) -> TrytonRpc:
        return self._rpc

    def close(self) -> None:
        self._rpc.logout()

    # ---- parties ----------------------------------------------------------------------------------

    def _parties(self, category: str, domain: Sequence[Any] = ()) -> list[dict[str, Any]]:
        fields = [*_PARTY_FIELDS, "credit_limit_amount"] if category == CUSTOMER_CATEGORY else _PARTY_FIELDS
        return self._rpc.search_read(
            "party.party",
            [("categories.name", "=", category), *domain],
            fields,
            order=[("code", "ASC")],
            context=_INACTIVE_TOO,
        )

    def _notes(self, model: str, record_ids: Sequence[int]) -> dict[int, str]:
        """The notes (``ir.note``) on records, joined per record: where Tryton keeps a memo."""
        if not record_ids:
            return {}
        rows = self._rpc.search_read(
            "ir.note",
            [("resource", "in", [f"{model},{i}" for i in record_ids])],
            ["resource", "message"],
            order=[("id", "ASC")],
        )
        notes: dict[int, list[str]] = {}
        for row in rows:
            record = int(_text(row["resource"]).rpartition(",")[2])
            notes.setdefault(record, []).append(_text(row["message"]))
        return {record: "\n".join(texts) for record, texts in notes.items()}

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

    def _customers(self, rows: list[dict[str, Any]]) -> list[Customer]:
        party_ids = [int(r["id"]) for r in rows]
        totals, memos = self._open_totals(party_ids), self._notes("party.party", party_ids)
        return [
            stamp(
                Customer(
                    **_party_fields(row, memos),
                    credit_limit=money(_decimal(row.get("credit_limit_amount"))),
                    open_orders_total=totals[int(row["id"])],
                )
            )
            for row in rows
        ]

    def _suppliers(self, rows: list[dict[str, Any]]) -> list[Supplier]:
        memos = self._notes("party.party", [int(r["id"]) for r in rows])
        return [stamp(Supplier(**_party_fields(row, memos), email=_text(row.get("email")))) for row in rows]

    def _ranked(self, query: str, rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        return rank(
            query,
            rows,
            code=lambda r: _text(r["code"]),
            text=lambda r: search_text(
                _text(r["name"]),
                _text(_first_address(r).get("party_name")),
                _tax_id(r),
            ),
            limit=limit,
        )

    def search_customers(self, query: str, limit: int = 10) -> list[Customer]:
        return self._customers(self._ranked(query, self._parties(CUSTOMER_CATEGORY), limit))

    def _customer_row(self, code: str) -> dict[str, Any]:
        wanted = ids.customer_code(code)
        rows = self._parties(CUSTOMER_CATEGORY, [("code", "=", wanted)])
        if not rows:
            raise ids.not_found("customer", wanted)
        return rows[0]

    def get_customer(self, code: str) -> Customer:
        return self._customers([self._customer_row(code)])[0]

    def search_suppliers(self, query: str, limit: int = 10) -> list[Supplier]:
        return self._suppliers(self._ranked(query, self._parties(SUPPLIER_CATEGORY), limit))

    def _supplier_row(self, code: str) -> dict[str, Any]:
        wanted = ids.supplier_code(code)
        rows = self._parties(SUPPLIER_CATEGORY, [("code", "=", wanted)])
        if not rows:
            raise ids.not_found("supplier", wanted)
        return rows[0]

    def get_supplier(self, code: str) -> Supplier:
        return self._suppliers([self._supplier_row(code)])[0]

    # ---- products and stock ----------------------------------------------------------------------

    def _product_rows(self, domain: Sequence[Any]) -> list[dict[str, Any]]:
        return self._rpc.search_read(
            "product.product", list(domain), _PRODUCT_FIELDS, order=[("code", "ASC")], context=_INACTIVE_TOO
        )

    def _reorder_points(self, product_ids: Sequence[int]) -> dict[int, Decimal]:
        points: dict[int, Decimal] = {i: Decimal("0") for i in product_ids}
        if product_ids:
            rows = self._rpc.search_read(
                "stock.order_point",
                [("product", "in", list(product_ids)), ("type", "=", "purchase")],
                ["product", "min_quantity"],
            )
            for row in rows:
                points[int(row["product"])] += _decimal(row["min_quantity"])
        return points

    def _products(self, rows: list[dict[str, Any]]) -> list[Product]:
        points = self._reorder_points([int(r["id"]) for r in rows])
        return [
            stamp(
                Product(
                    code=_text(row["code"]),
                    description=_text(row["name"]),
                    unit=_text(_nested(row, "default_uom").get("symbol")).upper(),
                    list_price=money(_decimal(_nested(row, "template").get("list_price"))),
                    standard_cost=money(_decimal(row.get("cost_price"))),
                    reorder_point=ids.quantity(points[int(row["id"])]),
                    blocked=not row["active"] or not row.get("purchasable", True),
                    memo=_text(row.get("description")),
                )
            )
            for row in rows
        ]

    def _product_row(self, code: str) -> dict[str, Any]:
        wanted = ids.product_code(code)
        rows = self._product_rows([("code", "=", wanted)])
        if not rows:
            raise ids.not_found("product", wanted)
        return rows[0]

    def search_products(self, query: str, limit: int = 10) -> list[Product]:
        found = rank(
            query,
            self._product_rows([]),
            code=lambda r: _text(r["code"]),
            text=lambda r: search_text(_text(r["name"])),
            limit=limit,
        )
        return self._products(found)

    def get_product(self, code: str) -> Product:
        return self._products([self._product_row(code)])[0]

    def _warehouse_ids(self) -> dict[Warehouse, int]:
        if self._warehouses is None:
            rows = self._rpc.search_read(
                "stock.location", [("type", "=", "warehouse")], ["code"], context=_INACTIVE_TOO
            )
            by_code = {_text(r["code"]): int(r["id"]) for r in rows}
            self._warehouses = {
                warehouse: by_code[code] for warehouse, code in WAREHOUSE_CODES.items() if code in by_code
            }
        return self._warehouses

    def stock_report(self, product_code: str) -> StockReport:
        row = self._product_row(product_code)
        [product] = self._products([row])
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
        """A number as people type it (``12``) and as the sequence wrote it (``000012``)."""
        wanted = ids.order_number(number)
        return sorted({wanted, number.strip(), wanted.lstrip("0") or "0"})

    @staticmethod
    def _issued(row: dict[str, Any], field: str) -> date:
        issued = row.get(field) or row["create_date"]
        return issued.date() if isinstance(issued, datetime) else issued

    def _purchase_order(self, row: dict[str, Any]) -> PurchaseOrder:
        lines = self._order_lines(row)
        return stamp(
            PurchaseOrder(
                number=_text(row["number"]),
                supplier_code=_text(_nested(row, "party").get("code")),
                issued_on=self._issued(row, "purchase_date"),
                cost_center=_cost_center(row.get("comment")),
                status=PURCHASE_STATUS.get(_text(row["state"]), PurchaseOrderStatus.OPEN),
                lines=lines,
                total=money(sum((line.total.amount for line in lines), Decimal("0"))),
                memo=_text(row.get("description")),
                reference=_text(row.get("reference")).removeprefix(REFERENCE_PREFIX),
            )
        )

    def list_purchase_orders(
        self, supplier_code: str | None = None, status: PurchaseOrderStatus | None = None, limit: int = 20
    ) -> list[PurchaseOrder]:
        party = None if supplier_code is None else ids.supplier_code(supplier_code)
        domain = _order_domain(party, PURCHASE_STATUS, status)
        rows = self._orders("purchase.purchase", domain, limit, ["purchase_date"], _NEWEST_PURCHASES)
        return [self._purchase_order(r) for r in rows] if limit > 0 else []

    def _purchase_row(self, number: str) -> dict[str, Any]:
        rows = self._orders(
            "purchase.purchase", [("number", "in", self._numbers(number))], 1, ["purchase_date"]
        )
        if not rows:
            raise ids.not_found("purchase_order", ids.order_number(number))
        return rows[0]

    def get_purchase_order(self, number: str) -> PurchaseOrder:
        return self._purchase_order(self._purchase_row(number))

    def _sales_order(self, row: dict[str, Any]) -> SalesOrder:
        lines = self._order_lines(row)
        return stamp(
            SalesOrder(
                number=_text(row["number"]),
                customer_code=_text(_nested(row, "party").get("code")),
                issued_on=self._issued(row, "sale_date"),
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
        rows = self._orders("sale.sale", domain, limit, ["sale_date"], _NEWEST_SALES) if limit > 0 else []
        return [self._sales_order(r) for r in rows]

    def _sale_row(self, number: str) -> dict[str, Any]:
        rows = self._orders("sale.sale", [("number", "in", self._numbers(number))], 1, ["sale_date"])
        if not rows:
            raise ids.not_found("sales_order", ids.order_number(number))
        return rows[0]

    def get_sales_order(self, number: str) -> SalesOrder:
        return self._sales_order(self._sale_row(number))

    # ---- what Tryton has no home for ---------------------------------------------------------------

    def list_supplier_invoices(
        self, supplier_code: str | None = None, purchase_order_number: str | None = None, limit: int = 20
    ) -> list[SupplierInvoice]:
        raise Unsupported("the Tryton ERP adapter does not read supplier invoices")

    def get_supplier_invoice(self, number: str) -> SupplierInvoice:
        raise Unsupported(
            f"the Tryton ERP adapter does not read supplier invoices (asked for {one_line(number, 40)})"
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
        rows = self._rpc.search_read(
            "account.account", [("code", "!=", None)], _ACCOUNT_FIELDS, order=[("code", "ASC")]
        )
        found = rank(
            query,
            rows,
            code=lambda r: _text(r["code"]),
            text=lambda r: search_text(_text(r["name"])),
            limit=limit,
        )
        return [self._account(r) for r in found]

    def _account_rows(self, code: str, fields: Sequence[str] = (), day: date | None = None) -> dict[str, Any]:
        wanted = ids.account_code(code)
        context: dict[str, Any] = {"posted": True}
        if day is not None:
            context["date"] = day
        rows = self._rpc.search_read(
            "account.account",
            [("code", "in", sorted({wanted, code.strip()}))],
            [*_ACCOUNT_FIELDS, *fields],
            limit=1,
            context=context,
        )
        if not rows:
            raise ids.not_found("account", wanted)
        return rows[0]

    def account_balance(self, code: str, as_of: date | None = None) -> AccountBalance:
        day = as_of or self._today()
        row = self._account_rows(code, ["debit", "credit"], day)
        debits, credits = _decimal(row["debit"]), _decimal(row["credit"])
        if row.get("type") is None:
            # Tryton's debit and credit count an account's own lines only; a summary account
            # (no type) has none, so add up the accounts under it.
            children = self._rpc.search_read(
                "account.account",
                [("parent", "child_of", [row["id"]]), ("type", "!=", None)],
                ["debit", "credit"],
                context={"posted": True, "date": day},
            )
            debits = sum((_decimal(c["debit"]) for c in children), Decimal("0"))
            credits = sum((_decimal(c["credit"]) for c in children), Decimal("0"))
        return AccountBalance(
            account=self._account(row),
            as_of=day,
            debits=money(debits),
            credits=money(credits),
            balance=money(debits - credits),
        )

    def _get_account(self, code: str) -> GLAccount:
        return self._account(self._account_rows(code))

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
        problems = problems_of(command, self, self._today()) + self._tryton_problems(command)
        if problems:
            raise ValidationFailed(problems)

    def _tryton_problems(self, command: Command) -> list[str]:
        """What Tryton's own workflow would refuse, said before anything is claimed."""
        if isinstance(command, CancelSalesOrder | CancelPurchaseOrder):
            try:
                if isinstance(command, CancelSalesOrder):
                    row, what = self._sale_row(command.order_number), "sales order"
                else:
                    row, what = self._purchase_row(command.order_number), "purchase order"
            except NotFound:
                return []  # already said by the domain rules
            if row["state"] in ("confirmed", "processing"):
                return [
                    f"Tryton cannot cancel {what} {row['number']} once it is {row['state']}; "
                    "cancel its shipments in Tryton instead"
                ]
        if isinstance(command, CreatePurchaseOrder):
            try:
                supplier = self._supplier_row(command.supplier_code)
            except NotFound:
                return []
            if not supplier.get("addresses."):
                return [f"supplier {supplier['code']} has no address in Tryton to invoice"]
        return []

    # ---- writes ---------------------------------------------------------------------------------

    def apply(self, command: Command, idempotency_key: str, fingerprint: str) -> Receipt:
        documents.check_key(idempotency_key)
        claims = self._ledger.find(idempotency_key)
        if claims:
            return self._resume(claims[0], command, fingerprint)
        check_versions(command, self)
        self.check(command)
        resource, receipt = self._plan(command, idempotency_key, fingerprint)
        claim, ours = self._ledger.claim(
            idempotency_key, fingerprint, command.action, command.model_dump(mode="json"), resource, receipt
        )
        if not ours:
            return self._await(claim, command, fingerprint)
        return self._complete(claim, command, replayed=False)

    def _await(self, claim: Claim, command: Command, fingerprint: str) -> Receipt:
        """A racing attempt claimed the key first: wait for it to land, then answer as a replay
        (finishing its work only if it does not land in time, e.g. because it died)."""
        if claim.fingerprint != fingerprint:
            raise documents.conflict(claim.key)
        deadline = time.monotonic() + self._confirm_timeout
        while not claim.done and time.monotonic() < deadline:
            time.sleep(_POLL_INTERVAL)
            claim = self._ledger.find(claim.key)[0]
        return self._resume(claim, command, fingerprint)

    def _resume(self, claim: Claim, command: Command, fingerprint: str) -> Receipt:
        """The answer for a key already claimed: its receipt, once what it claimed has landed."""
        if claim.fingerprint != fingerprint:
            raise documents.conflict(claim.key)
        if claim.done:
            return claim.stored_receipt(replayed=True)
        return self._complete(claim, command, replayed=True)

    def _plan(self, command: Command, key: str, fingerprint: str) -> tuple[str, Receipt | None]:
        """The record a write changes (where its claim is kept) and, for a change in place, the
        receipt decided now, from the record as it is before the change."""
        if isinstance(command, CreatePurchaseOrder):
            return f"party.party,{self._supplier_row(command.supplier_code)['id']}", None
        if isinstance(command, PostJournalEntry):
            return f"account.journal,{self._journal()}", None
        if isinstance(command, ChangeCreditLimit):
            row = self._customer_row(command.customer_code)
            [customer] = self._customers([row])
            summary = documents.credit_limit_summary(customer, command)
            target = (f"party.party,{row['id']}", documents.CUSTOMER, customer.code)
        elif isinstance(command, ChangePrice):
            row = self._product_row(command.product_code)
            [product] = self._products([row])
            summary = documents.price_summary(product, command)
            target = (f"product.template,{row['template']}", documents.PRODUCT, product.code)
        elif isinstance(command, CancelSalesOrder):
            row = self._sale_row(command.order_number)
            summary = documents.cancellation_summary(self._sales_order(row), command)
            target = (f"sale.sale,{row['id']}", documents.SALES_ORDER, _text(row["number"]))
        else:
            row = self._purchase_row(command.order_number)
            summary = documents.purchase_cancellation_summary(self._purchase_order(row), command)
            target = (f"purchase.purchase,{row['id']}", documents.PURCHASE_ORDER, _text(row["number"]))
        resource, document_type, document_id = target
        return resource, documents.receipt(
            command.action, document_type, document_id, summary, key, fingerprint
        )

    def _complete(self, claim: Claim, command: Command, *, replayed: bool) -> Receipt:
        """Finish the claimed write (whatever part a cut-off attempt left undone), close the claim."""
        if replayed and not self._started(claim, command):
            self._recheck(claim, command)
        if isinstance(command, CreatePurchaseOrder):
            purchase = self._landed_purchase(claim, command)
            self._confirm(purchase)
            receipt = self._purchase_receipt(purchase, claim)
            self._ledger.close(claim, receipt, f"purchase.purchase,{purchase}")
        elif isinstance(command, PostJournalEntry):
            move = self._landed_move(claim, command)
            receipt = self._move_receipt(move, claim, command)
            self._ledger.close(claim, receipt, f"account.move,{move}")
        else:
            self._change_in_place(claim, command)
            receipt = claim.stored_receipt(replayed=False).model_copy(
                update={"committed_at": documents.now()}
            )
            self._ledger.close(claim, receipt)
        return receipt.model_copy(update={"replayed": replayed})

    def _recheck(self, claim: Claim, command: Command) -> None:
        """Before writing for a claim an earlier attempt left pending, check again: the world may
        have moved since. A refusal withdraws the claim (nothing was written)."""
        try:
            check_versions(command, self)
            self.check(command)
        except ErpError:
            self._ledger.withdraw(claim)
            raise

    # -- purchase orders

    def _keyed_purchases(self, key: str) -> list[int]:
        return self._rpc.search(
            "purchase.purchase", [("reference", "=", reference_of(key))], order=[("id", "ASC")]
        )

    def _landed_purchase(self, claim: Claim, command: CreatePurchaseOrder) -> int:
        """The purchase carrying the claim's key, created now if no attempt made it yet."""
        found = self._keyed_purchases(claim.key)
        if found:
            return found[0]
        created = self._create_purchase(command, claim.key)
        # No unique constraint on the reference: if a racing attempt created one first, this one
        # withdraws and the first stands.
        first = self._keyed_purchases(claim.key)[0]
        if first != created:
            self._withdraw_purchase(created)
        return first

    def _create_purchase(self, command: CreatePurchaseOrder, key: str) -> int:
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
                    "comment": COST_CENTER_MARK + ids.cost_center_code(command.cost_center),
                    "lines": [("create", lines)],
                }
            ],
        )
        return created

    def _withdraw_purchase(self, purchase: int) -> None:
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
            if self._state("purchase.purchase", purchase) != from_state:
                continue
            try:
                self._rpc.button("purchase.purchase", button, [purchase])
            except ValidationFailed:
                # A concurrent retry of the same key may have pressed it first: fine if it moved on.
                if self._state("purchase.purchase", purchase) == from_state:
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

    def _state(self, model: str, record: int) -> str:
        [row] = self._rpc.read(model, [record], ["state"])
        return _text(row["state"])

    def _purchase_receipt(self, purchase: int, claim: Claim) -> Receipt:
        rows = self._orders("purchase.purchase", [("id", "=", purchase)], 1, ["purchase_date"])
        if not rows:
            raise ErpError(f"the Tryton purchase {purchase} vanished while it was being written")
        order = self._purchase_order(rows[0])
        plan = documents.PurchaseOrderPlan(
            supplier=self.get_supplier(order.supplier_code),
            cost_center=order.cost_center,
            issued_on=order.issued_on,
            lines=order.lines,
            total=order.total,
            memo=order.memo,
        )
        return documents.receipt(
            claim.action,
            documents.PURCHASE_ORDER,
            order.number,
            documents.purchase_order_summary(order.number, plan),
            claim.key,
            claim.fingerprint,
        )

    # -- journal entries

    def _journal(self) -> int:
        found = self._rpc.search("account.journal", [("code", "=", GENERAL_JOURNAL_CODE)], limit=1)
        if not found:
            raise ErpError(f"the Tryton ERP has no journal {GENERAL_JOURNAL_CODE} to post journal entries in")
        return found[0]

    def _keyed_moves(self, key: str) -> list[int]:
        return self._rpc.search(
            "account.move", [("description", "like", f"%[{reference_of(key)}]")], order=[("id", "ASC")]
        )

    def _landed_move(self, claim: Claim, command: PostJournalEntry) -> int:
        """The posted move carrying the claim's key, created and posted now if needed."""
        found = self._keyed_moves(claim.key)
        if not found:
            created = self._create_move(command, claim.key)
            found = self._keyed_moves(claim.key)
            if found[0] != created:  # a racing attempt's draft came first
                self._rpc.execute("account.move", "delete", [created])
        move = found[0]
        if self._state("account.move", move) == "draft":
            try:
                self._rpc.button("account.move", "post", [move])
            except ValidationFailed:
                if self._state("account.move", move) == "draft":
                    raise
        return move

    def _create_move(self, command: PostJournalEntry, key: str) -> int:
        day = command.entry_date
        periods = self._rpc.search(
            "account.period",
            [("start_date", "<=", day), ("end_date", ">=", day), ("type", "=", "standard")],
            limit=1,
        )
        if not periods:
            raise ValidationFailed([f"Tryton has no open accounting period for {day.isoformat()}"])
        lines = []
        for line in documents.journal_lines(command):
            account = self._account_rows(line.account_code)
            lines.append({"account": account["id"], "debit": line.debit.amount, "credit": line.credit.amount})
        [created] = self._rpc.create(
            "account.move",
            [
                {
                    "journal": self._journal(),
                    "period": periods[0],
                    "date": day,
                    "description": _described(command.description, key),
                    "lines": [("create", lines)],
                }
            ],
        )
        return created

    def _moves(self, domain: Sequence[Any]) -> list[JournalEntry]:
        rows = self._rpc.search_read("account.move", list(domain), _MOVE_FIELDS, order=[("id", "ASC")])
        line_ids = [line for row in rows for line in row["lines"]]
        lines = {
            int(r["id"]): r
            for r in (
                self._rpc.read("account.move.line", line_ids, ["account.code", "debit", "credit"])
                if line_ids
                else []
            )
        }
        entries = []
        for row in rows:
            description = _text(row["description"])
            key = _key_in(description)
            entries.append(
                JournalEntry(
                    number=_text(row["number"]),
                    entry_date=row["date"],
                    description=description.removesuffix(f" [{reference_of(key)}]") if key else description,
                    lines=[
                        JournalLine(
                            account_code=_text(_nested(lines[i], "account").get("code")),
                            debit=money(_decimal(lines[i]["debit"])),
                            credit=money(_decimal(lines[i]["credit"])),
                        )
                        for i in sorted(row["lines"])  # as entered: Tryton lists them otherwise
                        if i in lines
                    ],
                    reference=key,
                )
            )
        return entries

    def _move_receipt(self, move: int, claim: Claim, command: PostJournalEntry) -> Receipt:
        [entry] = self._moves([("id", "=", move)])
        return documents.receipt(
            claim.action,
            documents.JOURNAL_ENTRY,
            entry.number,
            documents.journal_entry_summary(entry.number, command),
            claim.key,
            claim.fingerprint,
        )

    # -- changes in place: credit limits, prices, cancellations

    def _change_in_place(self, claim: Claim, command: Command) -> None:
        """Set the record to what the command asks (setting a value twice is harmless, so a retry
        after a lost answer simply sets it again)."""
        model, _, record = claim.resource.rpartition(",")
        target = int(record)
        if isinstance(command, ChangeCreditLimit):
            self._rpc.write(model, [target], {"credit_limit_amount": money(command.new_limit).amount})
        elif isinstance(command, ChangePrice):
            self._rpc.write(model, [target], {"list_price": money(command.new_price).amount})
        elif isinstance(command, CancelSalesOrder | CancelPurchaseOrder):
            state = self._state(model, target)
            if state != "cancelled":
                if state not in CANCELLABLE:
                    self._ledger.withdraw(claim)
                    raise ValidationFailed([f"Tryton cannot cancel it once it is {state}"])
                self._rpc.button(model, "cancel", [target])
                reason = command.reason.strip()
                self._rpc.create("ir.note", [{"resource": claim.resource, "message": f"Cancelled: {reason}"}])

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        """The receipt of a landed write; None while nothing (or only a pending claim whose
        write has not landed) exists under the key. A pending claim whose write did land (its
        attempt cut off before closing it) is closed now."""
        claims = self._ledger.find(idempotency_key)
        if not claims:
            return None
        claim = claims[0]
        if claim.done:
            return claim.stored_receipt(replayed=True)
        command = parse_command(claim.command)
        if not self._landed(claim, command):
            return None
        return self._complete(claim, command, replayed=True)

    def _started(self, claim: Claim, command: Command) -> bool:
        """Whether an earlier attempt on a pending claim wrote anything yet."""
        if isinstance(command, CreatePurchaseOrder):
            return bool(self._keyed_purchases(claim.key))
        if isinstance(command, PostJournalEntry):
            return bool(self._keyed_moves(claim.key))
        return self._landed(claim, command)

    def _landed(self, claim: Claim, command: Command) -> bool:
        """Whether a pending claim's write is in Tryton (a purchase at least confirmed)."""
        if isinstance(command, CreatePurchaseOrder):
            found = self._keyed_purchases(claim.key)
            return bool(found) and self._state("purchase.purchase", found[0]) not in ("draft", "quotation")
        if isinstance(command, PostJournalEntry):
            found = self._keyed_moves(claim.key)
            return bool(found) and self._state("account.move", found[0]) == "posted"
        model, _, record = claim.resource.rpartition(",")
        if isinstance(command, ChangeCreditLimit):
            [row] = self._rpc.read(model, [int(record)], ["credit_limit_amount"])
            return _decimal(row["credit_limit_amount"]) == money(command.new_limit).amount
        if isinstance(command, ChangePrice):
            [row] = self._rpc.read(model, [int(record)], ["list_price"])
            return _decimal(row["list_price"]) == money(command.new_price).amount
        return self._state(model, int(record)) == "cancelled"

    def ledger(self) -> Iterator[Receipt]:
        for claim in self._ledger.closed():
            yield claim.stored_receipt(replayed=False)

    def ledger_entries(self) -> Iterator[LedgerEntry]:
        for claim in self._ledger.closed():
            yield claim.entry()

    def landed_documents(self) -> Iterator[LandedDocument]:
        rows = self._orders(
            "purchase.purchase",
            [("reference", "like", f"{REFERENCE_PREFIX}%")],
            None,
            ["purchase_date"],
            order=(("id", "ASC"),),
        )
        orders = sorted((self._purchase_order(r) for r in rows), key=lambda o: (len(o.number), o.number))
        for order in orders:
            yield landed_purchase_order(order)
        entries = self._moves([("description", "like", f"%[{REFERENCE_PREFIX}%]"), ("state", "=", "posted")])
        for entry in sorted(entries, key=lambda e: (len(e.number), e.number)):
            yield landed_journal_entry(entry)

    # ---- events: none are detected in Tryton ------------------------------------------------------

    def scan_events(self, now: datetime) -> list[BusinessEvent]:
        """No condition is watched in Tryton (no alerts model): nothing ever starts."""
        utc(now)  # the same refusal of a time without a zone as every adapter
        return []

    def unpublished_events(self, limit: int = 100) -> list[BusinessEvent]:
        check_limit(limit)
        return []

    def mark_events_published(self, event_ids: Sequence[str]) -> None:
        wanted = checked_ids(event_ids)
        if wanted:
            raise unknown_events(wanted)


_NEWEST_PURCHASES: tuple[tuple[str, str], ...] = (("purchase_date", "DESC"), ("number", "DESC"))
_NEWEST_SALES: tuple[tuple[str, str], ...] = (("sale_date", "DESC"), ("number", "DESC"))


def _order_domain(party_code: str | None, states: Mapping[str, Any], status: Any | None) -> list[Any]:
    """A Tryton search domain for orders of one party and in the Tryton states of one status."""
    domain: list[Any] = []
    if party_code is not None:
        domain.append(("party.code", "=", party_code))
    if status is not None:
        domain.append(("state", "in", [state for state, ours in states.items() if ours is status]))
    return domain
