"""The legacy ERP's alerts: set-based detection of the watched conditions, kept in ZEV010.

Each condition is found by ONE query over the whole ERP, never a query per product, order or
invoice, so a scan costs the same few statements at any size: three detections, one read of the
alert table, one insert of the alerts that started and one update of those that cleared. The
figures mean what the reads mean: "available" is ``stock_report``'s total available (on hand
minus reserved in warehouses 01 and 02), a customer's exposure is ``open_orders_total`` (open
and credit-held orders). Which conditions start or clear is decided by ``events.transitions``,
the same rule ``InMemoryErp`` follows.

Quantities are floats and amounts text in this ERP, so comparisons carry a margin half a unit
of the last decimal wide (0.0005 of a quantity, half a cent): exact for the three-decimal
quantities and two-decimal amounts the ERP stores, whatever the float sums come to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, or_, select, update

from erp_acl import events as ev
from erp_acl.domain import PurchaseOrderStatus, SalesOrderStatus
from erp_acl.events import AlertState, BusinessEvent, Condition, InvoiceDifference
from erp_acl.legacy import translate as tr
from erp_acl.legacy.schema import BRANCH, DELETED, SA1, SB1, SB2, SC5, SC6, SC7, SD1, SF1, ZEV, live
from erp_acl.seed_data import OPEN_EXPOSURE

QUANTITY_MARGIN = 0.0005
AMOUNT_MARGIN = 0.005


# ---- detection ----------------------------------------------------------------------------------


def stock_conditions(conn: Connection) -> list[Condition]:
    """Unblocked products with a reorder point whose available stock is below it, with the
    supplier of their latest purchase order that was not cancelled (a hint of whom to ask)."""
    stock = (
        select(
            SB2.c.B2_COD.label("code"),
            func.sum(SB2.c.B2_QATU - SB2.c.B2_RESERVA).label("available"),
        )
        .where(live(SB2), SB2.c.B2_LOCAL.in_([tr.key(SB2.c.B2_LOCAL, code) for code in tr.WAREHOUSES]))
        .group_by(SB2.c.B2_COD)
        .subquery()
    )
    latest = (
        select(
            SC7.c.C7_PRODUTO.label("code"),
            SC7.c.C7_FORNECE.label("supplier"),
            func.row_number()
            .over(
                partition_by=SC7.c.C7_PRODUTO,
                order_by=(SC7.c.C7_EMISSAO.desc(), SC7.c.C7_NUM.desc(), SC7.c.C7_ITEM),
            )
            .label("recency"),
        )
        .where(live(SC7), SC7.c.C7_XSTATUS.not_in([tr.PURCHASE_STATUS_CODE[PurchaseOrderStatus.CANCELLED]]))
        .subquery()
    )
    available = func.coalesce(stock.c.available, 0.0)
    statement = (
        select(SB1.c.B1_COD, SB1.c.B1_EMIN, available.label("available"), latest.c.supplier)
        .select_from(
            SB1.outerjoin(stock, stock.c.code == SB1.c.B1_COD).outerjoin(
                latest, (latest.c.code == SB1.c.B1_COD) & (latest.c.recency == 1)
            )
        )
        .where(
            live(SB1),
            SB1.c.B1_MSBLQL.not_in([tr.to_flag(True)]),
            SB1.c.B1_EMIN > 0,
            available < SB1.c.B1_EMIN - QUANTITY_MARGIN,
        )
        .order_by(SB1.c.B1_COD)
    )
    return [
        ev.stock_condition(
            tr.text(r["B1_COD"]),
            tr.from_quantity(r["available"]),
            tr.from_quantity(r["B1_EMIN"]),
            tr.text(r["supplier"]) or None,
        )
        for r in conn.execute(statement).mappings()
    ]


def credit_conditions(conn: Connection) -> list[Condition]:
    """Open sales orders of customers whose open exposure is over their credit limit."""
    totals = (
        select(SC6.c.C6_NUM.label("number"), func.sum(tr.amount_value(SC6.c.C6_VALOR)).label("total"))
        .where(live(SC6))
        .group_by(SC6.c.C6_NUM)
        .subquery()
    )
    total = func.coalesce(totals.c.total, 0)
    exposed = SC5.c.C5_XSTATUS.in_([tr.SALES_STATUS_CODE[s] for s in OPEN_EXPOSURE])
    # Each order with its customer's exposure beside it (a window over the customer's orders):
    # one pass over the orders, however many customers there are.
    orders = (
        select(
            SC5.c.C5_NUM.label("number"),
            SC5.c.C5_CLIENTE.label("customer"),
            SC5.c.C5_LOJACLI.label("store"),
            SC5.c.C5_XSTATUS.label("status"),
            total.label("total"),
            func.sum(case((exposed, total), else_=0)).over(partition_by=SC5.c.C5_CLIENTE).label("exposure"),
        )
        .select_from(SC5.outerjoin(totals, totals.c.number == SC5.c.C5_NUM))
        .where(live(SC5))
        .subquery()
    )
    statement = (
        select(orders.c.number, orders.c.customer, orders.c.total, orders.c.exposure, SA1.c.A1_LC)
        .select_from(
            orders.join(SA1, (orders.c.customer == SA1.c.A1_COD) & (orders.c.store == SA1.c.A1_LOJA))
        )
        .where(
            live(SA1),
            orders.c.status == tr.key(SC5.c.C5_XSTATUS, tr.SALES_STATUS_CODE[SalesOrderStatus.OPEN]),
            orders.c.exposure * 100 > SA1.c.A1_LC + 100 * AMOUNT_MARGIN,
        )
        .order_by(orders.c.number)
    )
    return [
        ev.credit_condition(
            tr.text(r["number"]),
            tr.text(r["customer"]),
            tr.from_sql_amount(r["total"]),
            tr.from_sql_amount(r["exposure"]),
            tr.from_cents(r["A1_LC"]).amount,
        )
        for r in conn.execute(statement).mappings()
    ]


def invoice_conditions(conn: Connection) -> list[Condition]:
    """Invoices billing a product at another quantity or unit price than its purchase order
    (items and order lines of one product added up), or a product the order does not have."""
    billed_price = tr.amount_value(SD1.c.D1_VUNIT)
    billed = (
        select(
            SD1.c.D1_DOC.label("doc"),
            SD1.c.D1_SERIE.label("series"),
            SD1.c.D1_FORNECE.label("supplier"),
            SD1.c.D1_PEDIDO.label("order_number"),
            SD1.c.D1_COD.label("product"),
            func.sum(SD1.c.D1_QUANT).label("quantity"),
            func.min(billed_price).label("low"),
            func.max(billed_price).label("high"),
        )
        .where(live(SD1))
        .group_by(SD1.c.D1_DOC, SD1.c.D1_SERIE, SD1.c.D1_FORNECE, SD1.c.D1_PEDIDO, SD1.c.D1_COD)
        .subquery()
    )
    ordered_price = tr.amount_value(SC7.c.C7_PRECO)
    ordered = (
        select(
            SC7.c.C7_NUM.label("order_number"),
            SC7.c.C7_PRODUTO.label("product"),
            func.sum(SC7.c.C7_QUANT).label("quantity"),
            func.min(ordered_price).label("low"),
            func.max(ordered_price).label("high"),
        )
        .where(live(SC7))
        .group_by(SC7.c.C7_NUM, SC7.c.C7_PRODUTO)
        .subquery()
    )
    statement = (
        select(
            billed,
            ordered.c.quantity.label("ordered_quantity"),
            ordered.c.high.label("ordered_price"),
        )
        .select_from(
            billed.join(
                SF1,
                (billed.c.doc == SF1.c.F1_DOC)
                & (billed.c.series == SF1.c.F1_SERIE)
                & (billed.c.supplier == SF1.c.F1_FORNECE),
            ).outerjoin(
                ordered,
                (ordered.c.order_number == billed.c.order_number) & (ordered.c.product == billed.c.product),
            )
        )
        .where(
            live(SF1),
            or_(
                ordered.c.order_number.is_(None),
                func.abs(billed.c.quantity - ordered.c.quantity) > QUANTITY_MARGIN,
                func.abs(billed.c.low - ordered.c.low) > AMOUNT_MARGIN,
                func.abs(billed.c.high - ordered.c.high) > AMOUNT_MARGIN,
            ),
        )
        .order_by(billed.c.doc, billed.c.product)
    )
    by_invoice: dict[str, dict[str, InvoiceDifference]] = defaultdict(dict)
    for r in conn.execute(statement).mappings():
        number, product = tr.text(r["doc"]), tr.text(r["product"])
        missing = r["ordered_quantity"] is None
        by_invoice[number].setdefault(
            product,
            InvoiceDifference(
                invoice_number=number,
                supplier_code=tr.text(r["supplier"]),
                purchase_order_number=tr.text(r["order_number"]),
                product_code=product,
                invoiced_quantity=tr.from_quantity(r["quantity"]),
                invoiced_unit_price=tr.from_sql_amount(r["high"]),
                ordered_quantity=None if missing else tr.from_quantity(r["ordered_quantity"]),
                ordered_unit_price=None if missing else tr.from_sql_amount(r["ordered_price"]),
            ),
        )
    return [ev.invoice_condition(list(found.values())) for found in by_invoice.values()]


def conditions(conn: Connection) -> list[Condition]:
    """Every watched condition holding now: three queries, whatever the size of the ERP."""
    return [*stock_conditions(conn), *credit_conditions(conn), *invoice_conditions(conn)]


# ---- the alert table ----------------------------------------------------------------------------


def alert_states(conn: Connection) -> dict[tuple[str, str], AlertState]:
    """Per (kind, subject): is an alert open, and how many have there been. Deleted rows count
    towards the occurrences, so an id is never issued twice."""
    is_open = (ZEV.c.ZEV_STATUS == tr.ALERT_ACTIVE) & (ZEV.c.D_E_L_E_T_ != DELETED)
    statement = (
        select(
            ZEV.c.ZEV_TIPO,
            ZEV.c.ZEV_CHAVE,
            func.max(ZEV.c.ZEV_OCORR).label("occurrences"),
            func.max(case((is_open, 1), else_=0)).label("active"),
        )
        .where(ZEV.c.ZEV_FILIAL == BRANCH, ZEV.c.ZEV_TIPO.in_(list(tr.EVENT_KINDS)))
        .group_by(ZEV.c.ZEV_TIPO, ZEV.c.ZEV_CHAVE)
    )
    return {
        (tr.EVENT_KINDS[tr.text(r["ZEV_TIPO"])], tr.text(r["ZEV_CHAVE"])): AlertState(
            active=bool(r["active"]), occurrences=int(r["occurrences"] or 0)
        )
        for r in conn.execute(statement).mappings()
    }


def scan(conn: Connection, now: datetime) -> list[BusinessEvent]:
    """Open an alert per condition that started, close those that cleared; the new events."""
    change = ev.transitions(conditions(conn), alert_states(conn), now)
    if change.started:
        conn.execute(insert(ZEV), [tr.event_row(started) for started in change.started])
    if change.cleared:
        conn.execute(
            update(ZEV)
            .where(
                live(ZEV),
                bindparam("kind_code") == ZEV.c.ZEV_TIPO,
                bindparam("subject_key") == ZEV.c.ZEV_CHAVE,
                ZEV.c.ZEV_STATUS == tr.ALERT_ACTIVE,
            )
            .values(ZEV_STATUS=tr.ALERT_CLEARED, ZEV_ENCERR=ev.utc(now).isoformat()),
            [
                {"kind_code": tr.EVENT_KIND_CODE[kind], "subject_key": tr.key(ZEV.c.ZEV_CHAVE, subject)}
                for kind, subject in change.cleared
            ],
        )
    return [started.event for started in change.started]


def unpublished(conn: Connection, limit: int) -> list[BusinessEvent]:
    statement = (
        select(ZEV)
        .where(live(ZEV), ZEV.c.ZEV_TIPO.in_(list(tr.EVENT_KINDS)), ZEV.c.ZEV_ENVIADO == "")
        .order_by(ZEV.c.ZEV_CRIADO, ZEV.c.R_E_C_N_O_)
        .limit(limit)
    )
    return [tr.event(r) for r in conn.execute(statement).mappings()]


def mark_published(conn: Connection, event_ids: Sequence[str], now: datetime) -> None:
    """Stamp the events published (the first stamp stays); an id the ERP never issued is refused."""
    wanted = ev.checked_ids(event_ids)
    if not wanted:
        return
    keys: list[Any] = [tr.key(ZEV.c.ZEV_ID, event_id) for event_id in wanted]
    issued: list[Any] = list(
        conn.execute(select(ZEV.c.ZEV_ID).where(live(ZEV), ZEV.c.ZEV_ID.in_(keys))).scalars()
    )
    found = {tr.text(value) for value in issued}
    missing = [event_id for event_id in wanted if event_id not in found]
    if missing:
        raise ev.unknown_events(missing)
    conn.execute(
        update(ZEV)
        .where(live(ZEV), ZEV.c.ZEV_ID.in_(keys), ZEV.c.ZEV_ENVIADO == "")
        .values(ZEV_ENVIADO=ev.utc(now).isoformat())
    )
