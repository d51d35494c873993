"""``LegacyErp``: the ports (ErpReader + ErpWriter + ErpEvents) over the bundled legacy ERP's database.

Writes are exactly-once. ``apply`` runs in ONE database transaction that: reads the idempotency
ledger (ZCS010) for the key (same fingerprint -> the stored receipt, nothing written; another
fingerprint -> ``IdempotencyConflict``), inserts the ledger row, checks versions and domain rules
through a reader bound to the same transaction, writes the document, stores the receipt and
commits. The ledger row is inserted *before* the checks on purpose: on PostgreSQL a concurrent
transaction with the same key blocks on the primary key until the first one ends and then fails,
and the retry finds the committed row. On SQLite every write transaction starts with
``BEGIN IMMEDIATE``, so writers (threads or processes) queue for the database lock instead.

Business events are the ERP's own alerts (``alerts``): a scan detects every watched condition
with set-based queries and opens or closes alerts in one write transaction.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    case,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import RowMapping, make_url
from sqlalchemy.exc import IntegrityError, OperationalError

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
)
from erp_acl.domain import (
    AccountBalance,
    Budget,
    Customer,
    GLAccount,
    JournalEntry,
    LandedDocument,
    LedgerEntry,
    Money,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    Receipt,
    SalesOrder,
    SalesOrderStatus,
    StockReport,
    Supplier,
    SupplierInvoice,
    money,
)
from erp_acl.errors import ErpError, ErpUnavailable
from erp_acl.events import BusinessEvent, check_limit
from erp_acl.legacy import alerts
from erp_acl.legacy import translate as tr
from erp_acl.legacy.schema import (
    CT1,
    CT2,
    CTT,
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
    ZCS,
    ZSQ,
    live,
)
from erp_acl.rules import check_versions, validate
from erp_acl.seed_data import OPEN_EXPOSURE
from erp_acl.sqlite_wal import enable_wal
from erp_acl.text_match import rank, search_text
from erp_acl.versions import stamp, versions_of

BEGIN_OPTION = "countersign_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode of a connection's transactions."""

BUSY_TIMEOUT_MS = 30_000
_APPLY_ATTEMPTS = 3
_STREAM_BATCH = 1_000  # rows fetched at a time when streaming the ledger or landed documents

# Which table and column hold the numbers of each numbered document type.
_NUMBERED = {"SC7": SC7.c.C7_NUM, "CT2": CT2.c.CT2_DOC, "SC5": SC5.c.C5_NUM}


# ---- engines ------------------------------------------------------------------------------------


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from pysqlite (it would defer it past SELECTs) and emit our own, so a
    # write transaction holds the write lock from its first statement (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()
    enable_wal(dbapi_connection)  # readers never block the writer, nor it them
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    raw = connection.connection.dbapi_connection
    if getattr(raw, "in_transaction", False):
        return  # another hook on this engine (the app's engine factory) already began
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def prepare_engine(engine: Engine) -> Engine:
    """Make a SQLite engine safe for concurrent writers (WAL, busy timeout, BEGIN IMMEDIATE for
    writes). Idempotent; other databases are returned unchanged."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_connect):
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        # Pooled connections made before the hooks existed lack the settings; start afresh.
        engine.dispose()
    return engine


def database_url(url_or_path: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL: URLs pass through, a file path becomes a SQLite URL."""
    value = os.fspath(url_or_path)
    return value if "://" in value else f"sqlite:///{Path(value)}"


def legacy_engine(url_or_path: str | os.PathLike[str]) -> Engine:
    """An engine on the legacy ERP database (a SQLite file's folder is created if needed)."""
    url = make_url(database_url(url_or_path))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=10, max_overflow=30, pool_timeout=60
        )
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False})
    return prepare_engine(engine)


def describe(engine: Engine) -> str:
    """Where an engine points, for messages (no password)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


@contextmanager
def reachable(engine: Engine) -> Iterator[None]:
    """Report a database that cannot be reached (or stays locked) as ``ErpUnavailable``."""
    try:
        yield
    except OperationalError as exc:
        # The driver's first line: psycopg adds a hint on a second ("Is the server running…").
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
        raise ErpUnavailable(f"the ERP at {describe(engine)} is unavailable: {reason}") from exc


# ---- the reader, bound to one connection ----------------------------------------------------------


class LegacyReader:
    """ErpReader over one open connection (and so one transaction).

    ``lock_rows`` adds FOR UPDATE to single-record reads: inside ``apply`` on PostgreSQL the
    records a command checks stay as checked until it commits (SQLite ignores it; its write lock
    already covers the whole database).
    """

    def __init__(self, conn: Connection, today: date, *, lock_rows: bool = False) -> None:
        self._conn = conn
        self._today = today
        self._lock_rows = lock_rows

    def _first(self, statement: Select[Any], *, lock: bool = False) -> RowMapping | None:
        if lock and self._lock_rows:
            statement = statement.with_for_update()
        return self._conn.execute(statement).mappings().first()

    def _all(self, statement: Select[Any]) -> list[RowMapping]:
        return list(self._conn.execute(statement).mappings())

    # -- customers --

    def _open_totals(self, codes: Sequence[str]) -> dict[str, Money]:
        statement = (
            select(SC5.c.C5_CLIENTE, SC6.c.C6_VALOR)
            .join(SC6, (SC6.c.C6_NUM == SC5.c.C5_NUM) & (SC6.c.C6_FILIAL == SC5.c.C5_FILIAL))
            .where(
                live(SC5),
                live(SC6),
                SC5.c.C5_CLIENTE.in_([tr.key(SC5.c.C5_CLIENTE, c) for c in codes]),
                SC5.c.C5_XSTATUS.in_([tr.SALES_STATUS_CODE[s] for s in OPEN_EXPOSURE]),
            )
        )
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for r in self._all(statement):
            totals[tr.text(r["C5_CLIENTE"])] += tr.from_amount_text(r["C6_VALOR"]).amount
        return {code: money(totals[code]) for code in codes}

    def search_customers(self, query: str, limit: int = 10) -> list[Customer]:
        rows = self._all(select(SA1.c.A1_COD, SA1.c.A1_NOME, SA1.c.A1_NREDUZ, SA1.c.A1_CGC).where(live(SA1)))
        found = rank(
            query,
            rows,
            code=lambda r: tr.text(r["A1_COD"]),
            text=lambda r: search_text(
                tr.text(r["A1_NOME"]), tr.text(r["A1_NREDUZ"]), tr.from_legacy_tax_id(r["A1_CGC"])
            ),
            limit=limit,
        )
        return [self.get_customer(code) for code in dict.fromkeys(tr.text(r["A1_COD"]) for r in found)]

    def get_customer(self, code: str) -> Customer:
        wanted = ids.customer_code(code)
        found = self._first(
            select(SA1).where(live(SA1), tr.matches(SA1.c.A1_COD, wanted)).order_by(SA1.c.A1_LOJA),
            lock=True,
        )
        if found is None:
            raise ids.not_found("customer", wanted)
        return stamp(tr.customer(found, self._open_totals([wanted])[wanted]))

    # -- suppliers --

    def search_suppliers(self, query: str, limit: int = 10) -> list[Supplier]:
        rows = self._all(select(SA2.c.A2_COD, SA2.c.A2_NOME, SA2.c.A2_NREDUZ, SA2.c.A2_CGC).where(live(SA2)))
        found = rank(
            query,
            rows,
            code=lambda r: tr.text(r["A2_COD"]),
            text=lambda r: search_text(
                tr.text(r["A2_NOME"]), tr.text(r["A2_NREDUZ"]), tr.from_legacy_tax_id(r["A2_CGC"])
            ),
            limit=limit,
        )
        return [self.get_supplier(code) for code in dict.fromkeys(tr.text(r["A2_COD"]) for r in found)]

    def get_supplier(self, code: str) -> Supplier:
        wanted = ids.supplier_code(code)
        found = self._first(
            select(SA2).where(live(SA2), tr.matches(SA2.c.A2_COD, wanted)).order_by(SA2.c.A2_LOJA)
        )
        if found is None:
            raise ids.not_found("supplier", wanted)
        return stamp(tr.supplier(found))

    # -- products and stock --

    def search_products(self, query: str, limit: int = 10) -> list[Product]:
        rows = self._all(select(SB1.c.B1_COD, SB1.c.B1_DESC).where(live(SB1)))
        found = rank(
            query,
            rows,
            code=lambda r: tr.text(r["B1_COD"]),
            text=lambda r: search_text(tr.text(r["B1_DESC"])),
            limit=limit,
        )
        return [self.get_product(code) for code in dict.fromkeys(tr.text(r["B1_COD"]) for r in found)]

    def _product(self, code: str) -> Product:
        wanted = ids.product_code(code)
        found = self._first(
            select(SB1).where(live(SB1), tr.matches(SB1.c.B1_COD, wanted)).order_by(SB1.c.R_E_C_N_O_),
            lock=True,
        )
        if found is None:
            raise ids.not_found("product", wanted)
        return tr.product(found)

    def get_product(self, code: str) -> Product:
        return stamp(self._product(code))

    def stock_report(self, product_code: str) -> StockReport:
        product = self._product(product_code)
        rows = self._all(select(SB2).where(live(SB2), tr.matches(SB2.c.B2_COD, product.code)))
        levels = [
            documents.stock_level(product.code, warehouse, on_hand, reserved)
            for warehouse, on_hand, reserved in tr.stock_levels(rows)
        ]
        return documents.stock_report(product, levels)

    # -- sales orders --

    def _sales_orders(self, headers: Sequence[RowMapping]) -> list[SalesOrder]:
        numbers = [tr.text(h["C5_NUM"]) for h in headers]
        lines: dict[str, list[RowMapping]] = defaultdict(list)
        if numbers:
            statement = select(SC6).where(
                live(SC6), SC6.c.C6_NUM.in_([tr.key(SC6.c.C6_NUM, n) for n in numbers])
            )
            for r in self._all(statement):
                lines[tr.text(r["C6_NUM"])].append(r)
        return [stamp(tr.sales_order(h, lines[tr.text(h["C5_NUM"])])) for h in headers]

    def list_sales_orders(
        self, customer_code: str | None = None, status: SalesOrderStatus | None = None, limit: int = 20
    ) -> list[SalesOrder]:
        statement = select(SC5).where(live(SC5))
        if customer_code is not None:
            wanted = ids.customer_code(customer_code)
            statement = statement.where(tr.matches(SC5.c.C5_CLIENTE, wanted))
        if status is not None:
            statement = statement.where(tr.matches(SC5.c.C5_XSTATUS, tr.SALES_STATUS_CODE[status]))
        statement = statement.order_by(SC5.c.C5_EMISSAO.desc(), SC5.c.C5_NUM.desc()).limit(max(limit, 0))
        return self._sales_orders(self._all(statement))

    def get_sales_order(self, number: str) -> SalesOrder:
        wanted = ids.order_number(number)
        header = self._first(
            select(SC5).where(live(SC5), tr.matches(SC5.c.C5_NUM, wanted)).order_by(SC5.c.R_E_C_N_O_),
            lock=True,
        )
        if header is None:
            raise ids.not_found("sales_order", wanted)
        return self._sales_orders([header])[0]

    # -- purchase orders --

    def _purchase_orders(self, numbers: Sequence[str]) -> list[PurchaseOrder]:
        if not numbers:
            return []
        statement = select(SC7).where(live(SC7), SC7.c.C7_NUM.in_([tr.key(SC7.c.C7_NUM, n) for n in numbers]))
        items: dict[str, list[RowMapping]] = defaultdict(list)
        for r in self._all(statement):
            items[tr.text(r["C7_NUM"])].append(r)
        orders = [stamp(tr.purchase_order(items[n])) for n in numbers if items[n]]
        return sorted(orders, key=lambda o: (o.issued_on, o.number), reverse=True)

    def list_purchase_orders(
        self, supplier_code: str | None = None, status: PurchaseOrderStatus | None = None, limit: int = 20
    ) -> list[PurchaseOrder]:
        issued = func.max(SC7.c.C7_EMISSAO).label("issued")
        statement = select(SC7.c.C7_NUM, issued).where(live(SC7)).group_by(SC7.c.C7_NUM)
        if supplier_code is not None:
            wanted = ids.supplier_code(supplier_code)
            statement = statement.where(tr.matches(SC7.c.C7_FORNECE, wanted))
        if status is not None:
            statement = statement.where(tr.matches(SC7.c.C7_XSTATUS, tr.PURCHASE_STATUS_CODE[status]))
        statement = statement.order_by(issued.desc(), SC7.c.C7_NUM.desc()).limit(max(limit, 0))
        return self._purchase_orders([tr.text(r["C7_NUM"]) for r in self._all(statement)])

    def get_purchase_order(self, number: str) -> PurchaseOrder:
        wanted = ids.order_number(number)
        found = self._purchase_orders([wanted])
        if not found:
            raise ids.not_found("purchase_order", wanted)
        return found[0]

    # -- supplier invoices --

    def _supplier_invoices(self, headers: Sequence[RowMapping]) -> list[SupplierInvoice]:
        """Invoices with their items, read in one query whatever the number of headers."""
        numbers = sorted({tr.text(h["F1_DOC"]) for h in headers})
        items: dict[tuple[str, str, str], list[RowMapping]] = defaultdict(list)
        if numbers:
            statement = select(SD1).where(
                live(SD1), SD1.c.D1_DOC.in_([tr.key(SD1.c.D1_DOC, n) for n in numbers])
            )
            for r in self._all(statement):
                items[tr.invoice_key(r)].append(r)
        return [stamp(tr.supplier_invoice(h, items[tr.invoice_key(h, "F1")])) for h in headers]

    def list_supplier_invoices(
        self, supplier_code: str | None = None, purchase_order_number: str | None = None, limit: int = 20
    ) -> list[SupplierInvoice]:
        statement = select(SF1).where(live(SF1))
        if supplier_code is not None:
            statement = statement.where(tr.matches(SF1.c.F1_FORNECE, ids.supplier_code(supplier_code)))
        if purchase_order_number is not None:
            statement = statement.where(tr.matches(SF1.c.F1_XPEDIDO, ids.order_number(purchase_order_number)))
        statement = statement.order_by(SF1.c.F1_EMISSAO.desc(), SF1.c.F1_DOC.desc()).limit(max(limit, 0))
        return self._supplier_invoices(self._all(statement))

    def get_supplier_invoice(self, number: str) -> SupplierInvoice:
        wanted = ids.invoice_number(number)
        header = self._first(
            select(SF1).where(live(SF1), tr.matches(SF1.c.F1_DOC, wanted)).order_by(SF1.c.R_E_C_N_O_)
        )
        if header is None:
            raise ids.not_found("supplier_invoice", wanted)
        return self._supplier_invoices([header])[0]

    # -- budgets --

    def _cost_centers(self) -> dict[str, str]:
        rows = self._all(select(CTT.c.CTT_CUSTO, CTT.c.CTT_DESC01).where(live(CTT)))
        return {tr.text(r["CTT_CUSTO"]): tr.text(r["CTT_DESC01"]) for r in rows}

    def _budget(self, r: RowMapping, descriptions: dict[str, str]) -> Budget:
        cost_center, year, annual, committed, spent = tr.budget_amounts(r)
        return stamp(
            documents.budget(cost_center, descriptions.get(cost_center, ""), year, annual, committed, spent)
        )

    def list_budgets(self, year: int | None = None) -> list[Budget]:
        wanted = year if year is not None else self._today.year
        rows = self._all(
            select(ZB1)
            .where(live(ZB1), tr.matches(ZB1.c.ZB1_ANO, str(wanted)))
            .order_by(ZB1.c.ZB1_CC, ZB1.c.R_E_C_N_O_)
        )
        descriptions = self._cost_centers()
        # One budget per cost center and year; of duplicated rows (a data error) the first counts,
        # as it does for get_budget.
        budgets: dict[str, Budget] = {}
        for r in rows:
            found = self._budget(r, descriptions)
            budgets.setdefault(found.cost_center, found)
        return list(budgets.values())

    def get_budget(self, cost_center: str, year: int | None = None) -> Budget:
        code = ids.cost_center_code(cost_center)
        wanted = year if year is not None else self._today.year
        center = self._first(
            select(CTT.c.CTT_CUSTO, CTT.c.CTT_DESC01).where(live(CTT), tr.matches(CTT.c.CTT_CUSTO, code))
        )
        if center is None:
            raise ids.not_found("cost_center", code)
        found = self._first(
            select(ZB1)
            .where(live(ZB1), tr.matches(ZB1.c.ZB1_CC, code), tr.matches(ZB1.c.ZB1_ANO, str(wanted)))
            .order_by(ZB1.c.R_E_C_N_O_),
            lock=True,
        )
        if found is None:
            raise ids.no_budget(code, wanted)
        return self._budget(found, {code: tr.text(center["CTT_DESC01"])})

    # -- ledger accounts --

    def search_accounts(self, query: str, limit: int = 10) -> list[GLAccount]:
        accounts = [tr.account(r) for r in self._all(select(CT1).where(live(CT1)))]
        return rank(query, accounts, code=lambda a: a.code, text=lambda a: search_text(a.name), limit=limit)

    def account_balance(self, code: str, as_of: date | None = None) -> AccountBalance:
        dotted = ids.account_code(code)
        compact = ids.compact_account(dotted)
        found = self._first(
            select(CT1).where(live(CT1), tr.matches(CT1.c.CT1_CONTA, compact)).order_by(CT1.c.R_E_C_N_O_)
        )
        if found is None:
            raise ids.not_found("account", dotted)
        account = tr.account(found)
        day = as_of or self._today
        # Summary accounts add up everything below them: with fixed-width segments that is
        # every account whose undotted code starts with theirs.
        statement = select(CT2.c.CT2_DC, CT2.c.CT2_DEBITO, CT2.c.CT2_CREDIT, CT2.c.CT2_VALOR).where(
            live(CT2),
            tr.matches(CT2.c.CT2_MOEDLC, "01"),
            tr.to_legacy_date(day) >= CT2.c.CT2_DATA,
            CT2.c.CT2_DEBITO.startswith(compact, autoescape=True)
            | CT2.c.CT2_CREDIT.startswith(compact, autoescape=True),
        )
        debits, credits = tr.posted_amounts(self._all(statement), compact)
        return AccountBalance(
            account=account,
            as_of=day,
            debits=money(debits),
            credits=money(credits),
            balance=money(debits - credits),
        )

    def journal_entry(self, number: str) -> JournalEntry:
        """One journal entry by number (not part of the ports; used by reconciliation and tests)."""
        wanted = ids.order_number(number)
        rows = self._all(select(CT2).where(live(CT2), tr.matches(CT2.c.CT2_DOC, wanted)))
        if not rows:
            raise ids.not_found("journal entry", wanted)
        return tr.journal_entry(rows)

    def record_versions(self, refs: Sequence[str]) -> dict[str, str]:
        return versions_of(self, refs)

    def check(self, command: Command) -> None:
        validate(command, self, self._today)


# ---- the adapter --------------------------------------------------------------------------------


class LegacyErp:
    """ErpReader + ErpWriter over the legacy ERP database behind ``engine``.

    ``today`` is the ERP's clock (the default year of budgets, the date of new purchase orders);
    tests pin it. Use ``LegacyErp.open`` to get a correctly configured engine.
    """

    def __init__(self, engine: Engine, *, today: Callable[[], date] | None = None) -> None:
        self._engine = prepare_engine(engine)
        self._today = today or date.today
        self._owns_engine = False

    @classmethod
    def open(
        cls, url_or_path: str | os.PathLike[str], *, today: Callable[[], date] | None = None
    ) -> LegacyErp:
        """Open the legacy ERP at a URL or SQLite file path, upgrading its schema to head first."""
        from erp_acl.legacy.migrations import upgrade_erp_database

        engine = legacy_engine(url_or_path)
        upgrade_erp_database(engine)
        erp = cls(engine, today=today)
        erp._owns_engine = True
        return erp

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Release the connections (only of an engine ``open`` created)."""
        if self._owns_engine:
            self._engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[LegacyReader]:
        """A reader on one read transaction: several reads that see one consistent state."""
        with reachable(self._engine), self._engine.connect() as conn:
            yield LegacyReader(conn, self._today())

    # -- ErpReader --

    def search_customers(self, query: str, limit: int = 10) -> list[Customer]:
        with self.reading() as reader:
            return reader.search_customers(query, limit)

    def get_customer(self, code: str) -> Customer:
        with self.reading() as reader:
            return reader.get_customer(code)

    def search_suppliers(self, query: str, limit: int = 10) -> list[Supplier]:
        with self.reading() as reader:
            return reader.search_suppliers(query, limit)

    def get_supplier(self, code: str) -> Supplier:
        with self.reading() as reader:
            return reader.get_supplier(code)

    def search_products(self, query: str, limit: int = 10) -> list[Product]:
        with self.reading() as reader:
            return reader.search_products(query, limit)

    def get_product(self, code: str) -> Product:
        with self.reading() as reader:
            return reader.get_product(code)

    def stock_report(self, product_code: str) -> StockReport:
        with self.reading() as reader:
            return reader.stock_report(product_code)

    def list_sales_orders(
        self, customer_code: str | None = None, status: SalesOrderStatus | None = None, limit: int = 20
    ) -> list[SalesOrder]:
        with self.reading() as reader:
            return reader.list_sales_orders(customer_code, status, limit)

    def get_sales_order(self, number: str) -> SalesOrder:
        with self.reading() as reader:
            return reader.get_sales_order(number)

    def list_purchase_orders(
        self, supplier_code: str | None = None, status: PurchaseOrderStatus | None = None, limit: int = 20
    ) -> list[PurchaseOrder]:
        with self.reading() as reader:
            return reader.list_purchase_orders(supplier_code, status, limit)

    def get_purchase_order(self, number: str) -> PurchaseOrder:
        with self.reading() as reader:
            return reader.get_purchase_order(number)

    def list_supplier_invoices(
        self, supplier_code: str | None = None, purchase_order_number: str | None = None, limit: int = 20
    ) -> list[SupplierInvoice]:
        with self.reading() as reader:
            return reader.list_supplier_invoices(supplier_code, purchase_order_number, limit)

    def get_supplier_invoice(self, number: str) -> SupplierInvoice:
        with self.reading() as reader:
            return reader.get_supplier_invoice(number)

    def list_budgets(self, year: int | None = None) -> list[Budget]:
        with self.reading() as reader:
            return reader.list_budgets(year)

    def get_budget(self, cost_center: str, year: int | None = None) -> Budget:
        with self.reading() as reader:
            return reader.get_budget(cost_center, year)

    def search_accounts(self, query: str, limit: int = 10) -> list[GLAccount]:
        with self.reading() as reader:
            return reader.search_accounts(query, limit)

    def account_balance(self, code: str, as_of: date | None = None) -> AccountBalance:
        with self.reading() as reader:
            return reader.account_balance(code, as_of)

    def journal_entry(self, number: str) -> JournalEntry:
        with self.reading() as reader:
            return reader.journal_entry(number)

    def record_versions(self, refs: Sequence[str]) -> dict[str, str]:
        with self.reading() as reader:
            return reader.record_versions(refs)

    def check(self, command: Command) -> None:
        with self.reading() as reader:
            reader.check(command)

    # -- ErpWriter --

    def apply(self, command: Command, idempotency_key: str, fingerprint: str) -> Receipt:
        documents.check_key(idempotency_key)
        for attempt in range(1, _APPLY_ATTEMPTS + 1):
            try:
                with reachable(self._engine), self._engine.connect() as conn:
                    conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
                    with conn.begin():
                        return self._apply_in(conn, command, idempotency_key, fingerprint)
            except IntegrityError:
                # Another transaction inserted this key between our ledger read and insert (it
                # can on PostgreSQL); it has committed or rolled back by now, so look again.
                if attempt == _APPLY_ATTEMPTS:
                    raise ErpUnavailable(
                        f"could not record idempotency key {idempotency_key} after {attempt} attempts"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        with reachable(self._engine), self._engine.connect() as conn:
            found = (
                conn.execute(select(ZCS).where(tr.equals(ZCS.c.ZCS_CHAVE, idempotency_key)))
                .mappings()
                .first()
            )
        if found is None or found["ZCS_RECIBO"] is None:
            return None
        return Receipt.model_validate_json(found["ZCS_RECIBO"]).model_copy(update={"replayed": True})

    def ledger(self) -> Iterator[Receipt]:
        """Every receipt in the idempotency ledger, oldest first (streamed)."""
        with reachable(self._engine), self._engine.connect() as conn:
            rows = conn.execute(
                select(ZCS.c.ZCS_RECIBO).where(ZCS.c.ZCS_RECIBO.is_not(None)).order_by(ZCS.c.ZCS_CRIADO)
            )
            for (text,) in rows:
                yield Receipt.model_validate_json(str(text))

    def ledger_entries(self) -> Iterator[LedgerEntry]:
        """Every ledger row, oldest first, streamed from one query."""
        with reachable(self._engine), self._engine.connect() as conn:
            rows = conn.execution_options(yield_per=_STREAM_BATCH).execute(
                select(ZCS).order_by(ZCS.c.ZCS_CRIADO, ZCS.c.ZCS_CHAVE)
            )
            for r in rows.mappings():
                yield tr.ledger_entry(r)

    def landed_documents(self) -> Iterator[LandedDocument]:
        """Every live purchase order, then every live journal entry, that carries a reference:
        one streamed query per document type, ordered so that a document's rows come together."""
        with reachable(self._engine), self._engine.connect() as conn:
            streamed = conn.execution_options(yield_per=_STREAM_BATCH)
            items = streamed.execute(
                select(SC7).where(live(SC7), SC7.c.C7_XREF != "").order_by(SC7.c.C7_NUM, SC7.c.C7_ITEM)
            )
            for _, order_rows in itertools.groupby(items.mappings(), key=lambda r: r["C7_NUM"]):
                yield tr.landed_order(order_rows)
            postings = streamed.execute(
                select(CT2).where(live(CT2), CT2.c.CT2_XREF != "").order_by(CT2.c.CT2_DOC, CT2.c.CT2_LINHA)
            )
            for _, entry_rows in itertools.groupby(postings.mappings(), key=lambda r: r["CT2_DOC"]):
                yield tr.landed_entry(entry_rows)

    # -- ErpEvents --

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite), as ``apply`` uses."""
        with reachable(self._engine), self._engine.connect() as conn:
            conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

    def scan_events(self, now: datetime) -> list[BusinessEvent]:
        """Detect the watched conditions (one query each) and record which alerts started or
        cleared, in one transaction; returns the newly started events."""
        for attempt in range(1, _APPLY_ATTEMPTS + 1):
            try:
                with self._writing() as conn:
                    return alerts.scan(conn, now)
            except IntegrityError:
                # A concurrent scan opened the same alert first (PostgreSQL); look again.
                if attempt == _APPLY_ATTEMPTS:
                    raise ErpUnavailable(
                        f"could not record the ERP's alerts after {attempt} attempts"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def unpublished_events(self, limit: int = 100) -> list[BusinessEvent]:
        check_limit(limit)
        with reachable(self._engine), self._engine.connect() as conn:
            return alerts.unpublished(conn, limit)

    def mark_events_published(self, event_ids: Sequence[str]) -> None:
        with self._writing() as conn:
            alerts.mark_published(conn, event_ids, documents.now())

    # -- what the ERP's own users do (not Countersign commands) --

    def record_stock_issue(
        self, product_code: str, quantity: Decimal | int | str, warehouse: str = "01"
    ) -> StockReport:
        """What the ERP's own users do (a goods issue): take ``quantity`` out of a warehouse.

        Not a Countersign command and not on the ports (no ledger, no approval): tests and the
        demo use it to make stock fall below its reorder point. Raises ``ValidationFailed`` for a
        quantity that is not positive or more than the warehouse holds."""
        place = documents.warehouse_of(warehouse)
        issued = documents.issue_quantity(quantity)
        with self._writing() as conn:
            reader = LegacyReader(conn, self._today(), lock_rows=True)
            before = reader.stock_report(product_code)
            level = next(level for level in before.levels if level.warehouse is place)
            documents.check_stock_issue(before.product_code, place, level.on_hand, issued)
            # Duplicate stock rows of one warehouse add up when read; the issue takes from the first.
            first_row = select(func.min(SB2.c.R_E_C_N_O_)).where(
                live(SB2),
                tr.matches(SB2.c.B2_COD, before.product_code),
                tr.matches(SB2.c.B2_LOCAL, tr.WAREHOUSE_CODE[place]),
            )
            conn.execute(
                update(SB2)
                .where(SB2.c.R_E_C_N_O_.in_(first_row))
                .values(B2_QATU=SB2.c.B2_QATU - tr.to_quantity(issued))
            )
            return reader.stock_report(before.product_code)

    def _apply_in(self, conn: Connection, command: Command, key: str, fingerprint: str) -> Receipt:
        stored = conn.execute(select(ZCS).where(tr.equals(ZCS.c.ZCS_CHAVE, key))).mappings().first()
        if stored is not None:
            if stored["ZCS_HASH"] != fingerprint:
                raise documents.conflict(key)
            if stored["ZCS_RECIBO"] is None:
                raise ErpError(f"the ledger entry of {key} has no receipt; the ERP needs attention")
            return Receipt.model_validate_json(stored["ZCS_RECIBO"]).model_copy(update={"replayed": True})

        stamp_time = datetime.now(UTC).isoformat()
        conn.execute(
            insert(ZCS).values(
                ZCS_CHAVE=key,
                ZCS_HASH=fingerprint,
                ZCS_ACAO=command.action,
                ZCS_COMANDO=command.model_dump_json(),
                ZCS_RECIBO=None,
                ZCS_CRIADO=stamp_time,
                ZCS_ALTERA=stamp_time,
            )
        )
        today = self._today()
        reader = LegacyReader(conn, today, lock_rows=True)
        check_versions(command, reader)
        validate(command, reader, today)
        receipt = self._write(conn, reader, command, key, fingerprint, today)
        conn.execute(
            update(ZCS)
            .where(tr.equals(ZCS.c.ZCS_CHAVE, key))
            .values(ZCS_RECIBO=receipt.model_dump_json(), ZCS_ALTERA=receipt.committed_at.isoformat())
        )
        return receipt

    def _next_number(self, conn: Connection, document: str) -> str:
        """The next number of a document type, from the numbering table (ZSQ010)."""
        bumped = conn.execute(
            update(ZSQ)
            .where(live(ZSQ), tr.matches(ZSQ.c.ZSQ_CHAVE, document))
            .values(ZSQ_ULTIMO=ZSQ.c.ZSQ_ULTIMO + 1)
        )
        if bumped.rowcount:
            value = int(
                conn.execute(
                    select(ZSQ.c.ZSQ_ULTIMO).where(live(ZSQ), tr.matches(ZSQ.c.ZSQ_CHAVE, document))
                ).scalar_one()
            )
        else:
            # No numbering row yet (an ERP created empty): continue after the highest number in
            # use, deleted rows included, so a number is never reused.
            column = _NUMBERED[document]
            highest = conn.execute(select(func.max(column))).scalar_one_or_none()
            value = int(tr.text(highest) or 0) + 1
            conn.execute(insert(ZSQ).values(tr.row(ZSQ, ZSQ_CHAVE=document, ZSQ_ULTIMO=value)))
        return f"{value:0{ids.ORDER_NUMBER_WIDTH}d}"

    def _write(
        self,
        conn: Connection,
        reader: LegacyReader,
        command: Command,
        key: str,
        fingerprint: str,
        today: date,
    ) -> Receipt:
        if isinstance(command, CreatePurchaseOrder):
            return self._create_purchase_order(conn, reader, command, key, fingerprint, today)
        if isinstance(command, PostJournalEntry):
            return self._post_journal_entry(conn, command, key, fingerprint)
        if isinstance(command, ChangeCreditLimit):
            return self._change_credit_limit(conn, reader, command, key, fingerprint)
        if isinstance(command, CancelSalesOrder):
            return self._cancel_sales_order(conn, reader, command, key, fingerprint)
        if isinstance(command, CancelPurchaseOrder):
            return self._cancel_purchase_order(conn, reader, command, key, fingerprint)
        return self._change_price(conn, reader, command, key, fingerprint)

    def _create_purchase_order(
        self,
        conn: Connection,
        reader: LegacyReader,
        command: CreatePurchaseOrder,
        key: str,
        fingerprint: str,
        today: date,
    ) -> Receipt:
        plan = documents.plan_purchase_order(command, reader, today)
        number = self._next_number(conn, "SC7")
        order = PurchaseOrder(
            number=number,
            supplier_code=plan.supplier.code,
            issued_on=plan.issued_on,
            cost_center=plan.cost_center,
            status=PurchaseOrderStatus.OPEN,
            lines=plan.lines,
            total=plan.total,
            memo=plan.memo,
            reference=key,
        )
        conn.execute(insert(SC7), tr.purchase_order_rows(order))
        # Committing the order's value against the budget is one SQL increment, not a
        # read-modify-write, so it cannot lose a concurrent commitment.
        committed = conn.execute(
            update(ZB1)
            .where(
                live(ZB1),
                tr.matches(ZB1.c.ZB1_CC, plan.cost_center),
                tr.matches(ZB1.c.ZB1_ANO, str(today.year)),
            )
            .values(ZB1_EMPEN=ZB1.c.ZB1_EMPEN + tr.to_cents(plan.total))
        )
        if committed.rowcount != 1:
            raise ErpError(f"the budget of {plan.cost_center} for {today.year} could not be committed")
        return documents.receipt(
            command.action,
            documents.PURCHASE_ORDER,
            number,
            documents.purchase_order_summary(number, plan),
            key,
            fingerprint,
        )

    def _post_journal_entry(
        self, conn: Connection, command: PostJournalEntry, key: str, fingerprint: str
    ) -> Receipt:
        number = self._next_number(conn, "CT2")
        entry = JournalEntry(
            number=number,
            entry_date=command.entry_date,
            description=command.description.strip(),
            lines=documents.journal_lines(command),
            reference=key,
        )
        conn.execute(insert(CT2), tr.journal_rows(entry, tr.COUNTERSIGN_BATCH))
        return documents.receipt(
            command.action,
            documents.JOURNAL_ENTRY,
            number,
            documents.journal_entry_summary(number, command),
            key,
            fingerprint,
        )

    def _change_credit_limit(
        self, conn: Connection, reader: LegacyReader, command: ChangeCreditLimit, key: str, fingerprint: str
    ) -> Receipt:
        customer = reader.get_customer(command.customer_code)
        conn.execute(
            update(SA1)
            .where(live(SA1), tr.matches(SA1.c.A1_COD, customer.code))
            .values(A1_LC=tr.to_cents(command.new_limit))
        )
        return documents.receipt(
            command.action,
            documents.CUSTOMER,
            customer.code,
            documents.credit_limit_summary(customer, command),
            key,
            fingerprint,
        )

    def _cancel_sales_order(
        self, conn: Connection, reader: LegacyReader, command: CancelSalesOrder, key: str, fingerprint: str
    ) -> Receipt:
        order = reader.get_sales_order(command.order_number)
        conn.execute(
            update(SC5)
            .where(live(SC5), tr.matches(SC5.c.C5_NUM, order.number))
            .values(
                C5_XSTATUS=tr.SALES_STATUS_CODE[SalesOrderStatus.CANCELLED], C5_XMOTCAN=command.reason.strip()
            )
        )
        return documents.receipt(
            command.action,
            documents.SALES_ORDER,
            order.number,
            documents.cancellation_summary(order, command),
            key,
            fingerprint,
        )

    def _cancel_purchase_order(
        self, conn: Connection, reader: LegacyReader, command: CancelPurchaseOrder, key: str, fingerprint: str
    ) -> Receipt:
        order = reader.get_purchase_order(command.order_number)
        # Only rows still open are cancelled: an order received meanwhile makes the count differ
        # and the whole transaction (ledger row included) roll back.
        cancelled = conn.execute(
            update(SC7)
            .where(
                live(SC7),
                tr.matches(SC7.c.C7_NUM, order.number),
                tr.matches(SC7.c.C7_XSTATUS, tr.PURCHASE_STATUS_CODE[PurchaseOrderStatus.OPEN]),
            )
            .values(
                C7_XSTATUS=tr.PURCHASE_STATUS_CODE[PurchaseOrderStatus.CANCELLED],
                C7_XMOTCAN=command.reason.strip(),
            )
        )
        if cancelled.rowcount != len(order.lines):
            raise ErpError(
                f"purchase order {order.number} changed while it was being cancelled; nothing was written"
            )
        # One SQL decrement (never below zero, as documents.released says), not a read-modify-write.
        cents = tr.to_cents(order.total)
        released = conn.execute(
            update(ZB1)
            .where(
                live(ZB1),
                tr.matches(ZB1.c.ZB1_CC, order.cost_center),
                tr.matches(ZB1.c.ZB1_ANO, str(order.issued_on.year)),
            )
            .values(ZB1_EMPEN=case((cents < ZB1.c.ZB1_EMPEN, ZB1.c.ZB1_EMPEN - cents), else_=0))
        )
        if released.rowcount != 1:
            raise ErpError(
                f"the budget of {order.cost_center} for {order.issued_on.year} could not be released"
            )
        return documents.receipt(
            command.action,
            documents.PURCHASE_ORDER,
            order.number,
            documents.purchase_cancellation_summary(order, command),
            key,
            fingerprint,
        )

    def _change_price(
        self, conn: Connection, reader: LegacyReader, command: ChangePrice, key: str, fingerprint: str
    ) -> Receipt:
        product = reader.get_product(command.product_code)
        conn.execute(
            update(SB1)
            .where(live(SB1), tr.matches(SB1.c.B1_COD, product.code))
            .values(B1_PRV1=tr.to_amount_text(command.new_price))
        )
        return documents.receipt(
            command.action,
            documents.PRODUCT,
            product.code,
            documents.price_summary(product, command),
            key,
            fingerprint,
        )
