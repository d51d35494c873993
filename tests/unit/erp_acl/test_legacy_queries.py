"""The legacy adapter's bulk reads are set-based: a fixed number of SQL statements at any size.

Each test fills a fresh SQLite ERP with ``size`` products, customers, orders and invoices and
counts the statements the adapter sends (a ``before_cursor_execute`` listener), never the time:
the count must not grow with the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, update

from erp_acl.commands import ChangePrice, fingerprint
from erp_acl.documents import receipt
from erp_acl.domain import (
    Customer,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    SalesOrder,
    SalesOrderStatus,
    StockLevel,
    SupplierInvoice,
    SupplierInvoiceLine,
    Warehouse,
    money,
)
from erp_acl.legacy import translate as tr
from erp_acl.legacy.adapter import LegacyErp
from erp_acl.legacy.schema import SA1, SB1, SB2, SC5, SC6, SC7, SD1, SF1, ZCS

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 2)


def _line(qty: int, price: str) -> OrderLine:
    return OrderLine(
        line_no=1,
        product_code="",
        quantity=Decimal(qty),
        unit_price=money(price),
        total=money(Decimal(qty) * Decimal(price)),
    )


def _rows(size: int) -> dict[Any, list[dict[str, Any]]]:
    """``size`` of everything; every second product, customer and invoice is in trouble."""
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (SB1, SB2, SA1, SC5, SC6, SC7, SF1, SD1)}
    for n in range(size):
        trouble = n % 2 == 0
        code, customer, number = f"Q{n:05d}", f"C{n + 1:05d}", f"{n + 1:06d}"
        product = Product(
            code=code,
            description=f"Test part {n}",
            unit="PC",
            list_price=money(2),
            standard_cost=money(1),
            reorder_point=Decimal(100),
            blocked=False,
        )
        rows[SB1].append(tr.product_row(product))
        for warehouse, on_hand in ((Warehouse.MAIN, 40 if trouble else 400), (Warehouse.SECONDARY, 10)):
            level = StockLevel(
                product_code=code,
                warehouse=warehouse,
                on_hand=Decimal(on_hand),
                reserved=Decimal(0),
                available=Decimal(on_hand),
            )
            rows[SB2].append(tr.stock_row(level))
        rows[SA1].append(
            tr.customer_row(
                Customer(
                    code=customer,
                    name=f"Customer {n}",
                    short_name=f"Customer {n}",
                    tax_id=f"{n:014d}",
                    city="Santos",
                    state="SP",
                    credit_limit=money(1000),
                    open_orders_total=money(0),
                    blocked=False,
                )
            )
        )
        sold = _line(10, "150.00" if trouble else "50.00").model_copy(update={"product_code": code})
        header, lines = tr.sales_order_rows(
            SalesOrder(
                number=number,
                customer_code=customer,
                issued_on=DAY,
                status=SalesOrderStatus.OPEN,
                lines=[sold],
                total=sold.total,
            )
        )
        rows[SC5].append(header)
        rows[SC6] += lines
        bought = _line(100, "1.00").model_copy(update={"product_code": code})
        rows[SC7] += tr.purchase_order_rows(
            PurchaseOrder(
                number=number,
                supplier_code="F00001",
                issued_on=DAY,
                cost_center="CC300",
                status=PurchaseOrderStatus.OPEN,
                lines=[bought],
                total=bought.total,
            )
        )
        billed = SupplierInvoiceLine(
            line_no=1,
            product_code=code,
            quantity=Decimal(100),
            unit_price=money("1.08" if trouble else "1.00"),
            total=money("108.00" if trouble else "100.00"),
        )
        head, items = tr.supplier_invoice_rows(
            SupplierInvoice(
                number=f"{n + 1:09d}",
                series="1",
                supplier_code="F00001",
                purchase_order_number=number,
                issued_on=DAY,
                lines=[billed],
                total=billed.total,
            )
        )
        rows[SF1].append(head)
        rows[SD1] += items
    return rows


@pytest.fixture
def make_erp(tmp_path: Path) -> Iterator[Any]:
    opened: list[LegacyErp] = []

    def make(size: int) -> LegacyErp:
        erp = LegacyErp.open(tmp_path / f"erp-{size}.db", today=lambda: NOW.date())
        with erp.engine.begin() as conn:
            for table, table_rows in _rows(size).items():
                conn.execute(insert(table), table_rows)
        opened.append(erp)
        return erp

    yield make
    for erp in opened:
        erp.close()


@contextmanager
def counting(erp: LegacyErp) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (transaction BEGINs left out)."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            sent.append(statement)

    event.listen(erp.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(erp.engine, "before_cursor_execute", record)


def test_a_scan_sends_the_same_few_statements_for_twenty_or_two_thousand_products(make_erp: Any) -> None:
    counts = []
    for size in (20, 2000):
        erp = make_erp(size)
        with counting(erp) as sent:
            started = erp.scan_events(NOW)
        kinds = [e.kind for e in started]
        assert kinds.count("stock_below_reorder_point") == size // 2
        assert kinds.count("sales_order_over_credit_limit") == size // 2
        assert kinds.count("supplier_invoice_mismatch") == size // 2
        counts.append(len(sent))
    # Three detections, one read of the alert table, one insert of the alerts that started.
    assert counts == [5, 5]


def test_closing_every_alert_at_once_is_still_one_update(make_erp: Any) -> None:
    counts = []
    for size in (20, 2000):
        erp = make_erp(size)
        erp.scan_events(NOW)
        with counting(erp) as sent:
            assert erp.scan_events(NOW + timedelta(hours=1)) == []
        quiet = len(sent)
        with erp.engine.begin() as conn:  # the ERP's users raise every credit limit
            conn.execute(update(SA1).values(A1_LC=10_000_000))
        with counting(erp) as sent:
            assert erp.scan_events(NOW + timedelta(hours=2)) == []
        counts.append((quiet, len(sent)))
    # Nothing changed: detections and the alert table only; then one update closes size/2 alerts.
    assert counts == [(4, 5), (4, 5)]


def test_landed_documents_take_one_query_per_document_type_at_any_size(make_erp: Any) -> None:
    counts = []
    for size in (20, 2000):
        erp = make_erp(size)
        with erp.engine.begin() as conn:  # as if Countersign had written every order
            conn.execute(update(SC7).values(C7_XREF=SC7.c.C7_NUM))
        with counting(erp) as sent:
            landed = list(erp.landed_documents())
        assert len(landed) == size
        assert {d.document_type for d in landed} == {"purchase_order"}
        assert [d.document_id for d in landed] == sorted(d.document_id for d in landed)
        counts.append(len(sent))
    assert counts == [2, 2]


@pytest.mark.slow
def test_a_hundred_thousand_ledger_entries_stream_from_one_query(tmp_path: Path) -> None:
    erp = LegacyErp.open(tmp_path / "ledger.db")
    command = ChangePrice(product_code="NUT-M8", new_price=Decimal("0.27"))
    stamp = fingerprint(command)
    template = receipt(command.action, "product", "NUT-M8", "List price changed", "KEY", stamp)
    receipt_json, command_json = template.model_dump_json(), command.model_dump_json()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(100_000):
        key, created = f"key-{n:06d}", (start + timedelta(seconds=n)).isoformat()
        rows.append(
            {
                "ZCS_CHAVE": key,
                "ZCS_HASH": stamp,
                "ZCS_ACAO": command.action,
                "ZCS_COMANDO": command_json,
                "ZCS_RECIBO": receipt_json.replace('"KEY"', f'"{key}"'),
                "ZCS_CRIADO": created,
                "ZCS_ALTERA": created,
            }
        )
    with erp.engine.begin() as conn:
        conn.execute(insert(ZCS), rows)
    with counting(erp) as sent:
        entries = erp.ledger_entries()
        first = next(entries)
        rest = sum(1 for _ in entries)
    assert len(sent) == 1
    assert rest == 99_999
    assert (first.idempotency_key, first.action, first.created_at) == ("key-000000", "change_price", start)
    assert first.receipt is not None and first.receipt.idempotency_key == "key-000000"
    erp.close()
