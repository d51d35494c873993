"""``InMemoryErp``: a complete ERP in memory, with the same semantics as the legacy adapter.

It is the fake the layers above test against (fakes over mocks) and a zero-setup ERP for
demos. It honours the whole contract: idempotency ledger, conflicts, stale proposals, validation,
document numbering, budget commitments, balances. One re-entrant lock makes every call atomic,
which is what the legacy adapter gets from its database transaction.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal

from erp_acl import documents
from erp_acl import identifiers as ids
from erp_acl.commands import (
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
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    Receipt,
    SalesOrder,
    SalesOrderStatus,
    StockLevel,
    StockReport,
    Supplier,
    money,
)
from erp_acl.rules import check_versions, validate
from erp_acl.seed_data import DEFAULT_SEED, OPEN_EXPOSURE, SeedData, generate
from erp_acl.text_match import rank, search_text
from erp_acl.versions import stamp, versions_of


class InMemoryErp:
    """ErpReader + ErpWriter over plain dictionaries; ``data`` None gives an empty ERP."""

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
        self._cancellation_reasons: dict[str, str] = {}
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
            check_versions(command, self)
            today = self._today()
            validate(command, self, today)
            receipt = self._write(command, idempotency_key, fingerprint, today)
            self._ledger[idempotency_key] = receipt
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
