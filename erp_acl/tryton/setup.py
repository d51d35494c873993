"""Prepare a Tryton (8.2) SQLite database holding Countersign's whole demo seed, for tests and demos.

``prepare_database`` does it all, in about 80 s on a two-core machine (``timings`` says where):

1. ``trytond-admin`` (a subprocess) creates the database and activates ``MODULES`` (purchase,
   sale, stock, account_invoice, account_credit_limit, stock_supply and their dependencies).
2. A temporarily started ``trytond`` is filled over JSON-RPC only (no in-process Tryton API) with
   everything ``erp_acl.seed_data.generate(1)`` holds that Tryton has a place for, where
   ``conventions`` says it lives (``demo_import.DemoImport`` does the writing, batched: ``create``
   and workflow-button calls of up to a hundred records each, never one call per record):

   - currency BRL and the company (the admin user's context reloaded onto it);
   - the seed's chart of accounts as THE company chart (84 accounts: summary accounts are view
     accounts without a type, postable ones typed by kind; the closed one closed), two code-less
     per-party accounts Tryton's invoices need as defaults (see ``demo_import.PARTY_RECEIVABLE``),
     and fiscal years with monthly periods for every year the seed uses, today's and next year;
   - two warehouses, codes ``01`` and ``02``;
   - country BR and the states the seed uses (subdivisions ``BR-<state>``);
   - all 200 customers and 30 suppliers as parties (categories, code, name, trade name, city and
     state on their address, tax identifier, e-mail, credit limit, memo as a note; blocked ones
     inactive);
   - one unit of measure per bundled unit code, all 500 products (prices, cost, memo; blocked
     ones inactive) with a purchase order point in warehouse 01 holding the reorder point, and
     stock on hand per warehouse (confirmed inventories of the warehouses' storage locations);
   - the 600 journal entries, posted in the ``MISC`` journal (numbered ``000001``... as the seed);
   - the 1,000 sales and 300 purchase orders, quoted in number order so Tryton's six-digit
     sequences give them the seed's numbers; cancelled ones cancelled, open purchases confirmed.

3. With the server stopped, ``demo_import.mark_history_done`` marks invoiced sales and received
   purchases ``done`` directly in the SQLite file (replaying shipments, invoices and payments
   would take minutes), and ``settle`` folds the write-ahead log into the file.

Not loaded (Tryton has no place for them here): cost centers' budgets, supplier invoices and
reserved quantities; ``DemoSummary.notes`` lists these gaps.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from erp_acl.domain import COMPANY_CURRENCY
from erp_acl.errors import ErpError
from erp_acl.seed_data import DEFAULT_SEED, SeedData, generate
from erp_acl.tryton.conventions import CUSTOMER_CATEGORY, SUPPLIER_CATEGORY, WAREHOUSE_CODES
from erp_acl.tryton.demo_import import (
    CNPJ,
    PRODUCT_CATEGORY,
    WAREHOUSE_NAMES,
    DemoImport,
    mark_history_done,
)
from erp_acl.tryton.rpc import TrytonRpc, one_line
from erp_acl.tryton.server import clean_environment, start_server, tryton_command, write_config

__all__ = [
    "ADMIN",
    "CNPJ",
    "COMPANY_NAME",
    "CUSTOMER_CATEGORY",
    "MODULES",
    "PRODUCT_CATEGORY",
    "SUPPLIER_CATEGORY",
    "WAREHOUSE_CODES",
    "WAREHOUSE_NAMES",
    "DemoSummary",
    "Progress",
    "copy_database",
    "create_database",
    "populate",
    "prepare_database",
    "settle",
]

Progress = Callable[[str], None]
"""Told each step's name as it starts (e.g. ``"chart of accounts"``)."""

MODULES = ("purchase", "sale", "stock", "account_invoice", "account_credit_limit", "stock_supply")
ADMIN = "admin"
COMPANY_NAME = "Countersign Demo Ltda"
NOTES = [
    "budgets (cost centers) are not loaded: Tryton has no budgets; purchases name their cost center "
    "in their comment",
    "supplier invoices are not loaded",
    "reserved quantities are not loaded: Tryton reserves nothing without a reservation module",
    "invoiced sales and received purchases were set done in the SQLite file: no shipments, invoices "
    "or payments stand behind them",
    "tax ids that are not valid CNPJs (a few hand-written ones, the European VAT numbers) are untyped "
    "party identifiers",
    "Tryton's default receivable and payable accounts are two code-less per-party accounts under "
    "1.1.03 and 2.1.01; the seed's 1.1.03.001 and 2.1.01.001 take lines without a party",
]


@dataclass(frozen=True)
class DemoSummary:
    """What ``prepare_database`` made, and how long each step took (seconds)."""

    database: Path
    counts: dict[str, int]
    timings: dict[str, float]
    notes: list[str] = field(default_factory=list)


def _silent(_: str) -> None:
    return None


# ---- the database ---------------------------------------------------------------------------------


def create_database(
    directory: Path,
    name: str,
    *,
    admin_password: str = ADMIN,
    admin_email: str = "admin@example.com",
    modules: Sequence[str] = MODULES,
    timeout: float = 300.0,
) -> Path:
    """Create ``<directory>/<name>.sqlite`` with ``modules`` activated (``trytond-admin``)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.sqlite"
    if path.exists():
        raise ErpError(f"the Tryton database {path} already exists")
    path.touch()  # Tryton's SQLite backend opens an existing file only
    config = write_config(directory)
    password_file = directory / f".{name}.adminpass"
    password_file.write_text(admin_password, encoding="utf-8")
    password_file.chmod(0o600)
    env = {**clean_environment(), "TRYTONPASSFILE": str(password_file)}
    command = [
        tryton_command("trytond-admin"),
        "-c",
        str(config),
        "-d",
        name,
        "-u",
        *modules,
        "--activate-dependencies",
        "--email",
        admin_email,
    ]
    try:
        done = subprocess.run(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        path.unlink(missing_ok=True)
        raise ErpError(f"trytond-admin did not finish creating {name!r} within {timeout:.0f} s") from None
    finally:
        password_file.unlink(missing_ok=True)
    if done.returncode != 0:
        path.unlink(missing_ok=True)
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ErpError(
            f"trytond-admin failed to create {name!r} (exit {done.returncode}): "
            f"{one_line(lines[-1] if lines else 'no output')}"
        )
    return path


def prepare_database(
    path_or_name: Path | str,
    *,
    directory: Path | None = None,
    admin_password: str = ADMIN,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create a Tryton SQLite database and fill it with the demo company and the whole scale-1 seed.

    ``path_or_name`` is either the database file (``.../demo.sqlite``) or a bare name, created in
    ``directory`` (default: the current directory). Fails (``ErpError``) if it already exists.
    ``progress`` is told each step as it starts; ``DemoSummary.timings`` says how long each took.
    """
    say = progress or _silent
    target = Path(path_or_name)
    if target.suffix == ".sqlite" or len(target.parts) > 1:
        directory, name = target.resolve().parent, target.stem
    else:
        directory, name = (directory or Path.cwd()).resolve(), str(path_or_name)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = generate(1, seed)
    with _timed(f"creating database {name!r} and activating {', '.join(MODULES)} (trytond-admin)", say) as t:
        path = create_database(directory, name, admin_password=admin_password)
    timings["create database"] = t()

    try:
        with _timed("starting trytond", say) as t, start_server(directory, name) as server:
            timings["start server"] = t()
            rpc = server.client(ADMIN, admin_password)
            counts, notes = populate(rpc, data=data, progress=say, timings=timings)
            rpc.logout()
            step = time.perf_counter()
            say("stopping trytond")
        timings["stop server"] = round(time.perf_counter() - step, 3)

        with _timed("finishing invoiced sales and received purchases (in the SQLite file)", say) as t:
            counts.update(mark_history_done(path, data))
            settle(path)
        timings["finish history (SQLite)"] = t()
    except BaseException:
        # A half-filled database is of no use, and its file would block the next attempt.
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    timings["total"] = round(time.perf_counter() - started, 3)
    say(f"done in {timings['total']:.1f} s")
    return DemoSummary(database=path, counts=counts, timings=timings, notes=notes)


@contextmanager
def _timed(label: str, say: Progress) -> Iterator[Callable[[], float]]:
    """Announce ``label``; yields a function giving the seconds since (rounded to ms)."""
    say(label)
    begun = time.perf_counter()
    yield lambda: round(time.perf_counter() - begun, 3)


def settle(path: Path) -> None:
    """Fold SQLite's write-ahead log into the database file, so the file alone holds everything.

    Tryton opens SQLite in WAL mode and a stopped server leaves ``<name>.sqlite-wal`` behind: a
    copy of the ``.sqlite`` alone would miss the latest writes (and a stale ``-wal`` next to a
    fresh copy would be replayed into it). Call with no server running on the file.
    """
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=DELETE")  # checkpoints, then removes the -wal/-shm files


def copy_database(source: Path, directory: Path, name: str) -> Path:
    """Copy a prepared (settled) database file to ``<directory>/<name>.sqlite``; milliseconds."""
    if Path(f"{source}-wal").exists():
        settle(source)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}.sqlite"
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


# ---- filling it over JSON-RPC ---------------------------------------------------------------------


def populate(
    rpc: TrytonRpc,
    *,
    data: SeedData | None = None,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Fill a freshly created database (logged in as admin) with ``data`` (default: the scale-1
    seed of ``seed``) over JSON-RPC; returns (counts, notes). Invoiced sales and received
    purchases are left as quotations: ``demo_import.mark_history_done`` finishes them once the
    server is stopped (``prepare_database`` does)."""
    say = progress or _silent
    timings = timings if timings is not None else {}
    seed_data = data if data is not None else generate(1, seed)
    load = DemoImport(rpc, seed_data)
    years = sorted(
        {e.entry_date.year for e in seed_data.journal_entries}
        | {o.issued_on.year for o in seed_data.sales_orders}
        | {o.issued_on.year for o in seed_data.purchase_orders}
        | {date.today().year, date.today().year + 1}
    )
    steps: list[tuple[str, Callable[[], None]]] = [
        ("currency and company", lambda: load.make_company(COMPANY_NAME, COMPANY_CURRENCY)),
        ("chart of accounts", load.make_chart),
        ("fiscal years", lambda: load.make_fiscal_years(years)),
        ("warehouses", load.make_warehouses),
        ("country and states", load.make_places),
        ("customers and suppliers", load.make_parties),
        ("units and products (with order points)", load.make_products),
        ("stock on hand (inventories)", load.make_stock),
        ("journal entries (posted)", load.make_journal_entries),
        ("sales orders", load.make_sales_orders),
        ("purchase orders", load.make_purchase_orders),
        ("blocked customers and suppliers", load.block_parties),
    ]
    for label, run in steps:
        with _timed(label, say) as t:
            run()
        timings[label] = t()
    return dict(load.counts), list(NOTES)
