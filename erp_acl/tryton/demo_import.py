"""Load the whole bundled demo seed (``erp_acl.seed_data``) into a fresh Tryton company.

Every step batches: one ``create`` call carries all the records of a kind (nested records, such as
a party's address or an order's lines, travel inside it), and one button call moves them all, so
the import costs a few dozen JSON-RPC calls whatever the seed's size. Where each domain fact goes
is ``conventions``' call; ``DemoImport`` writes exactly there.

History Tryton could only reach through shipments, invoices and payments (invoiced sales,
received purchases) is not replayed over RPC: ``mark_history_done`` sets those orders' states in
the SQLite file afterwards, with the server stopped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from erp_acl.domain import (
    AccountKind,
    GLAccount,
    PurchaseOrderStatus,
    SalesOrderStatus,
    Warehouse,
)
from erp_acl.errors import ErpError
from erp_acl.seed_data import TODAY, SeedData
from erp_acl.tryton.conventions import (
    COST_CENTER_MARK,
    COUNTRY_CODE,
    CUSTOMER_CATEGORY,
    DOCUMENT_NUMBER_PADDING,
    GENERAL_JOURNAL_CODE,
    SUBDIVISION_PREFIX,
    SUPPLIER_CATEGORY,
    WAREHOUSE_CODES,
)
from erp_acl.tryton.rpc import TrytonRpc

PRODUCT_CATEGORY = "Goods"
CNPJ = "br_vat"
"""Tryton's identifier type for a CNPJ (python-stdnum's ``br_cnpj``, renamed as a VAT number)."""
WAREHOUSE_NAMES = {Warehouse.MAIN: "Main warehouse", Warehouse.SECONDARY: "Secondary warehouse"}

BR_STATES = {
    "AC": "Acre",
    "AL": "Alagoas",
    "AM": "Amazonas",
    "AP": "Amapá",
    "BA": "Bahia",
    "CE": "Ceará",
    "DF": "Distrito Federal",
    "ES": "Espírito Santo",
    "GO": "Goiás",
    "MA": "Maranhão",
    "MG": "Minas Gerais",
    "MS": "Mato Grosso do Sul",
    "MT": "Mato Grosso",
    "PA": "Pará",
    "PB": "Paraíba",
    "PE": "Pernambuco",
    "PI": "Piauí",
    "PR": "Paraná",
    "RJ": "Rio de Janeiro",
    "RN": "Rio Grande do Norte",
    "RO": "Rondônia",
    "RR": "Roraima",
    "RS": "Rio Grande do Sul",
    "SC": "Santa Catarina",
    "SE": "Sergipe",
    "SP": "São Paulo",
    "TO": "Tocantins",
    "EX": "Exterior",
}
"""Names of the Brazilian states; ``EX`` ("exterior") is how Brazilian fiscal records place a
foreign address, and how the bundled ERP records its European customers."""

UNIT_NAMES = {
    "PC": "Piece",
    "RL": "Roll",
    "PK": "Pack",
    "BD": "Bundle",
    "BX": "Box",
    "PR": "Pair",
    "JG": "Set",
    "GL": "Gallon",
    "RM": "Ream",
}
"""Names of the bundled ERP's unit codes (a code not listed is named by itself)."""

RECEIVABLE_CODE = "1.1.03.001"
PAYABLE_CODE = "2.1.01.001"
REVENUE_CODE = "4.1.01.001"
EXPENSE_CODE = "5.2.01.001"
PARTY_RECEIVABLE = "Customer receivables (per party)"
PARTY_PAYABLE = "Supplier payables (per party)"
"""Tryton's defaults for parties must be party-required accounts, which refuse lines without a
party; the seed's (and Countersign's) journal lines name none. So the seed's own receivable and
payable accounts stay plain postable accounts, and these two code-less per-party accounts, under
the same summary accounts, take what Tryton's own invoices will post."""

PROCESS_TIMEOUT = 60.0
"""Seconds to wait for confirmed purchases to reach ``processing``."""
BATCH = 100
"""Records per ``create`` (or button) call for the big kinds. Tryton's work per call grows faster
than its records (each record of a batch checks the batch's id list), so a thousand records go
faster in ten calls than in one."""
PRODUCT_BATCH = 50
"""Products per call: Tryton on SQLite checks a batch's unique product codes with one nested SQL
condition per product, and SQLite's parser overflows at about a hundred."""


def _quantity(value: Decimal) -> float:
    return float(value)


@dataclass
class DemoImport:
    """Fills one freshly created Tryton database with ``data``, step by step (see ``setup.populate``).

    The steps depend on each other in the order ``setup.populate`` calls them; each fills in the
    ids later steps need (``company``, ``accounts``, ``parties``...) and ``counts``.
    """

    rpc: TrytonRpc
    data: SeedData
    company: int = 0
    currency: int = 0
    accounts: dict[str, int] = field(default_factory=dict)
    """Account id by seed code; also ``"party receivable"`` and ``"party payable"``."""
    periods: list[tuple[date, date, int]] = field(default_factory=list)
    warehouses: dict[Warehouse, int] = field(default_factory=dict)
    """Warehouse location ids."""
    storage: dict[Warehouse, int] = field(default_factory=dict)
    """Storage location ids of the warehouses (where stock sits)."""
    subdivisions: dict[str, int] = field(default_factory=dict)
    country: int = 0
    parties: dict[str, int] = field(default_factory=dict)
    addresses: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    # ---- small helpers --------------------------------------------------------------------------

    def one_id(self, model: str, domain: Sequence[Any], what: str) -> int:
        ids = self.rpc.search(model, domain, limit=1)
        if not ids:
            raise ErpError(f"Tryton has no {what}")
        return ids[0]

    def create(self, model: str, rows: Sequence[dict[str, Any]], batch: int = BATCH) -> list[int]:
        """``create`` in calls of at most ``batch`` records (ids in the order of ``rows``)."""
        ids: list[int] = []
        for start in range(0, len(rows), batch):
            ids.extend(self.rpc.create(model, rows[start : start + batch]))
        return ids

    def press(self, model: str, button: str, ids: Sequence[int], batch: int = BATCH) -> None:
        """Press ``button`` on ``ids`` in calls of at most ``batch`` records, in their order."""
        for start in range(0, len(ids), batch):
            self.rpc.button(model, button, list(ids[start : start + batch]))

    def period_of(self, day: date) -> int:
        for start, end, period in self.periods:
            if start <= day <= end:
                return period
        raise ErpError(f"Tryton has no accounting period for {day}")

    # ---- company ---------------------------------------------------------------------------------

    def make_company(self, name: str, currency_code: str) -> None:
        self.currency = self.rpc.create(
            "currency.currency",
            [
                {
                    "name": "Brazilian Real",
                    "code": currency_code,
                    "symbol": "R$",
                    "numeric_code": "986",
                    "rounding": Decimal("0.01"),
                    "digits": 2,
                }
            ],
        )[0]
        party = self.rpc.create("party.party", [{"name": name}])[0]
        self.company = self.rpc.create("company.company", [{"party": party, "currency": self.currency}])[0]
        admin = self.rpc.user_id
        assert admin is not None
        self.rpc.write("res.user", [admin], {"companies": [("add", [self.company])], "company": self.company})
        context = self.rpc.reload_context()
        if context.get("company") != self.company:
            raise ErpError("Tryton did not switch the admin user to the new company")

    # ---- chart of accounts and fiscal years -------------------------------------------------------

    def make_chart(self) -> None:
        """The seed's chart as the company's only chart: summary accounts are Tryton view accounts
        (no type); postable ones get a type by kind. Created in one call (children nested)."""
        types = self._account_types()
        seed = self.data.accounts
        codes = {a.code for a in seed}
        children: dict[str, list[GLAccount]] = {}
        roots: list[GLAccount] = []
        for account in seed:
            parent = account.code.rsplit(".", 1)[0] if "." in account.code else None
            if parent is not None and parent not in codes:
                raise ErpError(f"the seed's account {account.code} has no parent account {parent}")
            (children.setdefault(parent, []) if parent else roots).append(account)

        def values(account: GLAccount) -> dict[str, Any]:
            row: dict[str, Any] = {
                "name": account.name,
                "code": account.code,
                "company": self.company,
                "closed": account.blocked,
            }
            if account.postable:
                row["type"] = types[_type_key(account)]
            extra = self._party_account(account.code, types)
            nested = [values(child) for child in children.get(account.code, [])] + extra
            if nested:
                row["childs"] = [("create", nested)]
            return row

        self.rpc.create("account.account", [values(root) for root in roots])
        rows = self.rpc.search_read(
            "account.account",
            [("company", "=", self.company)],
            ["code", "name"],
            context={"active_test": False},
        )
        self.accounts = {str(r["code"]): int(r["id"]) for r in rows if r["code"]}
        by_name = {str(r["name"]): int(r["id"]) for r in rows if not r["code"]}
        self.accounts["party receivable"] = by_name[PARTY_RECEIVABLE]
        self.accounts["party payable"] = by_name[PARTY_PAYABLE]
        # What every new party (and so every Tryton invoice) uses.
        self.rpc.write(
            "account.configuration",
            [1],
            {
                "default_account_receivable": self.accounts["party receivable"],
                "default_account_payable": self.accounts["party payable"],
            },
        )
        self.counts["accounts"] = len(seed)

    def _account_types(self) -> dict[str, int]:
        """Account types by key: one per kind, plus receivable and payable flavours."""
        specs: dict[str, dict[str, Any]] = {
            "asset": {"name": "Assets", "statement": "balance", "assets": True},
            "receivable": {"name": "Receivables", "statement": "balance", "assets": True, "receivable": True},
            "liability": {"name": "Liabilities", "statement": "balance"},
            "payable": {"name": "Payables", "statement": "balance", "payable": True},
            "equity": {"name": "Equity", "statement": "balance"},
            "revenue": {"name": "Revenue", "statement": "income", "revenue": True},
            "expense": {"name": "Expenses", "statement": "income", "expense": True},
        }
        ids = self.rpc.create(
            "account.account.type",
            [{**spec, "company": self.company, "sequence": n} for n, spec in enumerate(specs.values(), 1)],
        )
        return dict(zip(specs, ids, strict=True))

    def _party_account(self, code: str, types: dict[str, int]) -> list[dict[str, Any]]:
        """The code-less per-party account to nest under the seed's summary account ``code``."""
        for parent, name, kind in (
            (RECEIVABLE_CODE.rsplit(".", 1)[0], PARTY_RECEIVABLE, "receivable"),
            (PAYABLE_CODE.rsplit(".", 1)[0], PARTY_PAYABLE, "payable"),
        ):
            if code == parent:
                return [
                    {
                        "name": name,
                        "company": self.company,
                        "type": types[kind],
                        "party_required": True,
                        "reconcile": True,
                    }
                ]
        return []

    def make_fiscal_years(self, years: Sequence[int]) -> None:
        """A fiscal year with monthly periods per year; journal entries are numbered like the
        seed's (six digits) by each year's move sequence."""
        sequence_type = self.one_id(
            "ir.sequence.type", [("name", "=", "Account Move")], "sequence type for moves"
        )
        sequences = self.rpc.create(
            "ir.sequence.strict",
            [
                {
                    "name": f"Account moves {year}",
                    "sequence_type": sequence_type,
                    "company": self.company,
                    "padding": DOCUMENT_NUMBER_PADDING,
                }
                for year in years
            ],
        )
        fiscal_years = self.rpc.create(
            "account.fiscalyear",
            [
                {
                    "name": str(year),
                    "start_date": date(year, 1, 1),
                    "end_date": date(year, 12, 31),
                    "company": self.company,
                    "move_sequence": sequence,
                }
                for year, sequence in zip(years, sequences, strict=True)
            ],
        )
        self.rpc.button("account.fiscalyear", "create_period", fiscal_years)
        rows = self.rpc.search_read(
            "account.period",
            [("fiscalyear", "in", fiscal_years), ("type", "=", "standard")],
            ["start_date", "end_date"],
        )
        self.periods = sorted((r["start_date"], r["end_date"], int(r["id"])) for r in rows)
        self.counts["fiscal_years"] = len(fiscal_years)

    # ---- warehouses, places, parties ----------------------------------------------------------------

    def make_warehouses(self) -> None:
        """The two warehouses: the stock module's default one and a copy of it."""
        main = self.one_id("stock.location", [("type", "=", "warehouse")], "warehouse")
        self.rpc.write(
            "stock.location",
            [main],
            {"name": WAREHOUSE_NAMES[Warehouse.MAIN], "code": WAREHOUSE_CODES[Warehouse.MAIN]},
        )
        secondary = self.rpc.execute(
            "stock.location",
            "copy",
            [main],
            {"name": WAREHOUSE_NAMES[Warehouse.SECONDARY], "code": WAREHOUSE_CODES[Warehouse.SECONDARY]},
        )[0]
        rows = self.rpc.read("stock.location", [main, secondary], ["storage_location"])
        self.warehouses = {Warehouse.MAIN: main, Warehouse.SECONDARY: int(secondary)}
        self.storage = {
            Warehouse.MAIN: int(rows[0]["storage_location"]),
            Warehouse.SECONDARY: int(rows[1]["storage_location"]),
        }

    def make_places(self) -> None:
        """Country BR and the states (subdivisions ``BR-<state>``) the seed's parties use."""
        used = sorted({c.state for c in self.data.customers} | {s.state for s in self.data.suppliers})
        unknown = [state for state in used if state not in BR_STATES]
        if unknown:
            raise ErpError(f"the seed uses states Tryton is not given a name for: {', '.join(unknown)}")
        self.country = self.rpc.create(
            "country.country",
            [{"name": "Brazil", "code": COUNTRY_CODE, "code3": "BRA", "code_numeric": "076"}],
        )[0]
        ids = self.rpc.create(
            "country.subdivision",
            [
                {
                    "country": self.country,
                    "name": BR_STATES[state],
                    "code": f"{SUBDIVISION_PREFIX}{state}",
                    "type": "federal district" if state == "DF" else "state" if state != "EX" else None,
                }
                for state in used
            ],
        )
        self.subdivisions = dict(zip(used, ids, strict=True))

    def make_parties(self) -> None:
        """Customers and suppliers in one call; memos as notes in another. All are created active
        (Tryton makes an inactive record read-only, even on create): ``block_parties`` deactivates
        the blocked ones once their orders exist."""
        customer_category, supplier_category = self.rpc.create(
            "party.category", [{"name": CUSTOMER_CATEGORY}, {"name": SUPPLIER_CATEGORY}]
        )
        rows: list[dict[str, Any]] = []
        memos: list[tuple[str, str]] = []
        for c in self.data.customers:
            row = self._party(c.code, c.name, c.short_name, c.tax_id, c.city, c.state, customer_category)
            row["credit_limit_amount"] = c.credit_limit.amount
            rows.append(row)
            memos.append((c.code, c.memo))
        for s in self.data.suppliers:
            row = self._party(s.code, s.name, s.short_name, s.tax_id, s.city, s.state, supplier_category)
            if s.email:
                row["contact_mechanisms"] = [("create", [{"type": "email", "value": s.email}])]
            rows.append(row)
            memos.append((s.code, s.memo))
        ids = self.rpc.create("party.party", rows)
        self.parties = {row["code"]: party for row, party in zip(rows, ids, strict=True)}
        notes = [
            {"resource": f"party.party,{self.parties[code]}", "message": memo} for code, memo in memos if memo
        ]
        if notes:
            self.rpc.create("ir.note", notes)
        addresses = self.rpc.search_read(
            "party.address",
            [("party", "in", ids)],
            ["party"],
            order=[("id", "ASC")],
            context={"active_test": False},
        )
        by_party: dict[int, int] = {}
        for address in addresses:
            by_party.setdefault(int(address["party"]), int(address["id"]))
        self.addresses = {code: by_party[party] for code, party in self.parties.items()}
        self.counts["customers"] = len(self.data.customers)
        self.counts["suppliers"] = len(self.data.suppliers)
        self.counts["party_notes"] = len(notes)

    def _party(
        self, code: str, name: str, short_name: str, tax_id: str, city: str, state: str, category: int
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": name,
            "code": code,
            "categories": [("add", [category])],
            "addresses": [
                (
                    "create",
                    [
                        {
                            "party_name": short_name,
                            "city": city,
                            "country": self.country,
                            "subdivision": self.subdivisions[state],
                        }
                    ],
                )
            ],
        }
        if tax_id:
            # Tryton checks a CNPJ's digits; a few hand-written demo ids (and the European VAT
            # numbers) fail that check: they are kept as untyped identifiers.
            kind = CNPJ if valid_cnpj(tax_id) else None
            values["identifiers"] = [("create", [{"type": kind, "code": tax_id}])]
        return values

    # ---- products and stock -------------------------------------------------------------------------

    def make_products(self) -> None:
        """Units, the accounting category, every product (one call) and its order point."""
        category = self.one_id("product.uom.category", [("name", "=", "Units")], "unit category 'Units'")
        codes = sorted({p.unit for p in self.data.products})
        ids = self.rpc.create(
            "product.uom",
            [
                {
                    "name": UNIT_NAMES.get(code, code),
                    "symbol": code,
                    "category": category,
                    "rate": 1.0,
                    "factor": 1.0,
                    "rounding": 0.001,
                    "digits": 3,
                }
                for code in codes
            ],
        )
        self.units = dict(zip(codes, ids, strict=True))
        goods = self.rpc.create(
            "product.category",
            [
                {
                    "name": PRODUCT_CATEGORY,
                    "accounting": True,
                    "account_expense": self.accounts[EXPENSE_CODE],
                    "account_revenue": self.accounts[REVENUE_CODE],
                }
            ],
        )[0]
        templates = []
        for p in self.data.products:
            unit = self.units[p.unit]
            product: dict[str, Any] = {"cost_price": p.standard_cost.amount}
            if p.memo:
                product["description"] = p.memo
            templates.append(
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
                    "account_category": goods,
                    "products": [("create", [product])],
                }
            )
        self.create("product.template", templates, PRODUCT_BATCH)
        rows = self.rpc.search_read(
            "product.product",
            [("code", "in", [p.code for p in self.data.products])],
            ["code"],
            context={"active_test": False},
        )
        self.products = {str(r["code"]): int(r["id"]) for r in rows}
        missing = [p.code for p in self.data.products if p.code not in self.products]
        if missing:
            raise ErpError(f"Tryton did not create products {', '.join(missing[:5])}")
        points = [
            {
                "product": self.products[p.code],
                "type": "purchase",
                "location": self.warehouses[Warehouse.MAIN],
                "min_quantity": _quantity(p.reorder_point),
                "target_quantity": _quantity(p.reorder_point),
                "company": self.company,
            }
            for p in self.data.products
            if p.reorder_point > 0
        ]
        if points:
            self.rpc.create("stock.order_point", points)
        # A blocked product is inactive (template and variant). Not on create (Tryton makes an
        # inactive record read-only, even then) nor after the stock arrives (Tryton refuses to
        # deactivate a product in stock): now, once its order point exists.
        blocked = [p.code for p in self.data.products if p.blocked]
        if blocked:
            self.rpc.write("product.product", [self.products[code] for code in blocked], {"active": False})
            templates_of = self.rpc.read("product.product", [self.products[c] for c in blocked], ["template"])
            self.rpc.write("product.template", [int(r["template"]) for r in templates_of], {"active": False})
        self.counts["units"] = len(codes)
        self.counts["products"] = len(self.data.products)
        self.counts["order_points"] = len(points)

    def make_stock(self) -> None:
        """Stock on hand per warehouse, through inventories of its storage location (each of at
        most ``BATCH`` lines, confirmed one per call)."""
        day = min(TODAY, date.today())
        inventories: list[dict[str, Any]] = []
        levels = 0
        for warehouse, location in self.storage.items():
            lines = [
                {"product": self.products[s.product_code], "quantity": _quantity(s.on_hand)}
                for s in self.data.stock
                if s.warehouse == warehouse and s.on_hand > 0
            ]
            levels += len(lines)
            inventories.extend(
                {"location": location, "date": day, "lines": [("create", lines[start : start + BATCH])]}
                for start in range(0, len(lines), BATCH)
            )
        if inventories:
            ids = self.rpc.create("stock.inventory", inventories)
            self.press("stock.inventory", "confirm", ids, 1)
        self.counts["stock_levels"] = levels
        self.counts["inventories"] = len(inventories)

    # ---- journal entries --------------------------------------------------------------------------

    def make_journal_entries(self) -> None:
        """The seed's journal entries as moves in the general journal, posted in number order."""
        journal = self.one_id(
            "account.journal", [("code", "=", GENERAL_JOURNAL_CODE)], f"journal {GENERAL_JOURNAL_CODE}"
        )
        moves = [
            {
                "journal": journal,
                "company": self.company,
                "period": self.period_of(entry.entry_date),
                "date": entry.entry_date,
                "description": entry.description,
                "lines": [
                    (
                        "create",
                        [
                            {
                                "account": self.accounts[line.account_code],
                                "debit": line.debit.amount,
                                "credit": line.credit.amount,
                            }
                            for line in entry.lines
                        ],
                    )
                ],
            }
            for entry in self.data.journal_entries
        ]
        ids = self.create("account.move", moves)
        self.press("account.move", "post", ids)
        self.counts["journal_entries"] = len(ids)
        self.counts["journal_lines"] = sum(len(e.lines) for e in self.data.journal_entries)

    # ---- orders -----------------------------------------------------------------------------------

    def _pad_sequence(self, configuration: str, field_name: str) -> int:
        [row] = self.rpc.read(configuration, [1], [field_name])
        sequence = int(row[field_name])
        self.rpc.write("ir.sequence", [sequence], {"padding": DOCUMENT_NUMBER_PADDING})
        return sequence

    def _lines(self, lines: Sequence[Any]) -> list[dict[str, Any]]:
        units = {p.code: self.units[p.unit] for p in self.data.products}
        names = {p.code: p.description for p in self.data.products}
        return [
            {
                "type": "line",
                "sequence": line.line_no,
                "product": self.products[line.product_code],
                "description": names[line.product_code],
                "quantity": _quantity(line.quantity),
                "unit": units[line.product_code],
                "unit_price": line.unit_price.amount,
            }
            for line in lines
        ]

    def _check_numbers(self, model: str, ids: Sequence[int], numbers: Sequence[str]) -> None:
        got = {int(r["id"]): r["number"] for r in self.rpc.read(model, ids, ["number"])}
        wrong = [(n, got.get(i)) for i, n in zip(ids, numbers, strict=True) if got.get(i) != n]
        if wrong:
            raise ErpError(f"Tryton numbered {model} differently from the seed: {wrong[:3]} ...")

    def make_sales_orders(self) -> None:
        """Every sales order, quoted in number order (quoting numbers them); cancelled ones cancelled.
        Invoiced ones stay quotations here: ``mark_history_done`` finishes them."""
        self._pad_sequence("sale.configuration", "sale_sequence")
        orders = self.data.sales_orders
        values = [
            {
                "company": self.company,
                "currency": self.currency,
                "party": self.parties[o.customer_code],
                "invoice_address": self.addresses[o.customer_code],
                "shipment_address": self.addresses[o.customer_code],
                "warehouse": self.warehouses[Warehouse.MAIN],
                "sale_date": o.issued_on,
                "quotation_date": o.issued_on,
                "description": o.memo,
                "lines": [("create", self._lines(o.lines))],
            }
            for o in orders
        ]
        ids = self.create("sale.sale", values)
        self.press("sale.sale", "quote", ids)
        self._check_numbers("sale.sale", ids, [o.number for o in orders])
        cancelled = [i for i, o in zip(ids, orders, strict=True) if o.status is SalesOrderStatus.CANCELLED]
        if cancelled:
            self.press("sale.sale", "cancel", cancelled)
        self.counts["sales_orders"] = len(ids)
        self.counts["sales_order_lines"] = sum(len(o.lines) for o in orders)

    def make_purchase_orders(self) -> None:
        """Every purchase order, quoted in number order; open ones confirmed into processing,
        cancelled ones cancelled. Received ones stay quotations here (``mark_history_done``)."""
        self._pad_sequence("purchase.configuration", "purchase_sequence")
        orders = self.data.purchase_orders
        values = [
            {
                "company": self.company,
                "currency": self.currency,
                "party": self.parties[o.supplier_code],
                "invoice_address": self.addresses[o.supplier_code],
                "warehouse": self.warehouses[Warehouse.MAIN],
                "purchase_date": o.issued_on,
                "description": o.memo,
                "reference": o.reference,
                "comment": f"{COST_CENTER_MARK}{o.cost_center}",
                # Invoiced when received: an open order has no invoice yet (the seed's supplier
                # invoices are not loaded), so confirming it must not draft one.
                "invoice_method": "fulfillment",
                "lines": [("create", self._lines(o.lines))],
            }
            for o in orders
        ]
        ids = self.create("purchase.purchase", values)
        self.press("purchase.purchase", "quote", ids)
        self._check_numbers("purchase.purchase", ids, [o.number for o in orders])
        by_status: dict[PurchaseOrderStatus, list[int]] = {}
        for purchase, order in zip(ids, orders, strict=True):
            by_status.setdefault(order.status, []).append(purchase)
        cancelled = by_status.get(PurchaseOrderStatus.CANCELLED, [])
        if cancelled:
            self.rpc.button("purchase.purchase", "cancel", cancelled)
        confirmed = by_status.get(PurchaseOrderStatus.OPEN, [])
        if confirmed:
            self.rpc.button("purchase.purchase", "confirm", confirmed)
            self._await_processing(confirmed)
        self.counts["purchase_orders"] = len(ids)
        self.counts["purchase_order_lines"] = sum(len(o.lines) for o in orders)

    def block_parties(self) -> None:
        """Deactivate the blocked customers and suppliers (after their orders were written)."""
        blocked = [c.code for c in self.data.customers if c.blocked] + [
            s.code for s in self.data.suppliers if s.blocked
        ]
        if blocked:
            self.rpc.write("party.party", [self.parties[code] for code in blocked], {"active": False})
        self.counts["blocked_parties"] = len(blocked)

    def _await_processing(self, purchases: Sequence[int]) -> None:
        """``confirm`` processes purchases after its call returns: wait until all are processing."""
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while True:
            left = self.rpc.search(
                "purchase.purchase", [("id", "in", list(purchases)), ("state", "!=", "processing")]
            )
            if not left:
                return
            if time.monotonic() > deadline:
                raise ErpError(f"Tryton left {len(left)} confirmed purchases unprocessed")
            time.sleep(0.1)


def _type_key(account: GLAccount) -> str:
    if account.code == RECEIVABLE_CODE:
        return "receivable"
    if account.code == PAYABLE_CODE:
        return "payable"
    return {
        AccountKind.ASSET: "asset",
        AccountKind.LIABILITY: "liability",
        AccountKind.EQUITY: "equity",
        AccountKind.REVENUE: "revenue",
        AccountKind.EXPENSE: "expense",
    }[account.kind]


def valid_cnpj(text: str) -> bool:
    """True if ``text`` holds 14 digits whose two check digits are right."""
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


# ---- history written straight into the file ---------------------------------------------------------

SALE_DONE = {"state": "done", "invoice_state": "paid", "shipment_state": "sent"}
PURCHASE_DONE = {"state": "done", "invoice_state": "paid", "shipment_state": "received"}


def _numeric(value: Decimal) -> bytes:
    """A Decimal as Tryton's SQLite backend stores it (its text, as bytes)."""
    return str(value).encode()


def mark_history_done(path: Path, data: SeedData) -> dict[str, int]:
    """Mark the seed's invoiced sales and received purchases ``done`` in the SQLite file itself.

    Why not over RPC: Tryton reaches ``done`` only through its workflow: confirm, process, ship or
    receive every move, post each invoice and pay it (773 sales and 228 purchases here, with
    accounting moves for each). That takes minutes, and would invent shipments, invoices and
    payments (and their journal lines and stock moves) the seed does not have. So these orders are
    imported and quoted like the others (numbered, lines, amounts), then this function, run with
    no server on the file, gives them what a finished Tryton order holds: state ``done``, invoice
    state ``paid``, shipment state ``sent`` / ``received``, amounts cached (no taxes), and lines
    fully shipped and invoiced. Nothing else changes. Returns how many orders of each kind it
    finished; fails if one is missing or not a quotation.
    """
    sales = [o for o in data.sales_orders if o.status is SalesOrderStatus.INVOICED]
    purchases = [o for o in data.purchase_orders if o.status is PurchaseOrderStatus.RECEIVED]
    zero = _numeric(Decimal("0.00"))
    with closing(sqlite3.connect(path)) as db, db:
        for table, line_table, orders, states in (
            ("sale_sale", "sale_line", sales, SALE_DONE),
            ("purchase_purchase", "purchase_line", purchases, PURCHASE_DONE),
        ):
            before = db.total_changes
            db.executemany(
                f"UPDATE {table} SET state = ?, invoice_state = ?, shipment_state = ?, to_invoice = 0, "
                "untaxed_amount_cache = ?, tax_amount_cache = ?, total_amount_cache = ? "
                "WHERE number = ? AND state = 'quotation'",
                [
                    (
                        states["state"],
                        states["invoice_state"],
                        states["shipment_state"],
                        _numeric(o.total.amount),
                        zero,
                        _numeric(o.total.amount),
                        o.number,
                    )
                    for o in orders
                ],
            )
            if db.total_changes - before != len(orders):
                raise ErpError(
                    f"{table}: {len(orders)} orders should have been quotations to finish, "
                    f"{db.total_changes - before} were"
                )
            shipped = ", quantity_to_ship = 0" if table == "sale_sale" else ""
            parent = table.split("_")[0]
            db.executemany(
                f"UPDATE {line_table} SET actual_quantity = quantity, quantity_to_invoice = 0{shipped} "
                f"WHERE {parent} = (SELECT id FROM {table} WHERE number = ?)",
                [(o.number,) for o in orders],
            )
        db.execute("UPDATE sale_sale SET to_ship = 0 WHERE state = 'done'")
    return {"sales_orders_done": len(sales), "purchase_orders_done": len(purchases)}
