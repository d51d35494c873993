"""Translation between legacy rows and domain objects, both ways.

Besides ``schema`` and ``seed``, this is the only module that knows how the 2011 system stores
things: blank-padded codes, ``'YYYYMMDD'`` dates, credit limits in integer cents and prices as
text, quantities as floats, one-letter statuses, ``'1'``/``'2'`` flags, account codes without dots,
tax ids without punctuation, and journal rows that may carry a debit and a credit at once.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, Numeric, String, Table, cast, func

from erp_acl import identifiers as ids
from erp_acl.domain import (
    AccountKind,
    Budget,
    Customer,
    GLAccount,
    JournalEntry,
    JournalLine,
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
    StockLevel,
    Supplier,
    SupplierInvoice,
    SupplierInvoiceLine,
    Warehouse,
    money,
)
from erp_acl.events import BusinessEvent, EventKind, Started
from erp_acl.landing import POSTED
from erp_acl.legacy.schema import (
    BRANCH,
    CT1,
    CT2,
    CTT,
    LIVE,
    SA1,
    SA2,
    SB1,
    SB2,
    SC5,
    SC6,
    SC7,
    SD1,
    SF1,
    ZB1,
    ZEV,
    alias,
)

Row = Mapping[Any, Any]

STORE = "01"
"""Every customer and supplier has one store (loja) in this installation."""

COUNTERSIGN_BATCH = "009000"
"""Journal batch (lote) of the entries Countersign posts; people's entries use other batches."""

SALES_STATUS: dict[str, SalesOrderStatus] = {
    "A": SalesOrderStatus.OPEN,
    "B": SalesOrderStatus.CREDIT_HOLD,
    "F": SalesOrderStatus.INVOICED,
    "C": SalesOrderStatus.CANCELLED,
}
SALES_STATUS_CODE = {status: code for code, status in SALES_STATUS.items()}

PURCHASE_STATUS: dict[str, PurchaseOrderStatus] = {
    "A": PurchaseOrderStatus.OPEN,
    "E": PurchaseOrderStatus.RECEIVED,
    "C": PurchaseOrderStatus.CANCELLED,
}
PURCHASE_STATUS_CODE = {status: code for code, status in PURCHASE_STATUS.items()}

WAREHOUSES: dict[str, Warehouse] = {"01": Warehouse.MAIN, "02": Warehouse.SECONDARY}
WAREHOUSE_CODE = {warehouse: code for code, warehouse in WAREHOUSES.items()}

ACCOUNT_KINDS: dict[str, AccountKind] = {
    "1": AccountKind.ASSET,
    "2": AccountKind.LIABILITY,
    "3": AccountKind.EQUITY,
    "4": AccountKind.REVENUE,
    "5": AccountKind.EXPENSE,
}

# Alert types (ZEV_TIPO): three letters, as the ERP's own alert screens show them.
EVENT_KINDS: dict[str, EventKind] = {
    "EST": "stock_below_reorder_point",
    "CRD": "sales_order_over_credit_limit",
    "NFE": "supplier_invoice_mismatch",
}
EVENT_KIND_CODE: dict[str, str] = {kind: code for code, kind in EVENT_KINDS.items()}
ALERT_ACTIVE, ALERT_CLEARED = "A", "F"

# Journal row types (CT2_DC).
DEBIT, CREDIT, BOTH = "1", "2", "3"

_CNPJ = re.compile(r"(\d{2})\.?(\d{3})\.?(\d{3})/?(\d{4})-?(\d{2})")
_CPF = re.compile(r"(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})")


# ---- scalar values ------------------------------------------------------------------------------


def width(column: Column[Any]) -> int:
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise ValueError(f"{column.name} has no fixed width")
    return length


def pad(value: str, size: int) -> str:
    """A value as a CHAR(size) column holds it: blank-padded; refuses to cut anything off."""
    if len(value) > size:
        raise ValueError(f"{value!r} is longer than {size} characters")
    return value.ljust(size)


def key(column: Column[Any], value: str) -> str:
    """A code as it is stored in ``column``, for lookups (a too-long code simply matches nothing)."""
    return value.ljust(width(column))


def matches(column: Column[Any], code: str) -> ColumnElement[bool]:
    """``column = code`` with the code blank-padded the way the column stores it."""
    return column == key(column, code)


def equals(column: Column[Any], value: str) -> ColumnElement[bool]:
    """``column = value`` for columns that are not blank-padded (Countersign's own ledger)."""
    return column == value


def text(value: object) -> str:
    """A stored character value without its blank padding (NULL reads as empty)."""
    return "" if value is None else str(value).rstrip()


def to_legacy_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def from_legacy_date(value: str) -> date:
    raw = text(value)
    return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))


def to_cents(amount: Money | Decimal) -> int:
    value = amount.amount if isinstance(amount, Money) else amount
    return int(value.quantize(Decimal("0.01")) * 100)


def from_cents(cents: int | None) -> Money:
    return money(Decimal(cents or 0) / 100)


def to_amount_text(amount: Money | Decimal) -> str:
    value = amount.amount if isinstance(amount, Money) else amount
    return f"{value.quantize(Decimal('0.01')):f}"


def from_amount_text(value: str | None) -> Money:
    raw = text(value).replace(",", ".")
    return money(raw or "0")


def amount_value(column: Column[Any]) -> ColumnElement[float]:
    """SQL for the number a text amount column holds, read as ``from_amount_text`` reads it
    ('1,40' is 1.40, blank is 0). Set-based queries compare and add amounts with it."""
    cleaned = func.coalesce(func.nullif(func.trim(func.replace(column, ",", ".")), ""), "0")
    return cast(cleaned, Numeric(18, 2, asdecimal=False))


def from_sql_amount(value: float | Decimal | None) -> Decimal:
    """An amount the database computed (a sum, a cast), to cents."""
    return money(Decimal(repr(value) if isinstance(value, float) else str(value or 0))).amount


def to_quantity(value: Decimal) -> float:
    return float(value)


def from_quantity(value: float | None) -> Decimal:
    # repr of a float is the shortest string that round-trips, so 12.5 stays 12.5, not 12.4999...
    return ids.quantity(repr(float(value or 0.0)))


def to_flag(on: bool) -> str:
    return "1" if on else "2"


def from_flag(value: str | None) -> bool:
    return text(value) == "1"


def to_legacy_account(code: str) -> str:
    """``1.1.01.001`` -> ``1101001``."""
    return ids.compact_account(ids.account_code(code))


@functools.lru_cache(maxsize=4096)  # a chart of accounts is small and every entry names two
def from_legacy_account(value: str) -> str:
    """``1101001`` -> ``1.1.01.001``."""
    return ids.dotted_account(text(value))


def to_legacy_tax_id(tax_id: str) -> str:
    """Brazilian tax ids are stored as bare digits; foreign VAT numbers as written."""
    cleaned = tax_id.strip()
    if _CNPJ.fullmatch(cleaned) or _CPF.fullmatch(cleaned):
        return re.sub(r"\D", "", cleaned)
    return cleaned.upper()


def from_legacy_tax_id(value: str) -> str:
    raw = text(value)
    if raw.isdigit() and len(raw) == 14:
        return f"{raw[:2]}.{raw[2:5]}.{raw[5:8]}/{raw[8:12]}-{raw[12:]}"
    if raw.isdigit() and len(raw) == 11:
        return f"{raw[:3]}.{raw[3:6]}.{raw[6:9]}-{raw[9:]}"
    return raw


# ---- rows ---------------------------------------------------------------------------------------


def row(table: Table, **values: Any) -> dict[str, Any]:
    """A complete row for ``table``: branch and deletion flag filled in, character fields padded."""
    prefix = alias(table)
    result: dict[str, Any] = {f"{prefix}_FILIAL": BRANCH, "D_E_L_E_T_": LIVE}
    result.update(values)
    for name, value in result.items():
        column = table.c[name]
        if isinstance(value, str) and isinstance(column.type, String) and column.info.get("pad", True):
            result[name] = pad(value, width(column))
    return result


def customer_row(customer: Customer) -> dict[str, Any]:
    return row(
        SA1,
        A1_COD=customer.code,
        A1_LOJA=STORE,
        A1_NOME=customer.name,
        A1_NREDUZ=customer.short_name,
        A1_CGC=to_legacy_tax_id(customer.tax_id),
        A1_MUN=customer.city,
        A1_EST=customer.state,
        A1_LC=to_cents(customer.credit_limit),
        A1_MSBLQL=to_flag(customer.blocked),
        A1_OBSERV=customer.memo,
    )


def customer(r: Row, open_orders_total: Money) -> Customer:
    return Customer(
        code=text(r["A1_COD"]),
        name=text(r["A1_NOME"]),
        short_name=text(r["A1_NREDUZ"]),
        tax_id=from_legacy_tax_id(r["A1_CGC"]),
        city=text(r["A1_MUN"]),
        state=text(r["A1_EST"]),
        credit_limit=from_cents(r["A1_LC"]),
        open_orders_total=open_orders_total,
        blocked=from_flag(r["A1_MSBLQL"]),
        memo=text(r["A1_OBSERV"]),
    )


def supplier_row(supplier: Supplier) -> dict[str, Any]:
    return row(
        SA2,
        A2_COD=supplier.code,
        A2_LOJA=STORE,
        A2_NOME=supplier.name,
        A2_NREDUZ=supplier.short_name,
        A2_CGC=to_legacy_tax_id(supplier.tax_id),
        A2_MUN=supplier.city,
        A2_EST=supplier.state,
        A2_EMAIL=supplier.email,
        A2_MSBLQL=to_flag(supplier.blocked),
        A2_OBSERV=supplier.memo,
    )


def supplier(r: Row) -> Supplier:
    return Supplier(
        code=text(r["A2_COD"]),
        name=text(r["A2_NOME"]),
        short_name=text(r["A2_NREDUZ"]),
        tax_id=from_legacy_tax_id(r["A2_CGC"]),
        city=text(r["A2_MUN"]),
        state=text(r["A2_EST"]),
        email=text(r["A2_EMAIL"]),
        blocked=from_flag(r["A2_MSBLQL"]),
        memo=text(r["A2_OBSERV"]),
    )


def product_row(product: Product) -> dict[str, Any]:
    return row(
        SB1,
        B1_COD=product.code,
        B1_DESC=product.description,
        B1_TIPO="MC",
        B1_UM=product.unit,
        B1_PRV1=to_amount_text(product.list_price),
        B1_CUSTD=to_amount_text(product.standard_cost),
        B1_EMIN=to_quantity(product.reorder_point),
        B1_MSBLQL=to_flag(product.blocked),
        B1_XOBS=product.memo,
    )


def product(r: Row) -> Product:
    return Product(
        code=text(r["B1_COD"]),
        description=text(r["B1_DESC"]),
        unit=text(r["B1_UM"]),
        list_price=from_amount_text(r["B1_PRV1"]),
        standard_cost=from_amount_text(r["B1_CUSTD"]),
        reorder_point=from_quantity(r["B1_EMIN"]),
        blocked=from_flag(r["B1_MSBLQL"]),
        memo=text(r["B1_XOBS"]),
    )


def stock_row(level: StockLevel) -> dict[str, Any]:
    return row(
        SB2,
        B2_COD=level.product_code,
        B2_LOCAL=WAREHOUSE_CODE[level.warehouse],
        B2_QATU=to_quantity(level.on_hand),
        B2_RESERVA=to_quantity(level.reserved),
    )


def stock_levels(rows: Iterable[Row]) -> list[tuple[Warehouse, Decimal, Decimal]]:
    """(warehouse, on hand, reserved) per known warehouse; duplicate rows of one warehouse add up."""
    totals: dict[Warehouse, tuple[Decimal, Decimal]] = {}
    for r in rows:
        warehouse = WAREHOUSES.get(text(r["B2_LOCAL"]))
        if warehouse is None:
            continue  # other warehouses (quarantine, in transit) are not offered for sale
        on_hand, reserved = totals.get(warehouse, (Decimal(0), Decimal(0)))
        totals[warehouse] = (on_hand + from_quantity(r["B2_QATU"]), reserved + from_quantity(r["B2_RESERVA"]))
    return [(w, *totals[w]) for w in Warehouse if w in totals]


def sales_order_rows(order: SalesOrder) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    header = row(
        SC5,
        C5_NUM=order.number,
        C5_TIPO="N",
        C5_CLIENTE=order.customer_code,
        C5_LOJACLI=STORE,
        C5_CONDPAG="001",
        C5_EMISSAO=to_legacy_date(order.issued_on),
        C5_XSTATUS=SALES_STATUS_CODE[order.status],
        C5_XOBS=order.memo,
        C5_XMOTCAN="",
    )
    lines = [
        row(
            SC6,
            C6_NUM=order.number,
            C6_ITEM=f"{line.line_no:02d}",
            C6_PRODUTO=line.product_code,
            C6_QTDVEN=to_quantity(line.quantity),
            C6_PRCVEN=to_amount_text(line.unit_price),
            C6_VALOR=to_amount_text(line.total),
        )
        for line in order.lines
    ]
    return header, lines


def _total(lines: Sequence[OrderLine]) -> Money:
    return money(sum((line.total.amount for line in lines), Decimal("0")))


def sales_order(header: Row, line_rows: Iterable[Row]) -> SalesOrder:
    lines = [
        OrderLine(
            line_no=int(text(r["C6_ITEM"])),
            product_code=text(r["C6_PRODUTO"]),
            quantity=from_quantity(r["C6_QTDVEN"]),
            unit_price=from_amount_text(r["C6_PRCVEN"]),
            total=from_amount_text(r["C6_VALOR"]),
        )
        for r in sorted(line_rows, key=lambda r: text(r["C6_ITEM"]))
    ]
    return SalesOrder(
        number=text(header["C5_NUM"]),
        customer_code=text(header["C5_CLIENTE"]),
        issued_on=from_legacy_date(header["C5_EMISSAO"]),
        status=SALES_STATUS[text(header["C5_XSTATUS"])],
        lines=lines,
        total=_total(lines),
        memo=text(header["C5_XOBS"]),
    )


def purchase_order_rows(order: PurchaseOrder) -> list[dict[str, Any]]:
    return [
        row(
            SC7,
            C7_NUM=order.number,
            C7_ITEM=f"{line.line_no:04d}",
            C7_PRODUTO=line.product_code,
            C7_QUANT=to_quantity(line.quantity),
            C7_PRECO=to_amount_text(line.unit_price),
            C7_TOTAL=to_amount_text(line.total),
            C7_FORNECE=order.supplier_code,
            C7_LOJA=STORE,
            C7_EMISSAO=to_legacy_date(order.issued_on),
            C7_CC=order.cost_center,
            C7_XSTATUS=PURCHASE_STATUS_CODE[order.status],
            C7_OBS=order.memo,
            C7_XREF=order.reference,
        )
        for line in order.lines
    ]


def purchase_order(rows: Iterable[Row]) -> PurchaseOrder:
    """One order from its item rows; the header is read from the first item (all repeat it)."""
    items = sorted(rows, key=lambda r: text(r["C7_ITEM"]))
    if not items:
        raise ValueError("a purchase order needs at least one item row")
    head = items[0]
    lines = [
        OrderLine(
            line_no=int(text(r["C7_ITEM"])),
            product_code=text(r["C7_PRODUTO"]),
            quantity=from_quantity(r["C7_QUANT"]),
            unit_price=from_amount_text(r["C7_PRECO"]),
            total=from_amount_text(r["C7_TOTAL"]),
        )
        for r in items
    ]
    return PurchaseOrder(
        number=text(head["C7_NUM"]),
        supplier_code=text(head["C7_FORNECE"]),
        issued_on=from_legacy_date(head["C7_EMISSAO"]),
        cost_center=text(head["C7_CC"]),
        status=PURCHASE_STATUS[text(head["C7_XSTATUS"])],
        lines=lines,
        total=_total(lines),
        memo=text(head["C7_OBS"]),
        reference=text(head["C7_XREF"]),
    )


def supplier_invoice_rows(invoice: SupplierInvoice) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The SF1 header and SD1 items of an invoice; every item names the order it bills."""
    header = row(
        SF1,
        F1_DOC=invoice.number,
        F1_SERIE=invoice.series,
        F1_FORNECE=invoice.supplier_code,
        F1_LOJA=STORE,
        F1_EMISSAO=to_legacy_date(invoice.issued_on),
        F1_XPEDIDO=invoice.purchase_order_number,
        F1_VALBRUT=to_cents(invoice.total),
        F1_XOBS=invoice.memo,
    )
    lines = [
        row(
            SD1,
            D1_DOC=invoice.number,
            D1_SERIE=invoice.series,
            D1_FORNECE=invoice.supplier_code,
            D1_LOJA=STORE,
            D1_ITEM=f"{line.line_no:04d}",
            D1_COD=line.product_code,
            D1_QUANT=to_quantity(line.quantity),
            D1_VUNIT=to_amount_text(line.unit_price),
            D1_TOTAL=to_amount_text(line.total),
            D1_PEDIDO=invoice.purchase_order_number,
        )
        for line in invoice.lines
    ]
    return header, lines


def supplier_invoice(header: Row, line_rows: Iterable[Row]) -> SupplierInvoice:
    lines = [
        SupplierInvoiceLine(
            line_no=int(text(r["D1_ITEM"])),
            product_code=text(r["D1_COD"]),
            quantity=from_quantity(r["D1_QUANT"]),
            unit_price=from_amount_text(r["D1_VUNIT"]),
            total=from_amount_text(r["D1_TOTAL"]),
        )
        for r in sorted(line_rows, key=lambda r: text(r["D1_ITEM"]))
    ]
    return SupplierInvoice(
        number=text(header["F1_DOC"]),
        series=text(header["F1_SERIE"]),
        supplier_code=text(header["F1_FORNECE"]),
        purchase_order_number=text(header["F1_XPEDIDO"]),
        issued_on=from_legacy_date(header["F1_EMISSAO"]),
        lines=lines,
        total=from_cents(header["F1_VALBRUT"]),
        memo=text(header["F1_XOBS"]),
    )


def invoice_key(r: Row, prefix: str = "D1") -> tuple[str, str, str]:
    """(document, series, supplier) of an SF1 or SD1 row: what ties an invoice's rows together."""
    return (text(r[f"{prefix}_DOC"]), text(r[f"{prefix}_SERIE"]), text(r[f"{prefix}_FORNECE"]))


def event_row(started: Started) -> dict[str, Any]:
    """The alert row of a newly started event."""
    event = started.event
    return row(
        ZEV,
        ZEV_ID=event.event_id,
        ZEV_TIPO=EVENT_KIND_CODE[event.kind],
        ZEV_CHAVE=event.subject,
        ZEV_DADOS=json.dumps(event.facts, sort_keys=True, ensure_ascii=False),
        ZEV_STATUS=ALERT_ACTIVE,
        ZEV_OCORR=started.occurrence,
        ZEV_CRIADO=event.detected_at.isoformat(),
        ZEV_ENCERR="",
        ZEV_ENVIADO="",
    )


def event(r: Row) -> BusinessEvent:
    facts = json.loads(r["ZEV_DADOS"])
    return BusinessEvent(
        event_id=text(r["ZEV_ID"]),
        kind=EVENT_KINDS[text(r["ZEV_TIPO"])],
        subject=text(r["ZEV_CHAVE"]),
        detected_at=datetime.fromisoformat(text(r["ZEV_CRIADO"])),
        facts={str(k): str(v) for k, v in facts.items()},
    )


def ledger_entry(r: Row) -> LedgerEntry:
    """A row of Countersign's idempotency ledger (ZCS010)."""
    receipt = r["ZCS_RECIBO"]
    # Each field is typed here (the receipt is validated from its JSON), so the entry is
    # constructed without a second validation: reconciliation streams every row on each pass.
    return LedgerEntry.model_construct(
        idempotency_key=r["ZCS_CHAVE"],
        fingerprint=r["ZCS_HASH"],
        action=r["ZCS_ACAO"],
        command=json.loads(r["ZCS_COMANDO"]),
        receipt=None if receipt is None else Receipt.model_validate_json(receipt),
        created_at=datetime.fromisoformat(r["ZCS_CRIADO"]),
    )


def cost_center_row(code: str, description: str) -> dict[str, Any]:
    return row(CTT, CTT_CUSTO=code, CTT_DESC01=description, CTT_CLASSE="2", CTT_BLOQ="2")


def budget_row(budget: Budget) -> dict[str, Any]:
    return row(
        ZB1,
        ZB1_CC=budget.cost_center,
        ZB1_ANO=str(budget.year),
        ZB1_VALOR=to_cents(budget.annual),
        ZB1_EMPEN=to_cents(budget.committed),
        ZB1_REALIZ=to_cents(budget.spent),
    )


def budget_amounts(r: Row) -> tuple[str, int, Money, Money, Money]:
    """(cost center, year, annual, committed, spent) of a budget row."""
    return (
        text(r["ZB1_CC"]),
        int(text(r["ZB1_ANO"])),
        from_cents(r["ZB1_VALOR"]),
        from_cents(r["ZB1_EMPEN"]),
        from_cents(r["ZB1_REALIZ"]),
    )


def account_row(account: GLAccount) -> dict[str, Any]:
    dotted = account.code
    parent = dotted.rsplit(".", 1)[0] if "." in dotted else ""
    nature = "1" if account.kind in (AccountKind.ASSET, AccountKind.EXPENSE) else "2"
    return row(
        CT1,
        CT1_CONTA=to_legacy_account(dotted),
        CT1_DESC01=account.name,
        CT1_CLASSE="2" if account.postable else "1",
        CT1_NORMAL=nature,
        CT1_CTASUP=to_legacy_account(parent) if parent else "",
        CT1_BLOQ=to_flag(account.blocked),
    )


def account(r: Row) -> GLAccount:
    code = from_legacy_account(r["CT1_CONTA"])
    return GLAccount(
        code=code,
        name=text(r["CT1_DESC01"]),
        kind=ACCOUNT_KINDS[code[:1]],
        postable=text(r["CT1_CLASSE"]) == "2",
        blocked=from_flag(r["CT1_BLOQ"]),
    )


def journal_rows(entry: JournalEntry, batch: str) -> list[dict[str, Any]]:
    """The CT2 rows of an entry. A plain two-line entry (one debit then one equal credit) is
    stored the way the old system's users key it in: one row of type 3 naming both accounts."""
    common = {
        "CT2_DATA": to_legacy_date(entry.entry_date),
        "CT2_LOTE": batch,
        "CT2_SBLOTE": "001",
        "CT2_DOC": entry.number,
        "CT2_MOEDLC": "01",
        "CT2_HIST": entry.description,
        "CT2_XREF": entry.reference,
    }
    lines = entry.lines
    if (
        len(lines) == 2
        and lines[0].credit.amount == 0
        and lines[1].debit.amount == 0
        and lines[0].debit.amount == lines[1].credit.amount
    ):
        return [
            row(
                CT2,
                **common,
                CT2_LINHA="001",
                CT2_DC=BOTH,
                CT2_DEBITO=to_legacy_account(lines[0].account_code),
                CT2_CREDIT=to_legacy_account(lines[1].account_code),
                CT2_VALOR=to_amount_text(lines[0].debit),
            )
        ]
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        debit, credit = line.debit.amount, line.credit.amount
        if debit and credit:
            raise ValueError(f"journal line {number} has both a debit and a credit")
        rows.append(
            row(
                CT2,
                **common,
                CT2_LINHA=f"{number:03d}",
                CT2_DC=DEBIT if debit else CREDIT,
                CT2_DEBITO=to_legacy_account(line.account_code) if debit else "",
                CT2_CREDIT="" if debit else to_legacy_account(line.account_code),
                CT2_VALOR=to_amount_text(debit or credit),
            )
        )
    return rows


def _decimal_amount(value: str | None) -> Decimal:
    """A text amount as ``from_amount_text`` reads it, without building a Money."""
    return Decimal(text(value).replace(",", ".") or "0").quantize(_CENT)


_CENT = Decimal("0.01")

# Reconciliation reads every keyed document on each pass (a hundred thousand and more), so these
# two build its landed shape straight from the rows, with the same conversions as
# ``purchase_order`` and ``journal_entry`` but no intermediate domain objects. The contract suite
# checks them against the in-memory ERP, which goes through the domain objects.


def landed_order(rows: Iterable[Row]) -> LandedDocument:
    items = sorted(rows, key=lambda r: text(r["C7_ITEM"]))
    head = items[0]
    return LandedDocument.model_construct(
        reference=text(head["C7_XREF"]),
        document_type="purchase_order",
        document_id=text(head["C7_NUM"]),
        status=PURCHASE_STATUS[text(head["C7_XSTATUS"])].value,
        amount=sum((_decimal_amount(r["C7_TOTAL"]) for r in items), Decimal("0.00")),
        lines=tuple(
            LandedLine.model_construct(
                code=text(r["C7_PRODUTO"]),
                quantity=from_quantity(r["C7_QUANT"]),
                unit_price=_decimal_amount(r["C7_PRECO"]),
            )
            for r in items
        ),
        created_on=from_legacy_date(head["C7_EMISSAO"]),
        party=_header(items, "C7_FORNECE"),
        cost_center=_header(items, "C7_CC"),
        description=_header(items, "C7_OBS"),
    )


def landed_entry(rows: Iterable[Row]) -> LandedDocument:
    ordered = sorted(rows, key=lambda r: text(r["CT2_LINHA"]))
    head = ordered[0]
    zero = Decimal("0.00")
    lines: list[LandedLine] = []
    for r in ordered:
        kind, value = text(r["CT2_DC"]), _decimal_amount(r["CT2_VALOR"])
        if kind in (DEBIT, BOTH):
            lines.append(
                LandedLine.model_construct(
                    code=from_legacy_account(r["CT2_DEBITO"]), quantity=value, unit_price=zero
                )
            )
        if kind in (CREDIT, BOTH):
            lines.append(
                LandedLine.model_construct(
                    code=from_legacy_account(r["CT2_CREDIT"]), quantity=zero, unit_price=value
                )
            )
    return LandedDocument.model_construct(
        reference=text(head["CT2_XREF"]),
        document_type="journal_entry",
        document_id=text(head["CT2_DOC"]),
        status=POSTED,
        amount=sum((line.quantity for line in lines), zero),
        lines=tuple(lines),
        created_on=from_legacy_date(head["CT2_DATA"]),
        description=_header(ordered, "CT2_HIST"),
    )


def _header(rows: Sequence[Row], column: str) -> str:
    """A header field every row of a document repeats; rows edited apart read as all their values
    (``F00001 / F00002``), so that reconciliation sees the document no longer says one thing."""
    values = dict.fromkeys(text(r[column]) for r in rows)
    return " / ".join(values)


def journal_entry(rows: Iterable[Row]) -> JournalEntry:
    """An entry back from its CT2 rows (type 3 rows become a debit line and a credit line)."""
    ordered = sorted(rows, key=lambda r: text(r["CT2_LINHA"]))
    if not ordered:
        raise ValueError("a journal entry needs at least one row")
    zero = money(0)
    lines: list[JournalLine] = []
    for r in ordered:
        kind, value = text(r["CT2_DC"]), from_amount_text(r["CT2_VALOR"])
        if kind in (DEBIT, BOTH):
            lines.append(
                JournalLine(account_code=from_legacy_account(r["CT2_DEBITO"]), debit=value, credit=zero)
            )
        if kind in (CREDIT, BOTH):
            lines.append(
                JournalLine(account_code=from_legacy_account(r["CT2_CREDIT"]), debit=zero, credit=value)
            )
    head = ordered[0]
    return JournalEntry(
        number=text(head["CT2_DOC"]),
        entry_date=from_legacy_date(head["CT2_DATA"]),
        description=text(head["CT2_HIST"]),
        lines=lines,
        reference=text(head["CT2_XREF"]),
    )


def posted_amounts(rows: Iterable[Row], prefix: str) -> tuple[Decimal, Decimal]:
    """(debits, credits) that CT2 rows post to accounts whose undotted code starts with ``prefix``."""
    debits = credits = Decimal("0")
    for r in rows:
        kind, value = text(r["CT2_DC"]), from_amount_text(r["CT2_VALOR"]).amount
        if kind in (DEBIT, BOTH) and text(r["CT2_DEBITO"]).startswith(prefix):
            debits += value
        if kind in (CREDIT, BOTH) and text(r["CT2_CREDIT"]).startswith(prefix):
            credits += value
    return debits, credits
