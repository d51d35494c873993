"""Write commands: the only ways anything above the ACL may ask the ERP to change.

Commands are imperative and carry no ERP identifiers beyond business codes. ``based_on`` holds
the versions of the records the proposal relied on (filled by whoever proposes, from the ERP);
``apply`` refuses with ``StaleProposal`` if any of them changed since.

Every command declares the role of each of its fields, so every layer (approver edits, the edit
form, tolerance) reads one truth: *identity* fields say who or what the command is about (a
counterparty, a product, a GL account, a cost center, the document it cancels or changes) and are
fixed once proposed; *adjustable* fields say how much, when and why (quantities, amounts, prices,
dates, memo text); *system* fields (``action``, ``based_on``) are filled by the software alone.
A line field is written ``lines.*.name``: the same role on every line.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from erp_acl.domain import record_ref

# What the ERP can hold: digits in all and after the point (the tools' argument schemas use
# these types too, so a number the ERP could not hold is refused before it is proposed).
Quantity = Annotated[Decimal, Field(max_digits=14, decimal_places=3)]
Amount = Annotated[Decimal, Field(max_digits=16, decimal_places=2)]

FieldRole = Literal["identity", "adjustable", "system"]
# A line field's role is the same on every line: ``lines.3.quantity`` is ``lines.*.quantity``.
ANY_LINE = "*"


class CommandBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Who or what the command is about: an approver may never change these (reject instead).
    IDENTITY_FIELDS: ClassVar[frozenset[str]] = frozenset()
    # How much, when and why: an approver may change these, within the policy's tolerance.
    ADJUSTABLE_FIELDS: ClassVar[frozenset[str]] = frozenset()
    SYSTEM_FIELDS: ClassVar[frozenset[str]] = frozenset({"action", "based_on"})

    based_on: dict[str, str] = Field(
        default_factory=dict, description="record ref -> version the proposal relied on"
    )

    @classmethod
    def field_role(cls, path: str) -> FieldRole | None:
        """The role of a dotted field path (``memo``, ``lines.0.quantity``); None when the command
        has no such leaf field (a line as a whole, ``lines`` itself, or a name it does not have)."""
        parts = path.split(".")
        if len(parts) == 3 and parts[1].isdigit():
            parts[1] = ANY_LINE
        pattern = ".".join(parts)
        if pattern in cls.IDENTITY_FIELDS:
            return "identity"
        if pattern in cls.ADJUSTABLE_FIELDS:
            return "adjustable"
        if parts[0] in cls.SYSTEM_FIELDS:
            return "system"
        return None

    def relied_on(self) -> list[str]:
        """References of the records whose versions make this command still valid."""
        raise NotImplementedError

    def summary(self) -> str:
        """One line a person can read in an inbox."""
        raise NotImplementedError


class PurchaseLineSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    product_code: str
    quantity: Quantity
    unit_price: Amount | None = Field(
        default=None,
        description="unit price agreed with the supplier; defaults to the product's standard cost",
    )


class CreatePurchaseOrder(CommandBase):
    action: Literal["create_purchase_order"] = "create_purchase_order"
    IDENTITY_FIELDS = frozenset({"supplier_code", "cost_center", "lines.*.product_code"})
    ADJUSTABLE_FIELDS = frozenset({"lines.*.quantity", "lines.*.unit_price", "memo"})
    supplier_code: str
    cost_center: str
    lines: list[PurchaseLineSpec] = Field(min_length=1)
    memo: str = ""

    def relied_on(self) -> list[str]:
        refs = [record_ref("supplier", self.supplier_code)]
        refs += [record_ref("product", line.product_code) for line in self.lines]
        return sorted(set(refs))

    def summary(self) -> str:
        items = ", ".join(f"{line.quantity} x {line.product_code}" for line in self.lines)
        return f"Purchase order to supplier {self.supplier_code} for {items} (cost center {self.cost_center})"


class JournalLineSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account_code: str
    debit: Amount = Decimal("0")
    credit: Amount = Decimal("0")


class PostJournalEntry(CommandBase):
    action: Literal["post_journal_entry"] = "post_journal_entry"
    IDENTITY_FIELDS = frozenset({"lines.*.account_code"})
    ADJUSTABLE_FIELDS = frozenset({"entry_date", "description", "lines.*.debit", "lines.*.credit"})
    entry_date: date
    description: str
    lines: list[JournalLineSpec] = Field(min_length=2)

    def relied_on(self) -> list[str]:
        return []

    def summary(self) -> str:
        total = sum((line.debit for line in self.lines), Decimal("0"))
        return f"Journal entry on {self.entry_date.isoformat()} for {total:,.2f}: {self.description}"


class ChangeCreditLimit(CommandBase):
    action: Literal["change_credit_limit"] = "change_credit_limit"
    IDENTITY_FIELDS = frozenset({"customer_code"})
    ADJUSTABLE_FIELDS = frozenset({"new_limit", "reason"})
    customer_code: str
    new_limit: Amount
    reason: str = ""

    def relied_on(self) -> list[str]:
        return [record_ref("customer", self.customer_code)]

    def summary(self) -> str:
        return f"Change credit limit of customer {self.customer_code} to {self.new_limit:,.2f}"


class CancelSalesOrder(CommandBase):
    action: Literal["cancel_sales_order"] = "cancel_sales_order"
    IDENTITY_FIELDS = frozenset({"order_number"})
    ADJUSTABLE_FIELDS = frozenset({"reason"})
    order_number: str
    reason: str

    def relied_on(self) -> list[str]:
        return [record_ref("sales_order", self.order_number)]

    def summary(self) -> str:
        return f"Cancel sales order {self.order_number}: {self.reason}"


class ChangePrice(CommandBase):
    action: Literal["change_price"] = "change_price"
    IDENTITY_FIELDS = frozenset({"product_code"})
    ADJUSTABLE_FIELDS = frozenset({"new_price", "reason"})
    product_code: str
    new_price: Amount
    reason: str = ""

    def relied_on(self) -> list[str]:
        return [record_ref("product", self.product_code)]

    def summary(self) -> str:
        return f"Change list price of product {self.product_code} to {self.new_price:,.2f}"


class CancelPurchaseOrder(CommandBase):
    action: Literal["cancel_purchase_order"] = "cancel_purchase_order"
    IDENTITY_FIELDS = frozenset({"order_number"})
    ADJUSTABLE_FIELDS = frozenset({"reason"})
    order_number: str
    reason: str

    def relied_on(self) -> list[str]:
        return [record_ref("purchase_order", self.order_number)]

    def summary(self) -> str:
        return f"Cancel purchase order {self.order_number}: {self.reason}"


Command = Annotated[
    CreatePurchaseOrder
    | PostJournalEntry
    | ChangeCreditLimit
    | CancelSalesOrder
    | ChangePrice
    | CancelPurchaseOrder,
    Field(discriminator="action"),
]
# mypy reads the Annotated union as a value, not a type (only in some runs: hence unused-ignore);
# pydantic accepts it (documented usage).
COMMAND_TYPES: dict[str, type[CommandBase]] = {
    kind.model_fields["action"].default: kind
    for kind in (
        CreatePurchaseOrder,
        PostJournalEntry,
        ChangeCreditLimit,
        CancelSalesOrder,
        ChangePrice,
        CancelPurchaseOrder,
    )
}
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)  # type: ignore[arg-type, unused-ignore]
ACTIONS: tuple[str, ...] = (
    "create_purchase_order",
    "post_journal_entry",
    "change_credit_limit",
    "cancel_sales_order",
    "change_price",
    "cancel_purchase_order",
)

# Largest relative list-price change a single ChangePrice may make (a "bounded change").
MAX_PRICE_CHANGE = Decimal("0.30")


def parse_command(data: dict[str, Any]) -> Command:
    """Validate a JSON-like dict (with an ``action`` field) into its command type."""
    return COMMAND_ADAPTER.validate_python(data)


def fingerprint(command: CommandBase) -> str:
    """SHA-256 over the canonical JSON of the whole command (payload and versions)."""
    canonical = json.dumps(command.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
