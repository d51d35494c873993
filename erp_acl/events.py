"""Business events the ERP detects by itself, and the rule that turns conditions into events.

Three conditions are watched: a product's stock below its reorder point, an open sales order
whose customer's open exposure is over the credit limit, and a supplier invoice that disagrees
with its purchase order. Events are *transitions*, like an ERP alert: a condition that starts to
hold gives one event; while it keeps holding nothing new is raised; when it clears, the alert is
closed; when it holds again later, a new event with a new id is raised. Ids are deterministic
(``EV-`` + sha256(kind|subject|occurrence)[:20]), so the same history gives the same ids in every
adapter. Facts are plain strings (codes, quantities, amounts), never free text typed into the
ERP, so an event's description can be shown to a model as it is.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from erp_acl.domain import COMPANY_CURRENCY, money
from erp_acl.errors import NotFound, one_line
from erp_acl.identifiers import quantity

EventKind = Literal["stock_below_reorder_point", "sales_order_over_credit_limit", "supplier_invoice_mismatch"]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

STOCK_BELOW_REORDER_POINT: EventKind = "stock_below_reorder_point"
SALES_ORDER_OVER_CREDIT_LIMIT: EventKind = "sales_order_over_credit_limit"
SUPPLIER_INVOICE_MISMATCH: EventKind = "supplier_invoice_mismatch"

# The facts each kind must carry: what ``describe`` (and whoever acts on the event) reads.
REQUIRED_FACTS: dict[str, tuple[str, ...]] = {
    STOCK_BELOW_REORDER_POINT: ("product_code", "available", "reorder_point"),
    SALES_ORDER_OVER_CREDIT_LIMIT: ("customer_code", "order_total", "open_exposure", "credit_limit"),
    SUPPLIER_INVOICE_MISMATCH: (
        "invoice_number",
        "purchase_order_number",
        "product_code",
        "invoiced_unit_price",
        "ordered_unit_price",
        "invoiced_quantity",
        "ordered_quantity",
    ),
}

MAX_SUBJECT = 30
MAX_FACT = 200


class EventError(ValueError):
    """An event that cannot be built or read; the message is one line."""


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventError("the time of an event must carry a time zone (UTC)")
    return moment.astimezone(UTC)


def check_limit(limit: int) -> None:
    """How many events one call may return: at least one."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise EventError(f"limit must be a whole number of at least 1, not {limit!r}")


def checked_ids(event_ids: Sequence[str]) -> list[str]:
    """The distinct ids of a mark-published call, in order; one bare string is refused (it
    would otherwise read as a list of characters)."""
    if isinstance(event_ids, str) or not all(isinstance(i, str) and i for i in event_ids):
        raise EventError("event_ids must be a list of event ids (non-empty strings)")
    return list(dict.fromkeys(event_ids))


def unknown_events(event_ids: Sequence[str]) -> NotFound:
    """The one way every adapter refuses to mark events it never issued."""
    return NotFound(f"the ERP has no event {', '.join(event_ids)}; nothing was marked published")


def event_id(kind: str, subject: str, occurrence: int) -> str:
    """The id of the ``occurrence``-th time (1, 2, ...) ``kind`` started to hold for ``subject``."""
    digest = hashlib.sha256(f"{kind}|{subject}|{occurrence}".encode()).hexdigest()
    return f"EV-{digest[:20]}"


def _number(text: str, pattern: str) -> str:
    try:
        return format(Decimal(text), pattern)
    except (InvalidOperation, ValueError):
        return text  # a hand-made event may carry anything; show it as given


def _amount(text: str) -> str:
    return f"{COMPANY_CURRENCY} {_number(text, ',.2f')}"


class BusinessEvent(BaseModel):
    """Something the ERP noticed, stated once, with the facts needed to act on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(pattern=r"^EV-[0-9a-f]{20,32}$")
    kind: EventKind
    subject: str = Field(
        min_length=1,
        max_length=MAX_SUBJECT,
        description="product code, sales order number or invoice number",
    )
    detected_at: datetime = Field(description="when the ERP saw the condition start (UTC)")
    facts: dict[str, str] = Field(default_factory=dict)

    @field_validator("detected_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must carry a time zone (UTC)")
        return value.astimezone(UTC)

    @field_validator("subject")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if value != value.strip() or not value.isprintable():
            raise ValueError("must be a code without surrounding blanks or control characters")
        return value

    @model_validator(mode="after")
    def _complete(self) -> BusinessEvent:
        missing = [name for name in REQUIRED_FACTS[self.kind] if name not in self.facts]
        if missing:
            raise ValueError(f"a {self.kind} event needs the facts {', '.join(missing)}")
        for name, value in self.facts.items():
            if not name.isidentifier():
                raise ValueError(f"fact name {name!r} must be one word (letters, digits, underscores)")
            # describe() must stay one line, and a fact is a code or a number, not a text.
            if len(value) > MAX_FACT or not value.isprintable():
                raise ValueError(f"fact {name} must be at most {MAX_FACT} printable characters on one line")
        return self

    def describe(self) -> str:
        """One line a person and the agent can read."""
        facts = self.facts
        if self.kind == STOCK_BELOW_REORDER_POINT:
            line = (
                f"Stock of {facts['product_code']} fell below its reorder point: "
                f"{_number(facts['available'], 'f')} available, reorder point {_number(facts['reorder_point'], 'f')}."
            )
            supplier = facts.get("supplier_code")
            return f"{line} Its last purchase order went to supplier {supplier}." if supplier else line
        if self.kind == SALES_ORDER_OVER_CREDIT_LIMIT:
            return (
                f"Sales order {self.subject} of customer {facts['customer_code']} "
                f"({_amount(facts['order_total'])}) leaves the customer's open orders at "
                f"{_amount(facts['open_exposure'])}, over the credit limit of {_amount(facts['credit_limit'])}."
            )
        return self._describe_mismatch()

    def _describe_mismatch(self) -> str:
        facts = self.facts
        head = (
            f"Supplier invoice {facts['invoice_number']} does not match purchase order "
            f"{facts['purchase_order_number']}: "
        )
        product = facts["product_code"]
        billed_qty, ordered_qty = facts["invoiced_quantity"], facts["ordered_quantity"]
        billed_price, ordered_price = facts["invoiced_unit_price"], facts["ordered_unit_price"]
        if ordered_qty == "0":
            detail = f"it bills {billed_qty} of {product}, which the order does not have"
        elif billed_qty != ordered_qty and billed_price != ordered_price:
            detail = (
                f"{product} billed {billed_qty} at {billed_price}, ordered {ordered_qty} at {ordered_price}"
            )
        elif billed_qty != ordered_qty:
            detail = f"{product} billed {billed_qty}, ordered {ordered_qty}"
        else:
            detail = f"{product} billed at {billed_price} a unit, ordered at {ordered_price}"
        count = facts.get("differing_products", "1")
        more = f" ({count} products differ)" if count not in ("", "1") else ""
        return f"{head}{detail}{more}."


def _one_line(error: ValidationError) -> str:
    return one_line(error, "invalid event", whole="event")


def parse_event(data: dict[str, Any]) -> BusinessEvent:
    """An event from JSON-like data (as published); raises ``EventError`` with one line."""
    if not isinstance(data, dict):
        raise EventError(f"an event must be a JSON object, not {type(data).__name__}")
    try:
        return BusinessEvent.model_validate(data)
    except ValidationError as error:
        raise EventError(_one_line(error)) from None


def manual_event(kind: str, subject: str, facts: Mapping[str, str], now: datetime) -> BusinessEvent:
    """An event emitted by hand (a demo, an operator), with a random id: it is no ERP transition."""
    return parse_event(
        {
            "event_id": f"EV-{uuid.uuid4().hex}",
            "kind": kind,
            "subject": subject,
            "detected_at": utc(now),
            "facts": dict(facts),
        }
    )


# ---- conditions and transitions (shared by every adapter) ----------------------------------------


@dataclass(frozen=True)
class Condition:
    """A condition holding now for one subject, with the facts an event would state."""

    kind: EventKind
    subject: str
    facts: dict[str, str]


@dataclass(frozen=True)
class AlertState:
    """What the ERP's alert table knows of one (kind, subject): open now? how many times started?"""

    active: bool
    occurrences: int


@dataclass(frozen=True)
class Started:
    """A newly started alert: its event and which occurrence it is."""

    event: BusinessEvent
    occurrence: int


@dataclass(frozen=True)
class Transitions:
    started: list[Started]
    cleared: list[tuple[str, str]]


_KIND_ORDER: dict[str, int] = {kind: position for position, kind in enumerate(EVENT_KINDS)}


def _order(key: tuple[str, str]) -> tuple[int, str]:
    kind, subject = key
    return _KIND_ORDER.get(kind, len(_KIND_ORDER)), subject


def transitions(
    conditions: Iterable[Condition], alerts: Mapping[tuple[str, str], AlertState], now: datetime
) -> Transitions:
    """Which alerts start (conditions with no open alert) and which clear (open alerts whose
    condition no longer holds). Started events come in kind order, then subject order."""
    detected_at = utc(now)
    holding: dict[tuple[str, str], Condition] = {}
    for condition in conditions:
        holding.setdefault((condition.kind, condition.subject), condition)
    started: list[Started] = []
    for key in sorted(holding, key=_order):
        state = alerts.get(key)
        if state is not None and state.active:
            continue
        condition = holding[key]
        occurrence = (state.occurrences if state is not None else 0) + 1
        event = BusinessEvent(
            event_id=event_id(condition.kind, condition.subject, occurrence),
            kind=condition.kind,
            subject=condition.subject,
            detected_at=detected_at,
            facts=condition.facts,
        )
        started.append(Started(event, occurrence))
    cleared = sorted(
        (key for key, state in alerts.items() if state.active and key not in holding), key=_order
    )
    return Transitions(started, cleared)


def quantity_text(value: Decimal) -> str:
    """A quantity as a fact: canonical, no trailing zeros (``470``, ``12.5``)."""
    return format(quantity(value), "f")


def amount_text(value: Decimal) -> str:
    """An amount as a fact: two decimals, no separators (``312000.00``)."""
    return format(money(value).amount, "f")


def stock_condition(
    product_code: str, available: Decimal, reorder_point: Decimal, supplier_code: str | None
) -> Condition:
    facts = {
        "product_code": product_code,
        "available": quantity_text(available),
        "reorder_point": quantity_text(reorder_point),
    }
    if supplier_code:
        facts["supplier_code"] = supplier_code
    return Condition(STOCK_BELOW_REORDER_POINT, product_code, facts)


def credit_condition(
    order_number: str, customer_code: str, order_total: Decimal, open_exposure: Decimal, credit_limit: Decimal
) -> Condition:
    return Condition(
        SALES_ORDER_OVER_CREDIT_LIMIT,
        order_number,
        {
            "sales_order_number": order_number,
            "customer_code": customer_code,
            "order_total": amount_text(order_total),
            "open_exposure": amount_text(open_exposure),
            "credit_limit": amount_text(credit_limit),
        },
    )


@dataclass(frozen=True)
class InvoiceDifference:
    """One product of an invoice compared with its purchase order (``ordered_*`` None: not on it)."""

    invoice_number: str
    supplier_code: str
    purchase_order_number: str
    product_code: str
    invoiced_quantity: Decimal
    invoiced_unit_price: Decimal
    ordered_quantity: Decimal | None
    ordered_unit_price: Decimal | None


def invoice_condition(differences: list[InvoiceDifference]) -> Condition:
    """One condition per invoice, naming its first differing product (by code) and how many differ."""
    first = min(differences, key=lambda d: d.product_code)
    return Condition(
        SUPPLIER_INVOICE_MISMATCH,
        first.invoice_number,
        {
            "invoice_number": first.invoice_number,
            "supplier_code": first.supplier_code,
            "purchase_order_number": first.purchase_order_number,
            "product_code": first.product_code,
            "invoiced_quantity": quantity_text(first.invoiced_quantity),
            "ordered_quantity": quantity_text(first.ordered_quantity or Decimal(0)),
            "invoiced_unit_price": amount_text(first.invoiced_unit_price),
            "ordered_unit_price": amount_text(first.ordered_unit_price or Decimal(0)),
            "differing_products": str(len(differences)),
        },
    )
