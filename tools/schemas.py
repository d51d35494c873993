"""Argument schemas of every tool, as the model sees them (names verb_object, pydantic-typed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from erp_acl.domain import PurchaseOrderStatus, SalesOrderStatus


class ToolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- reads -------------------------------------------------------------------------------


class SearchArgs(ToolArgs):
    query: str = Field(min_length=1, description="words of the name, description or code to look for")
    limit: int = Field(default=10, ge=1, le=50)


class CustomerCodeArgs(ToolArgs):
    customer_code: str = Field(min_length=1, description="customer code, e.g. C00012")


class SupplierCodeArgs(ToolArgs):
    supplier_code: str = Field(min_length=1, description="supplier code, e.g. F00003")


class ProductCodeArgs(ToolArgs):
    product_code: str = Field(min_length=1, description="product code, e.g. HB-M8-40")


class ListSalesOrdersArgs(ToolArgs):
    customer_code: str | None = Field(default=None, description="only this customer's orders")
    status: SalesOrderStatus | None = None
    limit: int = Field(default=20, ge=1, le=100)


class SalesOrderNumberArgs(ToolArgs):
    order_number: str = Field(min_length=1, description="sales order number, e.g. 000123")


class ListPurchaseOrdersArgs(ToolArgs):
    supplier_code: str | None = Field(default=None, description="only this supplier's orders")
    status: PurchaseOrderStatus | None = None
    limit: int = Field(default=20, ge=1, le=100)


class PurchaseOrderNumberArgs(ToolArgs):
    order_number: str = Field(min_length=1, description="purchase order number, e.g. 000045")


class CheckBudgetArgs(ToolArgs):
    cost_center: str | None = Field(default=None, description="cost center code; omit to list all")
    year: int | None = Field(default=None, description="budget year; defaults to the current year")


class AccountBalanceArgs(ToolArgs):
    account_code: str = Field(min_length=1, description="GL account code, e.g. 1.1.01.001")
    as_of: date | None = Field(default=None, description="balance at the end of this day; default today")


# ---- proposals (writes) ----------------------------------------------------------------------


class ProposedPurchaseLine(ToolArgs):
    product_code: str
    quantity: Decimal = Field(gt=0)
    unit_price: Decimal | None = Field(default=None, gt=0, description="omit to use the standard cost")


class ProposePurchaseOrderArgs(ToolArgs):
    supplier_code: str
    cost_center: str = Field(description="cost center whose budget pays for it")
    lines: list[ProposedPurchaseLine] = Field(min_length=1)
    memo: str = Field(default="", description="note for the supplier or approver")


class ProposedJournalLine(ToolArgs):
    account_code: str
    debit: Decimal = Field(default=Decimal("0"), ge=0)
    credit: Decimal = Field(default=Decimal("0"), ge=0)


class ProposeJournalEntryArgs(ToolArgs):
    description: str = Field(min_length=1)
    lines: list[ProposedJournalLine] = Field(min_length=2)
    entry_date: date | None = Field(default=None, description="defaults to today")


class ProposeCreditLimitChangeArgs(ToolArgs):
    customer_code: str
    new_limit: Decimal = Field(ge=0)
    reason: str = ""


class ProposeSalesOrderCancellationArgs(ToolArgs):
    order_number: str
    reason: str = Field(min_length=1)


class ProposePriceChangeArgs(ToolArgs):
    product_code: str
    new_price: Decimal = Field(gt=0)
    reason: str = ""
