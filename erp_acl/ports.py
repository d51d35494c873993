"""Ports: what the layers above may ask of any ERP. Adapters implement all three protocols."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Protocol

from erp_acl.commands import Command
from erp_acl.domain import (
    AccountBalance,
    Budget,
    Customer,
    GLAccount,
    LandedDocument,
    LedgerEntry,
    Product,
    PurchaseOrder,
    PurchaseOrderStatus,
    Receipt,
    SalesOrder,
    SalesOrderStatus,
    StockReport,
    Supplier,
    SupplierInvoice,
)
from erp_acl.events import BusinessEvent


class ErpReader(Protocol):
    """Read side. Lookups by code raise ``NotFound``; searches return best matches first."""

    def search_customers(self, query: str, limit: int = 10) -> list[Customer]: ...
    def get_customer(self, code: str) -> Customer: ...
    def search_suppliers(self, query: str, limit: int = 10) -> list[Supplier]: ...
    def get_supplier(self, code: str) -> Supplier: ...
    def search_products(self, query: str, limit: int = 10) -> list[Product]: ...
    def get_product(self, code: str) -> Product: ...
    def stock_report(self, product_code: str) -> StockReport: ...
    def list_sales_orders(
        self, customer_code: str | None = None, status: SalesOrderStatus | None = None, limit: int = 20
    ) -> list[SalesOrder]: ...
    def get_sales_order(self, number: str) -> SalesOrder: ...
    def list_purchase_orders(
        self, supplier_code: str | None = None, status: PurchaseOrderStatus | None = None, limit: int = 20
    ) -> list[PurchaseOrder]: ...
    def get_purchase_order(self, number: str) -> PurchaseOrder: ...
    def list_supplier_invoices(
        self, supplier_code: str | None = None, purchase_order_number: str | None = None, limit: int = 20
    ) -> list[SupplierInvoice]: ...
    def get_supplier_invoice(self, number: str) -> SupplierInvoice: ...
    def list_budgets(self, year: int | None = None) -> list[Budget]: ...
    def get_budget(self, cost_center: str, year: int | None = None) -> Budget: ...
    def search_accounts(self, query: str, limit: int = 10) -> list[GLAccount]: ...
    def account_balance(self, code: str, as_of: date | None = None) -> AccountBalance: ...
    def record_versions(self, refs: Sequence[str]) -> dict[str, str]:
        """Current version of each ``kind:code`` ref (missing records map to ``"missing"``)."""
        ...

    def check(self, command: Command) -> None:
        """Validate a command against the domain rules and current data; raise ``ValidationFailed``."""
        ...


class ErpWriter(Protocol):
    """Write side: every change goes through ``apply`` with an idempotency key."""

    def apply(self, command: Command, idempotency_key: str, fingerprint: str) -> Receipt:
        """Apply once. Same key → stored receipt (``replayed=True``), no write; same key with
        another fingerprint → ``IdempotencyConflict``; changed ``based_on`` → ``StaleProposal``."""
        ...

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        """The ledger's receipt for a key, or None if nothing landed under it."""
        ...

    def ledger(self) -> Iterator[Receipt]:
        """Every receipt in the ledger, oldest first: the authority on what landed."""
        ...

    def ledger_entries(self) -> Iterator[LedgerEntry]:
        """Every ledger row (key, fingerprint, action, command, receipt, time), oldest first; streamed."""
        ...

    def landed_documents(self) -> Iterator[LandedDocument]:
        """Every live purchase order and journal entry carrying a reference (an idempotency key),
        cancelled ones included; streamed, purchase orders first, each type in number order."""
        ...


class ErpEvents(Protocol):
    """Business events the ERP detects (stock, credit, invoices), kept in the ERP as alerts."""

    def scan_events(self, now: datetime) -> list[BusinessEvent]:
        """Detect every watched condition, open an alert for each that started, close those that
        cleared; return only the newly started events (``now`` must be timezone-aware)."""
        ...

    def unpublished_events(self, limit: int = 100) -> list[BusinessEvent]:
        """Events not yet marked published, oldest first (cleared ones too: they did happen)."""
        ...

    def mark_events_published(self, event_ids: Sequence[str]) -> None:
        """Record that these events were published; again is harmless, an unknown id is ``NotFound``."""
        ...


class Erp(ErpReader, ErpWriter, ErpEvents, Protocol):
    """An adapter offering every side."""
