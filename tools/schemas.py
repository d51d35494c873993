"""Argument schemas of every tool, as the model sees them (names verb_object, pydantic-typed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erp_acl.commands import Amount, Quantity
from erp_acl.domain import PurchaseOrderStatus, SalesOrderStatus
from erp_acl.plain_text import plain_text


class ToolArgs(BaseModel):
    # Unknown fields and leading/trailing blanks never reach the ERP.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain(cls, value: object) -> object:
        # Every string a tool is given is plain one-line text: a control character in a code, a
        # query or a memo is refused here, before the ERP or a person's screen sees it.
        return plain_text(value) if isinstance(value, str) else value


# Bounds checked before any ERP call: a model (or a client) cannot send a novel as a code.
CODE = 32
QUERY = 100
NOTE = 250
MAX_QUANTITY = Decimal("1000000000")
MAX_AMOUNT = Decimal("1000000000000")
# Numbers are typed as the commands type them (``Quantity``, ``Amount``: the digits the ERP can
# hold), so a value too large (10**30) or too fine (a tenth of a cent) is refused here, in one
# line naming the field, before anything is filed or stored.


# ---- reads -------------------------------------------------------------------------------


class SearchArgs(ToolArgs):
    query: str = Field(
        min_length=1, max_length=QUERY, description="words of the name, description or code to look for"
    )
    limit: int = Field(default=10, ge=1, le=50)


class CustomerCodeArgs(ToolArgs):
    customer_code: str = Field(min_length=1, max_length=CODE, description="customer code, e.g. C00012")


class SupplierCodeArgs(ToolArgs):
    supplier_code: str = Field(min_length=1, max_length=CODE, description="supplier code, e.g. F00003")


class ProductCodeArgs(ToolArgs):
    product_code: str = Field(min_length=1, max_length=CODE, description="product code, e.g. HB-M8-40")


class ListSalesOrdersArgs(ToolArgs):
    customer_code: str | None = Field(
        default=None, max_length=CODE, description="only this customer's orders"
    )
    status: SalesOrderStatus | None = None
    limit: int = Field(default=20, ge=1, le=100)


class SalesOrderNumberArgs(ToolArgs):
    order_number: str = Field(min_length=1, max_length=CODE, description="sales order number, e.g. 000123")


class ListPurchaseOrdersArgs(ToolArgs):
    supplier_code: str | None = Field(
        default=None, max_length=CODE, description="only this supplier's orders"
    )
    status: PurchaseOrderStatus | None = None
    limit: int = Field(default=20, ge=1, le=100)


class PurchaseOrderNumberArgs(ToolArgs):
    order_number: str = Field(min_length=1, max_length=CODE, description="purchase order number, e.g. 000045")


class ListSupplierInvoicesArgs(ToolArgs):
    supplier_code: str | None = Field(
        default=None, max_length=CODE, description="only this supplier's invoices"
    )
    purchase_order_number: str | None = Field(
        default=None, max_length=CODE, description="only invoices billing this purchase order"
    )
    limit: int = Field(default=20, ge=1, le=100)


class SupplierInvoiceNumberArgs(ToolArgs):
    invoice_number: str = Field(
        min_length=1, max_length=CODE, description="supplier invoice number, e.g. 000004533"
    )


class CheckBudgetArgs(ToolArgs):
    cost_center: str | None = Field(
        default=None, max_length=CODE, description="cost center code; omit to list all"
    )
    year: int | None = Field(
        default=None, ge=2000, le=2100, description="budget year; defaults to the current year"
    )


class AccountBalanceArgs(ToolArgs):
    account_code: str = Field(min_length=1, max_length=CODE, description="GL account code, e.g. 1.1.01.001")
    as_of: date | None = Field(default=None, description="balance at the end of this day; default today")


# ---- proposals (writes) ----------------------------------------------------------------------


class ProposedPurchaseLine(ToolArgs):
    product_code: str = Field(min_length=1, max_length=CODE)
    quantity: Quantity = Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False)
    unit_price: Amount | None = Field(
        default=None, gt=0, le=MAX_AMOUNT, allow_inf_nan=False, description="omit to use the standard cost"
    )


class ProposePurchaseOrderArgs(ToolArgs):
    supplier_code: str = Field(min_length=1, max_length=CODE)
    cost_center: str = Field(
        min_length=1, max_length=CODE, description="cost center whose budget pays for it"
    )
    lines: list[ProposedPurchaseLine] = Field(min_length=1, max_length=50)
    memo: str = Field(default="", max_length=NOTE, description="note for the supplier or approver")


class ProposedJournalLine(ToolArgs):
    account_code: str = Field(min_length=1, max_length=CODE)
    debit: Amount = Field(default=Decimal("0"), ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    credit: Amount = Field(default=Decimal("0"), ge=0, le=MAX_AMOUNT, allow_inf_nan=False)


class ProposeJournalEntryArgs(ToolArgs):
    description: str = Field(min_length=1, max_length=120)
    lines: list[ProposedJournalLine] = Field(min_length=2, max_length=50)
    entry_date: date | None = Field(default=None, description="defaults to today")


class ProposeCreditLimitChangeArgs(ToolArgs):
    customer_code: str = Field(min_length=1, max_length=CODE)
    new_limit: Amount = Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    reason: str = Field(default="", max_length=NOTE)


class ProposeSalesOrderCancellationArgs(ToolArgs):
    order_number: str = Field(min_length=1, max_length=CODE)
    reason: str = Field(min_length=1, max_length=NOTE)


class ProposePriceChangeArgs(ToolArgs):
    product_code: str = Field(min_length=1, max_length=CODE)
    new_price: Amount = Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)
    reason: str = Field(default="", max_length=NOTE)


class ProposePurchaseOrderCancellationArgs(ToolArgs):
    order_number: str = Field(min_length=1, max_length=CODE, description="purchase order number, e.g. 000045")
    reason: str = Field(min_length=1, max_length=NOTE)
