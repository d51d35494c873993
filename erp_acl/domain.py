"""The clean, typed domain model every layer above the ACL works with.

Amounts are ``Money`` (Decimal + ISO currency). Free text that comes from the ERP is typed
``UntrustedText`` so the gateway can mark it as data, never instructions, before a model sees it.
Every entity read from the ERP carries a ``version``: a digest of its content, used for optimistic
concurrency (a proposal records the versions it relied on; commit refuses if they changed).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

COMPANY_CURRENCY = "BRL"


class Untrusted:
    """Marker placed in a field's metadata: its text came from the ERP and may say anything."""

    def __repr__(self) -> str:
        return "Untrusted()"


UNTRUSTED = Untrusted()
UntrustedText = Annotated[str, UNTRUSTED]


class DomainModel(BaseModel):
    """Base of every domain type: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(DomainModel):
    amount: Decimal
    currency: str = COMPANY_CURRENCY

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"


def money(amount: Decimal | int | str, currency: str = COMPANY_CURRENCY) -> Money:
    """Build a Money rounded to cents."""
    return Money(amount=Decimal(str(amount)).quantize(Decimal("0.01")), currency=currency)


def content_version(payload: dict[str, Any]) -> str:
    """A short, stable digest of a record's content (its optimistic-concurrency version)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def record_ref(kind: str, code: str) -> str:
    """The reference of one ERP record, e.g. ``customer:C00012``; used as a version key."""
    return f"{kind}:{code}"


class Customer(DomainModel):
    code: str
    # Names and descriptions are free text typed into the ERP by people: data, never instructions.
    name: UntrustedText
    short_name: UntrustedText
    tax_id: str
    city: str
    state: str
    credit_limit: Money
    open_orders_total: Money = Field(description="value of this customer's open sales orders")
    blocked: bool
    memo: UntrustedText = ""
    version: str = ""


class Supplier(DomainModel):
    code: str
    name: UntrustedText
    short_name: UntrustedText
    tax_id: str
    city: str
    state: str
    email: str
    blocked: bool
    memo: UntrustedText = ""
    version: str = ""


class Product(DomainModel):
    code: str
    description: UntrustedText
    unit: str
    list_price: Money
    standard_cost: Money
    reorder_point: Decimal
    blocked: bool
    memo: UntrustedText = ""
    version: str = ""


class Warehouse(StrEnum):
    MAIN = "main"
    SECONDARY = "secondary"


class StockLevel(DomainModel):
    product_code: str
    warehouse: Warehouse
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


class StockReport(DomainModel):
    product_code: str
    description: UntrustedText
    unit: str
    reorder_point: Decimal
    levels: list[StockLevel]
    total_available: Decimal
    below_reorder_point: bool


class SalesOrderStatus(StrEnum):
    OPEN = "open"
    CREDIT_HOLD = "credit_hold"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


class OrderLine(DomainModel):
    line_no: int
    product_code: str
    quantity: Decimal
    unit_price: Money
    total: Money


class SalesOrder(DomainModel):
    number: str
    customer_code: str
    issued_on: date
    status: SalesOrderStatus
    lines: list[OrderLine]
    total: Money
    memo: UntrustedText = ""
    version: str = ""


class PurchaseOrderStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class PurchaseOrder(DomainModel):
    number: str
    supplier_code: str
    issued_on: date
    cost_center: str
    status: PurchaseOrderStatus
    lines: list[OrderLine]
    total: Money
    memo: UntrustedText = ""
    reference: str = Field(default="", description="external reference (Countersign's idempotency key)")
    version: str = ""


class SupplierInvoiceLine(DomainModel):
    line_no: int
    product_code: str
    quantity: Decimal
    unit_price: Money
    total: Money


class SupplierInvoice(DomainModel):
    """A supplier's invoice (nota fiscal de entrada) as keyed into the ERP, billing one purchase order."""

    number: str
    series: str = Field(default="", description="the invoice's series, part of its fiscal identity")
    supplier_code: str
    purchase_order_number: str
    issued_on: date
    lines: list[SupplierInvoiceLine]
    total: Money = Field(description="gross total the supplier billed")
    memo: UntrustedText = ""
    version: str = ""


class Budget(DomainModel):
    cost_center: str
    description: UntrustedText
    year: int
    annual: Money
    committed: Money
    spent: Money
    available: Money
    version: str = ""


class AccountKind(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


class GLAccount(DomainModel):
    code: str
    name: UntrustedText
    kind: AccountKind
    postable: bool = Field(description="analytic account that accepts postings (not a summary account)")
    blocked: bool


class AccountBalance(DomainModel):
    account: GLAccount
    as_of: date
    debits: Money
    credits: Money
    balance: Money = Field(description="debits minus credits (positive = debit balance)")


class JournalLine(DomainModel):
    account_code: str
    debit: Money
    credit: Money


class JournalEntry(DomainModel):
    number: str
    entry_date: date
    description: UntrustedText
    lines: list[JournalLine]
    reference: str = ""


class Receipt(DomainModel):
    """What the ERP answers when a command lands (or is replayed from the ledger)."""

    action: str
    document_type: str
    document_id: str
    summary: str
    idempotency_key: str
    fingerprint: str
    committed_at: datetime
    replayed: bool = Field(default=False, description="true when returned from the ledger, not a new write")


class LandedLine(DomainModel):
    """One line of a landed document, in one shape for both document types.

    Purchase order line: ``code`` = product, ``quantity``, ``unit_price``.
    Journal line: ``code`` = account (dotted), ``quantity`` = debit, ``unit_price`` = credit.
    """

    code: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def debit(self) -> Decimal:
        """A journal line's debit (its ``quantity``)."""
        return self.quantity

    @property
    def credit(self) -> Decimal:
        """A journal line's credit (its ``unit_price``)."""
        return self.unit_price


class LandedDocument(DomainModel):
    """A document Countersign wrote, as the ERP holds it now: what reconciliation compares with the ledger.

    ``reference`` is the idempotency key the document carries in its reference field;
    ``document_type`` uses the receipts' values (``purchase_order``, ``journal_entry``). A record a
    command changed in place (a customer's credit limit, a product's list price, an order it
    cancelled) is read back in the same shape: ``document_type`` ``customer``, ``product``,
    ``sales_order`` or ``purchase_order``, ``amount`` the limit, the price or the order's total.
    """

    reference: str
    document_type: str
    document_id: str
    status: str = Field(
        description="open / received / cancelled for orders; posted for journal entries; "
        "active / blocked for customers and products"
    )
    amount: Decimal = Field(
        description="order total, the entry's total debits, a customer's credit limit, a product's list price"
    )
    lines: tuple[LandedLine, ...]
    created_on: date | None = Field(
        default=None, description="an order's issue date, an entry's date; None for a customer or product"
    )
    party: str = Field(default="", description="a purchase order's supplier code")
    cost_center: str = Field(default="", description="the cost center a purchase order is charged to")
    description: str = Field(default="", description="a purchase order's memo, a journal entry's description")

    @property
    def cancelled(self) -> bool:
        """A cancelled purchase order still carries its key, but no longer holds anything."""
        return self.status == "cancelled"


class LedgerEntry(DomainModel):
    """One row of the ERP's idempotency ledger: the command as applied and its receipt."""

    idempotency_key: str
    fingerprint: str
    action: str
    command: dict[str, Any] = Field(description="the command as JSON, exactly as it was applied")
    receipt: Receipt | None = Field(description="None only if the ledger row was left without one")
    created_at: datetime
