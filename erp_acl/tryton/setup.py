"""Prepare a Tryton (8.2) SQLite database with Countersign's demo data, for tests and demos.

``prepare_database`` does it all: ``trytond-admin`` (a subprocess) creates the database and
activates purchase, sale, stock and account_invoice; then a temporarily started ``trytond`` is
filled over JSON-RPC only (no in-process Tryton API): currency BRL, a company (and the admin
user's context reloaded onto it), the minimal chart of accounts from its template through the
``account.create_chart`` wizard, fiscal years with monthly periods, two warehouses, an
accounting product category, and a slice of ``erp_acl.seed_data.generate()``: its first
customers and suppliers (F00001 Fastenal included) and products (HB-M8-40 included), with the
same codes, prices, costs and stock on hand per warehouse (set through stock inventories).

Customers and suppliers are parties in Tryton; the party categories ``Customer`` and ``Supplier``
tell them apart. Tryton without ``account_credit_limit`` has no credit-limit field, so customers'
credit limits are not stored (see ``DemoSummary.notes``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from erp_acl.domain import COMPANY_CURRENCY, Warehouse
from erp_acl.errors import ErpError
from erp_acl.seed_data import DEFAULT_SEED, TODAY, generate
from erp_acl.tryton.rpc import TrytonRpc, one_line
from erp_acl.tryton.server import clean_environment, start_server, tryton_command, write_config

T = TypeVar("T")

Progress = Callable[[str], None]
"""Told each step's name as it starts (e.g. ``"chart of accounts"``)."""

MODULES = ("purchase", "sale", "stock", "account_invoice")
ADMIN = "admin"
COMPANY_NAME = "Countersign Demo Ltda"
CUSTOMER_CATEGORY = "Customer"
SUPPLIER_CATEGORY = "Supplier"
PRODUCT_CATEGORY = "Goods"
CNPJ = "br_vat"
"""Tryton's identifier type for a CNPJ (python-stdnum's ``br_cnpj``, renamed as a VAT number)."""
CHART_TEMPLATE = "Universal Chart of Accounts"
"""The account module's minimal chart (English root template), copied by ``account.create_chart``."""
WAREHOUSE_CODES = {Warehouse.MAIN: "01", Warehouse.SECONDARY: "02"}
"""Codes of the two warehouses, as the bundled ERP numbers them."""
WAREHOUSE_NAMES = {Warehouse.MAIN: "Main warehouse", Warehouse.SECONDARY: "Secondary warehouse"}


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
    customers: int = 10,
    suppliers: int = 5,
    products: int = 20,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> DemoSummary:
    """Create a Tryton SQLite database and fill it with the demo company and data.

    ``path_or_name`` is either the database file (``.../demo.sqlite``) or a bare name, created in
    ``directory`` (default: the current directory). Fails (``ErpError``) if it already exists.
    """
    say = progress or _silent
    target = Path(path_or_name)
    if target.suffix == ".sqlite" or len(target.parts) > 1:
        directory, name = target.resolve().parent, target.stem
    else:
        directory, name = (directory or Path.cwd()).resolve(), str(path_or_name)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    say(f"creating database {name!r} and activating {', '.join(MODULES)} (trytond-admin)")
    path = create_database(directory, name, admin_password=admin_password)
    timings["create database"] = round(time.perf_counter() - started, 3)

    step = time.perf_counter()
    say("starting trytond")
    with start_server(directory, name) as server:
        timings["start server"] = round(time.perf_counter() - step, 3)
        rpc = server.client(ADMIN, admin_password)
        counts, notes = populate(
            rpc,
            customers=customers,
            suppliers=suppliers,
            products=products,
            seed=seed,
            progress=say,
            timings=timings,
        )
        rpc.logout()
    settle(path)
    timings["total"] = round(time.perf_counter() - started, 3)
    say(f"done in {timings['total']:.1f} s")
    return DemoSummary(database=path, counts=counts, timings=timings, notes=notes)


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


def one_id(rpc: TrytonRpc, model: str, domain: Sequence[Any], what: str) -> int:
    ids = rpc.search(model, domain, limit=1)
    if not ids:
        raise ErpError(f"Tryton has no {what}")
    return ids[0]


def populate(
    rpc: TrytonRpc,
    *,
    customers: int = 10,
    suppliers: int = 5,
    products: int = 20,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Fill a freshly created database (logged in as admin); returns (counts, notes)."""
    say = progress or _silent
    timings = timings if timings is not None else {}
    data = generate(1, seed)
    counts: dict[str, int] = {}
    notes: list[str] = []

    def timed(label: str) -> Callable[[], None]:
        say(label)
        begun = time.perf_counter()

        def finish() -> None:
            timings[label] = round(time.perf_counter() - begun, 3)

        return finish

    finish = timed("currency and company")
    company = _company(rpc)
    finish()

    finish = timed("chart of accounts and fiscal years")
    accounts = _chart(rpc, company)
    for year in sorted({TODAY.year, date.today().year, date.today().year + 1}):
        _fiscal_year(rpc, company, year)
    finish()

    finish = timed("warehouses")
    storage = _warehouses(rpc)
    finish()

    finish = timed("customers and suppliers")
    party_categories = {
        name: rpc.create("party.category", [{"name": name}])[0]
        for name in (CUSTOMER_CATEGORY, SUPPLIER_CATEGORY)
    }
    chosen_suppliers = _chosen(data.suppliers, suppliers, must=("F00001",))
    rpc.create(
        "party.party",
        [
            _party(c.code, c.name, c.tax_id, c.city, "", party_categories[CUSTOMER_CATEGORY])
            for c in data.customers[:customers]
        ]
        + [
            _party(s.code, s.name, s.tax_id, s.city, s.email, party_categories[SUPPLIER_CATEGORY])
            for s in chosen_suppliers
        ],
    )
    counts["customers"] = min(customers, len(data.customers))
    counts["suppliers"] = len(chosen_suppliers)
    notes.append("customers' credit limits are not stored: Tryton needs account_credit_limit for them")
    finish()

    finish = timed("products")
    category = rpc.create(
        "product.category",
        [
            {
                "name": PRODUCT_CATEGORY,
                "accounting": True,
                "account_expense": accounts["expense"],
                "account_revenue": accounts["revenue"],
            }
        ],
    )[0]
    unit = one_id(rpc, "product.uom", [("name", "=", "Unit")], "unit of measure 'Unit'")
    chosen_products = _chosen(data.products, products, must=("HB-M8-40",))
    rpc.create(
        "product.template",
        [
            {
                "name": p.description,
                "code": p.code,
                "type": "goods",
                "default_uom": unit,
                "purchase_uom": unit,
                "sale_uom": unit,
                "purchasable": True,
                "salable": True,
                "list_price": p.list_price.amount,
                "account_category": category,
                "products": [("create", [{"cost_price": p.standard_cost.amount}])],
            }
            for p in chosen_products
        ],
    )
    counts["products"] = len(chosen_products)
    finish()

    finish = timed("stock on hand (inventories)")
    product_ids = {
        row["code"]: row["id"]
        for row in rpc.search_read(
            "product.product", [("code", "in", [p.code for p in chosen_products])], ["code"]
        )
    }
    levels = [s for s in data.stock if s.product_code in product_ids and s.on_hand > 0]
    inventories = []
    for warehouse, location in storage.items():
        lines = [
            {"product": product_ids[s.product_code], "quantity": float(s.on_hand)}
            for s in levels
            if s.warehouse == warehouse
        ]
        if lines:
            inventories.extend(
                rpc.create(
                    "stock.inventory",
                    [{"location": location, "date": date.today(), "lines": [("create", lines)]}],
                )
            )
    if inventories:
        rpc.button("stock.inventory", "confirm", inventories)
    counts["stock_levels"] = len(levels)
    notes.append(
        "units: every product is in Tryton's 'Unit' (u); the bundled ERP's unit codes are not mapped"
    )
    finish()
    return counts, notes


def _chosen(items: Sequence[T], count: int, must: Sequence[str]) -> list[T]:
    """The first ``count`` items, making room for the ``must`` codes (kept in code order)."""
    required = [i for i in items if getattr(i, "code", None) in must]
    others = [i for i in items if getattr(i, "code", None) not in must]
    picked = required + others[: max(count - len(required), 0)]
    return sorted(picked, key=lambda i: str(getattr(i, "code", "")))


def _party(code: str, name: str, tax_id: str, city: str, email: str, category: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": name,
        "code": code,
        "categories": [("add", [category])],
        "addresses": [("create", [{"city": city}])],
    }
    if tax_id:
        # Tryton checks a CNPJ's digits; a few hand-written demo ids fail that check: kept untyped.
        kind = CNPJ if _valid_cnpj(tax_id) else None
        values["identifiers"] = [("create", [{"type": kind, "code": tax_id}])]
    if email:
        values["contact_mechanisms"] = [("create", [{"type": "email", "value": email}])]
    return values


def _valid_cnpj(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if len(digits) != 14:
        return False
    for size, weights in (
        (12, (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)),
        (13, (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)),
    ):
        remainder = sum(d * w for d, w in zip(digits[:size], weights, strict=True)) % 11
        if digits[size] != (0 if remainder < 2 else 11 - remainder):
            return False
    return True


def _company(rpc: TrytonRpc) -> int:
    currency = rpc.create(
        "currency.currency",
        [
            {
                "name": "Brazilian Real",
                "code": COMPANY_CURRENCY,
                "symbol": "R$",
                "numeric_code": "986",
                "rounding": Decimal("0.01"),
                "digits": 2,
            }
        ],
    )[0]
    party = rpc.create("party.party", [{"name": COMPANY_NAME}])[0]
    company = rpc.create("company.company", [{"party": party, "currency": currency}])[0]
    admin = rpc.user_id
    assert admin is not None
    rpc.write("res.user", [admin], {"companies": [("add", [company])], "company": company})
    context = rpc.reload_context()
    if context.get("company") != company:
        raise ErpError("Tryton did not switch the admin user to the new company")
    return company


def _chart(rpc: TrytonRpc, company: int) -> dict[str, int]:
    template = one_id(
        rpc,
        "account.account.template",
        [("parent", "=", None), ("name", "=", CHART_TEMPLATE)],
        f"account template {CHART_TEMPLATE!r}",
    )
    wizard = "account.create_chart"

    def account(kind: str, extra: Sequence[Any] = ()) -> int:
        return one_id(
            rpc,
            "account.account",
            [("company", "=", company), ("closed", "!=", True), (f"type.{kind}", "=", True), *extra],
            f"{kind} account in the chart",
        )

    session = rpc.start_wizard(wizard)
    try:
        rpc.wizard_step(wizard, session, "account", {})
        rpc.wizard_step(
            wizard, session, "create_account", {"account": {"company": company, "account_template": template}}
        )
        receivable = account("receivable", [("party_required", "=", True)])
        payable = account("payable", [("party_required", "=", True)])
        # The last step makes them the defaults (account.configuration) every new party gets.
        rpc.wizard_step(
            wizard,
            session,
            "create_properties",
            {
                "properties": {
                    "company": company,
                    "account_receivable": receivable,
                    "account_payable": payable,
                }
            },
        )
    finally:
        rpc.end_wizard(wizard, session)
    return {
        "receivable": receivable,
        "payable": payable,
        "revenue": account("revenue"),
        "expense": account("expense"),
    }


def _fiscal_year(rpc: TrytonRpc, company: int, year: int) -> int:
    sequence_type = one_id(
        rpc, "ir.sequence.type", [("name", "=", "Account Move")], "sequence type for moves"
    )
    sequence = rpc.create(
        "ir.sequence.strict",
        [{"name": f"Account moves {year}", "sequence_type": sequence_type, "company": company}],
    )[0]
    fiscal_year = rpc.create(
        "account.fiscalyear",
        [
            {
                "name": str(year),
                "start_date": date(year, 1, 1),
                "end_date": date(year, 12, 31),
                "company": company,
                "move_sequence": sequence,
            }
        ],
    )[0]
    rpc.button("account.fiscalyear", "create_period", [fiscal_year])
    return fiscal_year


def _warehouses(rpc: TrytonRpc) -> dict[Warehouse, int]:
    """The two warehouses (the module's default one, and a copy), by domain warehouse: their storage."""
    main = one_id(rpc, "stock.location", [("type", "=", "warehouse")], "warehouse")
    rpc.write(
        "stock.location",
        [main],
        {"name": WAREHOUSE_NAMES[Warehouse.MAIN], "code": WAREHOUSE_CODES[Warehouse.MAIN]},
    )
    secondary = rpc.execute(
        "stock.location",
        "copy",
        [main],
        {"name": WAREHOUSE_NAMES[Warehouse.SECONDARY], "code": WAREHOUSE_CODES[Warehouse.SECONDARY]},
    )[0]
    rows = rpc.read("stock.location", [main, secondary], ["storage_location"])
    return {
        Warehouse.MAIN: int(rows[0]["storage_location"]),
        Warehouse.SECONDARY: int(rows[1]["storage_location"]),
    }
