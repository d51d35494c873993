"""Create and fill the bundled legacy ERP with the deterministic demo dataset.

``seed_legacy_erp`` writes ``seed_data.generate(scale)`` into the legacy tables with bulk inserts
in one transaction (scale 1 takes a second or two), sets the document numbering to continue after
the seeded documents, and adds a few soft-deleted rows, as any ERP that has been in use for years
has: duplicates people deleted, a cancelled posting. Every read must ignore them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Table, insert, inspect, literal, select

from erp_acl.domain import SalesOrderStatus, money
from erp_acl.errors import ErpError
from erp_acl.legacy import translate as tr
from erp_acl.legacy.adapter import BEGIN_OPTION, describe, prepare_engine, reachable
from erp_acl.legacy.migrations import drop_erp_tables, upgrade_erp_database
from erp_acl.legacy.schema import (
    CT1,
    CT2,
    CTT,
    DATA_TABLES,
    DELETED,
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
    ZSQ,
    metadata,
)
from erp_acl.seed_data import DEFAULT_SEED, SeedData, generate

Progress = Callable[[str, int, int], None]

CHUNK = 2_000
SEED_BATCH = "000001"
"""Journal batch (lote) of the seeded entries."""


@dataclass(frozen=True)
class SeedSummary:
    """What a seeding run wrote."""

    database: str
    scale: int
    seed: int
    counts: dict[str, int]
    deleted_rows: int
    seconds: float
    tables: list[str] = field(default_factory=list)


def erp_has_data(engine: Engine) -> bool:
    """Whether any legacy table exists and holds a row (deleted rows count: they are data too)."""
    prepare_engine(engine)
    with reachable(engine):
        existing = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            for table in DATA_TABLES:
                if (
                    table.name in existing
                    and conn.execute(select(literal(1)).select_from(table).limit(1)).first()
                ):
                    return True
    return False


def _deleted(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "D_E_L_E_T_": DELETED}


def _ghosts(data: SeedData) -> dict[Table, list[dict[str, Any]]]:
    """Soft-deleted rows that would change answers if a read forgot ``D_E_L_E_T_``."""
    customer = data.customers[0]
    supplier = data.suppliers[0]
    product = next(p for p in data.products if p.code == "HB-M8-40")
    order = data.sales_orders[0]
    purchase = data.purchase_orders[0]
    budget = next(b for b in data.budgets if b.cost_center == "CC300" and b.year == data.today.year)
    header, _ = tr.sales_order_rows(order.model_copy(update={"status": SalesOrderStatus.INVOICED}))
    invoice = data.supplier_invoices[0]
    invoice_header, invoice_lines = tr.supplier_invoice_rows(invoice)
    return {
        SA1: [
            _deleted(
                tr.customer_row(
                    customer.model_copy(
                        update={"name": f"{customer.name[:22]} (duplicado)", "credit_limit": money(9_999_999)}
                    )
                )
            ),
            _deleted(
                tr.customer_row(
                    customer.model_copy(
                        update={"code": "C99999", "name": "Cliente Excluido Ltda", "memo": ""}
                    )
                )
            ),
        ],
        SA2: [_deleted(tr.supplier_row(supplier.model_copy(update={"blocked": True})))],
        SB1: [_deleted(tr.product_row(product.model_copy(update={"list_price": money("9.99")})))],
        SB2: [
            _deleted(tr.row(SB2, B2_COD=product.code, B2_LOCAL="01", B2_QATU=99_999.0, B2_RESERVA=0.0)),
        ],
        SC5: [_deleted(header)],
        SC6: [
            _deleted(
                tr.row(
                    SC6,
                    C6_NUM=order.number,
                    C6_ITEM=f"{len(order.lines) + 1:02d}",
                    C6_PRODUTO="DRL-18V",
                    C6_QTDVEN=100.0,
                    C6_PRCVEN="599.00",
                    C6_VALOR="59900.00",
                )
            )
        ],
        SC7: [
            _deleted(row)
            for row in tr.purchase_order_rows(
                purchase.model_copy(update={"lines": [purchase.lines[0].model_copy(update={"line_no": 99})]})
            )
        ],
        # A deleted re-keying of the first invoice with a wrong price on a deleted extra item: an
        # alert scan that forgot D_E_L_E_T_ would flag an invoice that matches its order.
        SF1: [_deleted({**invoice_header, "F1_VALBRUT": 999_999})],
        SD1: [
            _deleted(
                {
                    **invoice_lines[0],
                    "D1_ITEM": "0099",
                    "D1_QUANT": 99_999.0,
                    "D1_VUNIT": "9.99",
                    "D1_TOTAL": "998990.01",
                }
            )
        ],
        CT1: [
            _deleted(
                tr.row(
                    CT1,
                    CT1_CONTA="1101003",
                    CT1_DESC01="Cash (old)",
                    CT1_CLASSE="2",
                    CT1_NORMAL="1",
                    CT1_CTASUP="1101",
                    CT1_BLOQ="2",
                )
            )
        ],
        CT2: [
            _deleted(
                tr.row(
                    CT2,
                    CT2_DATA="20260105",
                    CT2_LOTE=SEED_BATCH,
                    CT2_SBLOTE="001",
                    CT2_DOC="000001",
                    CT2_LINHA="099",
                    CT2_MOEDLC="01",
                    CT2_DC=tr.DEBIT,
                    CT2_DEBITO="1101001",
                    CT2_CREDIT="",
                    CT2_VALOR=tr.to_amount_text(Decimal("1000000")),
                    CT2_HIST="Lancamento estornado (digitado em duplicidade)",
                    CT2_XREF="",
                )
            )
        ],
        ZB1: [_deleted(tr.budget_row(budget.model_copy(update={"annual": money(1)})))],
    }


def _numbering(data: SeedData) -> list[dict[str, Any]]:
    last = {
        "SC5": max((int(o.number) for o in data.sales_orders), default=0),
        "SC7": max((int(o.number) for o in data.purchase_orders), default=0),
        "CT2": max((int(e.number) for e in data.journal_entries), default=0),
    }
    return [tr.row(ZSQ, ZSQ_CHAVE=document, ZSQ_ULTIMO=number) for document, number in last.items()]


def _batches(data: SeedData) -> list[tuple[str, Table, list[dict[str, Any]]]]:
    """What is written, table by table: ``(what, table, rows)``, where ``what`` names the
    ``SeedData.counts`` key the rows make up (spaces for underscores), so progress counts the same
    records as the summary; soft-deleted ghost rows and document lines ride along uncounted."""
    ghosts = _ghosts(data)
    order_rows = [tr.sales_order_rows(order) for order in data.sales_orders]
    invoice_rows = [tr.supplier_invoice_rows(invoice) for invoice in data.supplier_invoices]

    def with_ghosts(table: Table, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [*rows, *ghosts.get(table, [])]

    return [
        ("customers", SA1, with_ghosts(SA1, map(tr.customer_row, data.customers))),
        ("suppliers", SA2, with_ghosts(SA2, map(tr.supplier_row, data.suppliers))),
        ("products", SB1, with_ghosts(SB1, map(tr.product_row, data.products))),
        ("stock levels", SB2, with_ghosts(SB2, map(tr.stock_row, data.stock))),
        ("cost centers", CTT, [tr.cost_center_row(c.code, c.description) for c in data.cost_centers]),
        ("budgets", ZB1, with_ghosts(ZB1, map(tr.budget_row, data.budgets))),
        ("accounts", CT1, with_ghosts(CT1, map(tr.account_row, data.accounts))),
        ("sales orders", SC5, with_ghosts(SC5, (header for header, _ in order_rows))),
        ("sales order lines", SC6, with_ghosts(SC6, (line for _, lines in order_rows for line in lines))),
        (
            "purchase orders",
            SC7,
            with_ghosts(SC7, (r for order in data.purchase_orders for r in tr.purchase_order_rows(order))),
        ),
        (
            "supplier invoices",
            SF1,
            with_ghosts(SF1, (header for header, _ in invoice_rows)),
        ),
        (
            "supplier invoice lines",
            SD1,
            with_ghosts(SD1, (line for _, lines in invoice_rows for line in lines)),
        ),
        (
            "journal entries",
            CT2,
            with_ghosts(
                CT2, (r for entry in data.journal_entries for r in tr.journal_rows(entry, SEED_BATCH))
            ),
        ),
        ("document numbers", ZSQ, _numbering(data)),
    ]


def seed_legacy_erp(
    engine: Engine,
    scale: int = 1,
    reset: bool = False,
    progress: Progress | None = None,
    *,
    seed: int = DEFAULT_SEED,
) -> SeedSummary:
    """Create the legacy tables and fill them with ``generate(scale, seed)``.

    Refuses (``ErpError``) when the ERP already has data, unless ``reset`` is true, in which case
    the legacy tables (and only those) are dropped first. ``progress(table, done, total)`` is
    called as rows are written, in the records the summary counts.
    """
    started = time.perf_counter()
    prepare_engine(engine)
    if not reset and erp_has_data(engine):
        raise ErpError(f"the ERP at {describe(engine)} already has data; use --reset to wipe it")
    data = generate(scale, seed)
    batches = _batches(data)
    counts = data.counts()
    if reset:
        drop_erp_tables(engine)
    upgrade_erp_database(engine)
    with reachable(engine):
        with engine.connect() as conn:
            conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                for label, table, rows in batches:
                    total = len(rows)
                    records = counts.get(label.replace(" ", "_"), total)
                    for start in range(0, total, CHUNK):
                        conn.execute(insert(table), rows[start : start + CHUNK])
                        if progress is not None:
                            written = min(start + CHUNK, total)
                            progress(label, written * records // total, records)
        if engine.dialect.name == "postgresql":
            # Fresh statistics after a bulk load: without them the planner takes every table for
            # empty and joins the ERP's set-based queries (alerts, reports) row by row.
            with engine.connect() as conn:
                for _, table, _ in batches:
                    conn.exec_driver_sql(f'ANALYZE "{table.name}"')
                conn.commit()
    deleted = sum(1 for _, _, rows in batches for r in rows if r.get("D_E_L_E_T_") == DELETED)
    return SeedSummary(
        database=describe(engine),
        scale=scale,
        seed=seed,
        counts=counts,
        deleted_rows=deleted,
        seconds=round(time.perf_counter() - started, 3),
        tables=[table.name for table in metadata.sorted_tables],
    )
