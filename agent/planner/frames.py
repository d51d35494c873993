"""Intent frames: what a request asks for, as typed data (and JSON, to carry a pending question).

The parser turns a human message into one frame; the step logic turns a frame plus tool results
into the next action. A ``Pending`` frame rides in the planner's own AIMessage
(``additional_kwargs["planner"]``) while it waits for the user to answer a question.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class FrameModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityRef(FrameModel):
    """A record the user named: the words they used, and its code once known."""

    text: str = ""
    code: str | None = None

    def shown(self) -> str:
        return self.code or self.text


ChangeMode = Literal["to", "by", "by_percent", "times"]


class Change(FrameModel):
    """How a number should change: to 75,000; by 10,000; by 20%; times 2. ``direction`` is +1/-1,
    or 0 when the words did not say (a relative change then needs asking)."""

    mode: ChangeMode
    value: Decimal
    direction: int = 0

    def apply(self, current: Decimal) -> Decimal | None:
        if self.mode == "to":
            return self.value
        if self.mode == "times":
            return current * self.value
        if self.direction == 0:
            return None
        delta = self.value if self.mode == "by" else current * self.value / Decimal(100)
        return current + self.direction * delta


class PurchaseItem(FrameModel):
    product: EntityRef
    quantity: Decimal | None = None
    unit_price: Decimal | None = None


class PurchaseFrame(FrameModel):
    intent: Literal["purchase_order"] = "purchase_order"
    supplier: EntityRef | None = None
    items: list[PurchaseItem] = Field(default_factory=list)
    cost_center: EntityRef | None = None
    cost_center_tentative: bool = False
    memo: str = ""


class JournalLineFrame(FrameModel):
    side: Literal["debit", "credit"]
    account: EntityRef
    amount: Decimal | None = None


class JournalFrame(FrameModel):
    intent: Literal["journal_entry"] = "journal_entry"
    lines: list[JournalLineFrame] = Field(default_factory=list)
    description: str = ""
    entry_date: date | None = None


class CreditLimitFrame(FrameModel):
    intent: Literal["credit_limit"] = "credit_limit"
    customer: EntityRef | None = None
    change: Change | None = None
    direction_hint: int = 0
    reason: str = ""


class CancelFrame(FrameModel):
    intent: Literal["cancel_sales_order"] = "cancel_sales_order"
    order_number: str | None = None
    reason: str = ""


class CancelPurchaseFrame(FrameModel):
    """Cancel an open purchase order (its commitment goes back to the cost center's budget)."""

    intent: Literal["cancel_purchase_order"] = "cancel_purchase_order"
    order_number: str | None = None
    reason: str = ""


class PriceFrame(FrameModel):
    intent: Literal["price_change"] = "price_change"
    product: EntityRef | None = None
    change: Change | None = None
    direction_hint: int = 0
    reason: str = ""


ReadTopic = Literal[
    "stock",
    "product",
    "customer",
    "supplier",
    "sales_orders",
    "sales_order",
    "purchase_orders",
    "purchase_order",
    "supplier_invoice",
    "supplier_invoices",
    "invoice_match",
    "budget",
    "accounts",
    "balance",
    "lookup",
]
EntityKind = Literal["customer", "supplier", "product", "account", "cost_center"]


class ReadFrame(FrameModel):
    intent: Literal["read"] = "read"
    topic: ReadTopic
    entity: EntityRef | None = None
    entity_kind: EntityKind | None = None
    status: str | None = None
    order_number: str | None = None
    invoice_number: str | None = None
    as_of: date | None = None
    year: int | None = None
    cost_center: str | None = None
    listing: bool = False


class ReadsFrame(FrameModel):
    """Several reads named in one request ("sales order 000001 and customer C00001"), in order."""

    intent: Literal["reads"] = "reads"
    reads: list[ReadFrame] = Field(min_length=2)


ChatKind = Literal["greeting", "thanks", "ack", "help", "out_of_scope", "unsupported", "unclear", "abort"]


class ChatFrame(FrameModel):
    intent: Literal["chat"] = "chat"
    kind: ChatKind
    detail: str = ""


Frame = Annotated[
    PurchaseFrame
    | JournalFrame
    | CreditLimitFrame
    | CancelFrame
    | CancelPurchaseFrame
    | PriceFrame
    | ReadFrame
    | ReadsFrame
    | ChatFrame,
    Field(discriminator="intent"),
]

WRITE_INTENTS: dict[str, str] = {
    "purchase_order": "propose_purchase_order",
    "journal_entry": "propose_journal_entry",
    "credit_limit": "propose_credit_limit_change",
    "cancel_sales_order": "propose_sales_order_cancellation",
    "price_change": "propose_price_change",
    "cancel_purchase_order": "propose_cancel_purchase_order",
}


class Candidate(FrameModel):
    code: str
    label: str


class Pending(FrameModel):
    """A request waiting for the user: which slot the question was about, and the choices offered."""

    frame: Frame
    slot: str
    candidates: list[Candidate] = Field(default_factory=list)
