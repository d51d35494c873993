"""``InMemoryErp``: a complete ERP in memory, with the same semantics as the legacy adapter.

It is the fake the layers above test against (fakes over mocks) and a zero-setup ERP for
demos. It honours the whole contract: idempotency ledger, conflicts, stale proposals, validation,
document numbering, budget commitments, balances, and the ERP's alerts (business events, found
by the same rules the legacy adapter's SQL applies). One re-entrant lock makes every call atomic,
which is what the legacy adapter gets from its database transaction.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from erp_acl import documents
from erp_acl import events as ev
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
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    Receipt,
    SalesOrder,
    SalesOrderStatus,
    StockLevel,
    StockReport,
    Supplier,
    SupplierInvoice,
    SupplierInvoiceLine,
    money,
)
from erp_acl.events import AlertState, BusinessEvent, Condition, InvoiceDifference
from erp_acl.landing import landed_journal_entry, landed_purchase_order
from erp_acl.rules import check_versions, validate
from erp_acl.seed_data import DEFAULT_SEED, OPEN_EXPOSURE, SeedData, generate
from erp_acl.text_match import rank, search_text
from erp_acl.versions import stamp, versions_of


@dataclass
class _Alert:
    """One alert of the ERP's alert list (what the legacy ERP keeps in its alert table)."""

    event: BusinessEvent
    occurrence: int
    active: bool = True
    published_at: datetime | None = None


def _by_product(
    lines: Iterable[OrderLine | SupplierInvoiceLine],
) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Per product: total quantity, lowest and highest unit price (how invoices are compared)."""
    found: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    for line in lines:
        price = line.unit_price.amount
        qty, low, high = found.get(line.product_code, (Decimal(0), price, price))
        found[line.product_code] = (ids.quantity(qty + line.quantity), min(low, price), max(high, price))
    return found


class InMemoryErp:
    """ErpReader + ErpWriter + ErpEvents over plain dictionaries; ``data`` None gives an empty ERP."""

    def __init__(self, data: SeedData | None = None, *, today: Callable[[], date] | None = None) -> None:
        self._lock = threading.RLock()
        self._today = today or date.today
        # Records are stored without versions; versions are stamped on the way out.
        self._customers: dict[str, Customer] = {}
        self._suppliers: dict[str, Supplier] = {}
        self._products: dict[str, Product] = {}
        self._stock: dict[str, list[StockLevel]] = defaultdict(list)
        self._sales_orders: dict[str, SalesOrder] = {}
        self._orders_by_customer: dict[str, list[str]] = defaultdict(list)
        self._purchase_orders: dict[str, PurchaseOrder] = {}
        self._cost_centers: dict[str, str] = {}
        self._budgets: dict[tuple[str, int], Budget] = {}
        self._accounts: dict[str, GLAccount] = {}
        self._journal: list[JournalEntry] = []
        self._ledger: dict[str, Receipt] = {}
        self._ledger_entries: dict[str, LedgerEntry] = {}
        self._cancellation_reasons: dict[str, str] = {}
        self._purchase_cancellation_reasons: dict[str, str] = {}
        self._supplier_invoices: dict[str, SupplierInvoice] = {}
        self._alerts: dict[str, _Alert] = {}
        if data is not None:
            self._load(data)

    @classmethod
    def seeded(
        cls, scale: int = 1, *, seed: int = DEFAULT_SEED, today: Callable[[], date] | None = None
    ) -> InMemoryErp:
        """An ERP holding ``seed_data.generate(scale, seed)``."""
        return cls(generate(scale, seed), today=today)

    def _load(self, data: SeedData) -> None:
        self._customers = {c.code: c for c in data.customers}
        self._suppliers = {s.code: s for s in data.suppliers}
        self._products = {p.code: p for p in data.products}
        for level in data.stock:
            self._stock[level.product_code].append(level)
        for order in data.sales_orders:
            self._sales_orders[order.number] = order
            self._orders_by_customer[order.customer_code].append(order.number)
        self._purchase_orders = {o.number: o for o in data.purchase_orders}
        self._cost_centers = {c.code: c.description for c in data.cost_centers}
        self._budgets = {(b.cost_center, b.year): b for b in data.budgets}
        self._accounts = {a.code: a for a in data.accounts}
        self._journal = list(data.journal_entries)
        # Of two invoices with one number (a data error) the first counts, as in the legacy ERP.
        for invoice in data.supplier_invoices:
            self._supplier_invoices.setdefault(invoice.number, invoice)

    # ---- reads ----------------------------------------------------------------------------------

    def _customer(self, code: str) -> Customer:
        customer = self._customers.get(code)
        if customer is None:
            raise ids.not_found("customer", code)
        total = sum(
            (
                self._sales_orders[n].total.amount
                for n in self._orders_by_customer.get(code, [])
                if self._sales_orders[n].status in OPEN_EXPOSURE
            ),
            Decimal("0"),
        )
        return stamp(customer.model_copy(update={"open_orders_total": money(total)}))

    def search_customers(self, query: str, limit: int = 10) -> list[Customer]:
        with self._lock:
            found = rank(
                query,
                self._customers.values(),
                code=lambda c: c.code,
                text=lambda c: search_text(c.name, c.short_name, c.tax_id),
                limit=limit,
            )
            return [self._customer(c.code) for c in found]

    def get_customer(self, code: str) -> Customer:
        with self._lock:
            return self._customer(ids.customer_code(code))

    def search_suppliers(self, query: str, limit: int = 10) -> list[Supplier]:
        with self._lock:
            found = rank(
                query,
                self._suppliers.values(),
                code=lambda s: s.code,
                text=lambda s: search_text(s.name, s.short_name, s.tax_id),
                limit=limit,
            )
            return [stamp(s) for s in found]

    def get_supplier(self, code: str) -> Supplier:
        with self._lock:
            normalised = ids.supplier_code(code)
            supplier = self._suppliers.get(normalised)
            if supplier is None:
                raise ids.not_found("supplier", normalised)
            return stamp(supplier)

    def search_products(self, query: str, limit: int = 10) -> list[Product]:
        with self._lock:
            found = rank(
                query,
                self._products.values(),
                code=lambda p: p.code,
                text=lambda p: search_text(p.description),
                limit=limit,
            )
            return [stamp(p) for p in found]

    def _product(self, code: str) -> Product:
        product = self._products.get(code)
        if product is None:
            raise ids.not_found("product", code)
        return product

    def get_product(self, code: str) -> Product:
        with self._lock:
            return stamp(self._product(ids.product_code(code)))

    def stock_report(self, product_code: str) -> StockReport:
        with self._lock:
            product = self._product(ids.product_code(product_code))
            return documents.stock_report(product, list(self._stock.get(product.code, [])))

    def list_sales_orders(
        self, customer_code: str | None = None, status: SalesOrderStatus | None = None, limit: int = 20
    ) -> list[SalesOrder]:
        with self._lock:
            if customer_code is not None:
                numbers = self._orders_by_customer.get(ids.customer_code(customer_code), [])
                orders = [self._sales_orders[n] for n in numbers]
            else:
                orders = list(self._sales_orders.values())
            if status is not None:
                orders = [o for o in orders if o.status is status]
            orders.sort(key=lambda o: (o.issued_on, o.number), reverse=True)
            return [stamp(o) for o in orders[: max(limit, 0)]]

    def get_sales_order(self, number: str) -> SalesOrder:
        with self._lock:
            normalised = ids.order_number(number)
            order = self._sales_orders.get(normalised)
            if order is None:
                raise ids.not_found("sales_order", normalised)
            return stamp(order)

    def list_purchase_orders(
        self, supplier_code: str | None = None, status: PurchaseOrderStatus | None = None, limit: int = 20
    ) -> list[PurchaseOrder]:
        with self._lock:
            orders = list(self._purchase_orders.values())
            if supplier_code is not None:
                wanted = ids.supplier_code(supplier_code)
                orders = [o for o in orders if o.supplier_code == wanted]
            if status is not None:
                orders = [o for o in orders if o.status is status]
            orders.sort(key=lambda o: (o.issued_on, o.number), reverse=True)
            return [stamp(o) for o in orders[: max(limit, 0)]]

    def get_purchase_order(self, number: str) -> PurchaseOrder:
        with self._lock:
            normalised = ids.order_number(number)
            order = self._purchase_orders.get(normalised)
            if order is None:
                raise ids.not_found("purchase_order", normalised)
            return stamp(order)

    def list_supplier_invoices(
        self, supplier_code: str | None = None, purchase_order_number: str | None = None, limit: int = 20
    ) -> list[SupplierInvoice]:
        with self._lock:
            invoices = list(self._supplier_invoices.values())
            if supplier_code is not None:
                supplier = ids.supplier_code(supplier_code)
                invoices = [i for i in invoices if i.supplier_code == supplier]
            if purchase_order_number is not None:
                order = ids.order_number(purchase_order_number)
                invoices = [i for i in invoices if i.purchase_order_number == order]
            invoices.sort(key=lambda i: (i.issued_on, i.number), reverse=True)
            return [stamp(i) for i in invoices[: max(limit, 0)]]

    def get_supplier_invoice(self, number: str) -> SupplierInvoice:
        with self._lock:
            normalised = ids.invoice_number(number)
            invoice = self._supplier_invoices.get(normalised)
            if invoice is None:
                raise ids.not_found("supplier_invoice", normalised)
            return stamp(invoice)

    def list_budgets(self, year: int | None = None) -> list[Budget]:
        with self._lock:
            wanted = year if year is not None else self._today().year
            budgets = [b for (_, y), b in self._budgets.items() if y == wanted]
            return [stamp(b) for b in sorted(budgets, key=lambda b: b.cost_center)]

    def get_budget(self, cost_center: str, year: int | None = None) -> Budget:
        with self._lock:
            code = ids.cost_center_code(cost_center)
            wanted = year if year is not None else self._today().year
            if code not in self._cost_centers:
                raise ids.not_found("cost_center", code)
            found = self._budgets.get((code, wanted))
            if found is None:
                raise ids.no_budget(code, wanted)
            return stamp(found)

    def search_accounts(self, query: str, limit: int = 10) -> list[GLAccount]:
        with self._lock:
            return rank(
                query,
                self._accounts.values(),
                code=lambda a: a.code,
                text=lambda a: search_text(a.name),
                limit=limit,
            )

    def account_balance(self, code: str, as_of: date | None = None) -> AccountBalance:
        with self._lock:
            normalised = ids.account_code(code)
            account = self._accounts.get(normalised)
            if account is None:
                raise ids.not_found("account", normalised)
            day = as_of or self._today()
            # A summary account's balance is that of every account below it; the chart's
            # fixed-width segments make "below" a prefix of the undotted code.
            prefix = ids.compact_account(account.code)
            debits = credits = Decimal("0")
            for entry in self._journal:
                if entry.entry_date > day:
                    continue
                for line in entry.lines:
                    if ids.compact_account(line.account_code).startswith(prefix):
                        debits += line.debit.amount
                        credits += line.credit.amount
            return AccountBalance(
                account=account,
                as_of=day,
                debits=money(debits),
                credits=money(credits),
                balance=money(debits - credits),
            )

    def record_versions(self, refs: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return versions_of(self, refs)

    def check(self, command: Command) -> None:
        with self._lock:
            validate(command, self, self._today())

    # ---- writes ---------------------------------------------------------------------------------

    def apply(self, command: Command, idempotency_key: str, fingerprint: str) -> Receipt:
        documents.check_key(idempotency_key)
        with self._lock:
            stored = self._ledger.get(idempotency_key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise documents.conflict(idempotency_key)
                return stored.model_copy(update={"replayed": True})
            started = documents.now()
            check_versions(command, self)
            today = self._today()
            validate(command, self, today)
            receipt = self._write(command, idempotency_key, fingerprint, today)
            self._ledger[idempotency_key] = receipt
            self._ledger_entries[idempotency_key] = LedgerEntry(
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
                action=command.action,
                command=json.loads(command.model_dump_json()),
                receipt=receipt,
                created_at=started,
            )
            return receipt

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        with self._lock:
            stored = self._ledger.get(idempotency_key)
            return stored.model_copy(update={"replayed": True}) if stored is not None else None

    def ledger(self) -> Iterator[Receipt]:
        """Every receipt in the idempotency ledger, oldest first."""
        with self._lock:
            receipts = sorted(self._ledger.values(), key=lambda r: r.committed_at)
        yield from receipts

    def ledger_entries(self) -> Iterator[LedgerEntry]:
        """Every ledger entry, oldest first."""
        with self._lock:
            entries = sorted(self._ledger_entries.values(), key=lambda e: e.created_at)
        yield from entries

    def landed_documents(self) -> Iterator[LandedDocument]:
        """Purchase orders, then journal entries, that carry a reference, each in number order."""
        with self._lock:
            orders = [o for _, o in sorted(self._purchase_orders.items()) if o.reference]
            entries = sorted((e for e in self._journal if e.reference), key=lambda e: e.number)
        yield from map(landed_purchase_order, orders)
        yield from map(landed_journal_entry, entries)

    # ---- events ---------------------------------------------------------------------------------

    def _last_suppliers(self) -> dict[str, str]:
        """Per product, the supplier of its latest purchase order that was not cancelled."""
        latest: dict[str, tuple[tuple[date, str], str]] = {}
        for order in self._purchase_orders.values():
            if order.status is PurchaseOrderStatus.CANCELLED:
                continue
            rank = (order.issued_on, order.number)
            for line in order.lines:
                known = latest.get(line.product_code)
                if known is None or rank > known[0]:
                    latest[line.product_code] = (rank, order.supplier_code)
        return {code: supplier for code, (_, supplier) in latest.items()}

    def _stock_conditions(self) -> list[Condition]:
        suppliers = self._last_suppliers()
        found: list[Condition] = []
        for code in sorted(self._products):
            product = self._products[code]
            if product.blocked or product.reorder_point <= 0:
                continue
            report = documents.stock_report(product, list(self._stock.get(code, [])))
            if report.below_reorder_point:
                found.append(
                    ev.stock_condition(
                        code, report.total_available, product.reorder_point, suppliers.get(code)
                    )
                )
        return found

    def _credit_conditions(self) -> list[Condition]:
        exposure: dict[str, Decimal] = defaultdict(Decimal)
        for order in self._sales_orders.values():
            if order.status in OPEN_EXPOSURE:
                exposure[order.customer_code] += order.total.amount
        found: list[Condition] = []
        for number in sorted(self._sales_orders):
            order = self._sales_orders[number]
            customer = self._customers.get(order.customer_code)
            if order.status is not SalesOrderStatus.OPEN or customer is None:
                continue
            if exposure[customer.code] > customer.credit_limit.amount:
                found.append(
                    ev.credit_condition(
                        number,
                        customer.code,
                        order.total.amount,
                        exposure[customer.code],
                        customer.credit_limit.amount,
                    )
                )
        return found

    def _invoice_conditions(self) -> list[Condition]:
        found: list[Condition] = []
        for number in sorted(self._supplier_invoices):
            invoice = self._supplier_invoices[number]
            order = self._purchase_orders.get(invoice.purchase_order_number)
            ordered = _by_product(order.lines) if order is not None else {}
            differences = []
            for product, (qty, low, high) in sorted(_by_product(invoice.lines).items()):
                expected = ordered.get(product)
                if expected == (qty, low, high):
                    continue
                differences.append(
                    InvoiceDifference(
                        invoice_number=invoice.number,
                        supplier_code=invoice.supplier_code,
                        purchase_order_number=invoice.purchase_order_number,
                        product_code=product,
                        invoiced_quantity=qty,
                        invoiced_unit_price=high,
                        ordered_quantity=None if expected is None else expected[0],
                        ordered_unit_price=None if expected is None else expected[2],
                    )
                )
            if differences:
                found.append(ev.invoice_condition(differences))
        return found

    def _alert_states(self) -> dict[tuple[str, str], AlertState]:
        states: dict[tuple[str, str], AlertState] = {}
        for alert in self._alerts.values():
            key = (alert.event.kind, alert.event.subject)
            known = states.get(key, AlertState(active=False, occurrences=0))
            states[key] = AlertState(
                active=known.active or alert.active, occurrences=max(known.occurrences, alert.occurrence)
            )
        return states

    def scan_events(self, now: datetime) -> list[BusinessEvent]:
        with self._lock:
            conditions = [*self._stock_conditions(), *self._credit_conditions(), *self._invoice_conditions()]
            change = ev.transitions(conditions, self._alert_states(), now)
            cleared = set(change.cleared)
            for alert in self._alerts.values():
                if alert.active and (alert.event.kind, alert.event.subject) in cleared:
                    alert.active = False
            for started in change.started:
                self._alerts[started.event.event_id] = _Alert(started.event, started.occurrence)
            return [started.event for started in change.started]

    def unpublished_events(self, limit: int = 100) -> list[BusinessEvent]:
        ev.check_limit(limit)
        with self._lock:
            waiting = [alert.event for alert in self._alerts.values() if alert.published_at is None]
        # A stable sort keeps the order of one scan, as the legacy ERP's record numbers do.
        return sorted(waiting, key=lambda e: e.detected_at)[:limit]

    def mark_events_published(self, event_ids: Sequence[str]) -> None:
        wanted = ev.checked_ids(event_ids)
        with self._lock:
            missing = [event_id for event_id in wanted if event_id not in self._alerts]
            if missing:
                raise ev.unknown_events(missing)
            stamp_time = documents.now()
            for event_id in wanted:
                alert = self._alerts[event_id]
                if alert.published_at is None:
                    alert.published_at = stamp_time

    # ---- what the ERP's own users do (not Countersign commands) --------------------------------

    def record_stock_issue(
        self, product_code: str, quantity: Decimal | int | str, warehouse: str = "01"
    ) -> StockReport:
        """What the ERP's own users do (a goods issue): take ``quantity`` out of a warehouse.

        Not a Countersign command and not on the ports (no ledger, no approval): tests and the
        demo use it to make stock fall below its reorder point."""
        place = documents.warehouse_of(warehouse)
        issued = documents.issue_quantity(quantity)
        with self._lock:
            product = self._product(ids.product_code(product_code))
            before = documents.stock_report(product, list(self._stock.get(product.code, [])))
            level = next(level for level in before.levels if level.warehouse is place)
            documents.check_stock_issue(product.code, place, level.on_hand, issued)
            others = [level for level in self._stock.get(product.code, []) if level.warehouse is not place]
            after = documents.stock_level(product.code, place, level.on_hand - issued, level.reserved)
            self._stock[product.code] = [*others, after]
            return documents.stock_report(product, list(self._stock[product.code]))

    def _next_number(self, numbers: Sequence[str]) -> str:
        highest = max((int(n) for n in numbers if n.isdigit()), default=0)
        return f"{highest + 1:0{ids.ORDER_NUMBER_WIDTH}d}"

    def _write(self, command: Command, key: str, fingerprint: str, today: date) -> Receipt:
        if isinstance(command, CreatePurchaseOrder):
            return self._create_purchase_order(command, key, fingerprint, today)
        if isinstance(command, PostJournalEntry):
            return self._post_journal_entry(command, key, fingerprint)
        if isinstance(command, ChangeCreditLimit):
            return self._change_credit_limit(command, key, fingerprint)
        if isinstance(command, CancelSalesOrder):
            return self._cancel_sales_order(command, key, fingerprint)
        if isinstance(command, CancelPurchaseOrder):
            return self._cancel_purchase_order(command, key, fingerprint)
        return self._change_price(command, key, fingerprint)

    def _create_purchase_order(
        self, command: CreatePurchaseOrder, key: str, fingerprint: str, today: date
    ) -> Receipt:
        plan = documents.plan_purchase_order(command, self, today)
        number = self._next_number(list(self._purchase_orders))
        self._purchase_orders[number] = PurchaseOrder(
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
        slot = (plan.cost_center, today.year)
        current = self._budgets[slot]
        self._budgets[slot] = documents.budget(
            current.cost_center,
            current.description,
            current.year,
            current.annual,
            money(current.committed.amount + plan.total.amount),
            current.spent,
        )
        return documents.receipt(
            command.action,
            documents.PURCHASE_ORDER,
            number,
            documents.purchase_order_summary(number, plan),
            key,
            fingerprint,
        )

    def _post_journal_entry(self, command: PostJournalEntry, key: str, fingerprint: str) -> Receipt:
        number = self._next_number([e.number for e in self._journal])
        self._journal.append(
            JournalEntry(
                number=number,
                entry_date=command.entry_date,
                description=command.description.strip(),
                lines=documents.journal_lines(command),
                reference=key,
            )
        )
        return documents.receipt(
            command.action,
            documents.JOURNAL_ENTRY,
            number,
            documents.journal_entry_summary(number, command),
            key,
            fingerprint,
        )

    def _change_credit_limit(self, command: ChangeCreditLimit, key: str, fingerprint: str) -> Receipt:
        customer = self._customer(ids.customer_code(command.customer_code))
        self._customers[customer.code] = self._customers[customer.code].model_copy(
            update={"credit_limit": money(command.new_limit)}
        )
        return documents.receipt(
            command.action,
            documents.CUSTOMER,
            customer.code,
            documents.credit_limit_summary(customer, command),
            key,
            fingerprint,
        )

    def _cancel_sales_order(self, command: CancelSalesOrder, key: str, fingerprint: str) -> Receipt:
        order = self._sales_orders[ids.order_number(command.order_number)]
        self._sales_orders[order.number] = order.model_copy(update={"status": SalesOrderStatus.CANCELLED})
        self._cancellation_reasons[order.number] = command.reason.strip()
        return documents.receipt(
            command.action,
            documents.SALES_ORDER,
            order.number,
            documents.cancellation_summary(order, command),
            key,
            fingerprint,
        )

    def _cancel_purchase_order(self, command: CancelPurchaseOrder, key: str, fingerprint: str) -> Receipt:
        order = self._purchase_orders[ids.order_number(command.order_number)]
        self._purchase_orders[order.number] = order.model_copy(
            update={"status": PurchaseOrderStatus.CANCELLED}
        )
        self._purchase_cancellation_reasons[order.number] = command.reason.strip()
        slot = (order.cost_center, order.issued_on.year)
        current = self._budgets[slot]
        self._budgets[slot] = documents.budget(
            current.cost_center,
            current.description,
            current.year,
            current.annual,
            money(documents.released(current.committed.amount, order.total.amount)),
            current.spent,
        )
        return documents.receipt(
            command.action,
            documents.PURCHASE_ORDER,
            order.number,
            documents.purchase_cancellation_summary(order, command),
            key,
            fingerprint,
        )

    def _change_price(self, command: ChangePrice, key: str, fingerprint: str) -> Receipt:
        product = self._product(ids.product_code(command.product_code))
        self._products[product.code] = product.model_copy(update={"list_price": money(command.new_price)})
        return documents.receipt(
            command.action,
            documents.PRODUCT,
            product.code,
            documents.price_summary(product, command),
            key,
            fingerprint,
        )
