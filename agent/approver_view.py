"""The approver's view of one proposal: what it means in business terms, on one screen.

A proposal's payload speaks in codes ("400 x HB-M8-40, cost center CC300"). An approver needs the
names beside the codes, currency on every amount, unit prices and line totals, for a change the
value today and the proposed one, the budget before and after, the stock position, what else is
waiting or open for the same thing, the requester's own words and the agent's rationale.

``build_view`` computes that read model from the proposal, its conversation and ERP reads made
through ``read`` (the service passes the gateway's read tools, so every read is authorised and
audited like any other). It is computed for one opened proposal at a time. A read that fails is
named in ``unread`` and the rest of the view still stands: the page never hides a proposal because
one lookup failed. Risk flags inform; they never change who must approve (the gate does that).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from agent.approvals import Proposal
from agent.edits import Amendment, amended_by, amendments, proposed_terms
from agent.policy import RiskRule
from erp_acl.domain import COMPANY_CURRENCY

# Lines of an order beyond this many are summed but not each looked up by name.
MAX_NAMED_LINES = 25
# How many of a counterparty's recent orders its history is measured on.
HISTORY_ORDERS = 20
# How many open purchase orders are scanned for the same product.
OPEN_ORDERS_SCANNED = 100


class ReadFailed(Exception):
    """One ERP read for the view could not be made; the message says which and why."""


Read = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Figure:
    """An amount with its currency, as people read it: ``BRL 1,250.00``."""

    amount: Decimal
    currency: str = COMPANY_CURRENCY

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.2f}"


@dataclass(frozen=True)
class Party:
    """Who or what the proposal is about: a code with its name beside it."""

    role: str  # "Supplier", "Cost center", "Customer", "Product", "Account", "Sales order"
    code: str
    name: str | None  # None when it could not be read

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.name else self.code


@dataclass(frozen=True)
class ViewLine:
    """One line of what it will write (an order line, a journal line), with names and money."""

    item: str  # "Hex bolt M8x40 (HB-M8-40)" or "Cash (1.1.01)"
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Figure | None = None
    total: Figure | None = None
    debit: Figure | None = None
    credit: Figure | None = None
    note: str = ""  # e.g. "standard cost": no price was agreed, the product's standard applies


@dataclass(frozen=True)
class Change:
    """A value as it stands in the ERP today and as the proposal would set it."""

    label: str
    before: Figure | None
    after: Figure

    @property
    def percent(self) -> Decimal | None:
        if self.before is None or self.before.amount == 0:
            return None
        return (self.after.amount - self.before.amount) / abs(self.before.amount) * 100


@dataclass(frozen=True)
class BudgetImpact:
    """A cost center's available budget now and once this proposal is written."""

    cost_center: Party
    year: int
    annual: Figure
    before: Figure
    after: Figure

    @property
    def overdrawn(self) -> bool:
        return self.after.amount < 0


@dataclass(frozen=True)
class StockPosition:
    """One product's stock: available now, already on order, and after this purchase."""

    product: Party
    unit: str
    available: Decimal
    reorder_point: Decimal
    on_order: Decimal  # open purchase orders in the ERP
    ordering: Decimal  # this proposal

    @property
    def after(self) -> Decimal:
        return self.available + self.on_order + self.ordering


@dataclass(frozen=True)
class RiskFlag:
    """Something an approver would otherwise miss, in one sentence."""

    kind: str  # "same_subject", "large_change", "above_history", "below_cost", "over_budget"
    text: str


@dataclass(frozen=True)
class ConversationLine:
    role: str  # "requester" or "agent"
    text: str


@dataclass(frozen=True)
class ApproverView:
    """Everything an approver needs to decide one proposal, in business terms."""

    proposal_id: str
    action: str
    headline: str
    parties: list[Party] = field(default_factory=list)
    lines: list[ViewLine] = field(default_factory=list)
    total: Figure | None = None
    changes: list[Change] = field(default_factory=list)
    budget: BudgetImpact | None = None
    stock: list[StockPosition] = field(default_factory=list)
    flags: list[RiskFlag] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # memo, reason, description
    amended: list[Amendment] = field(default_factory=list)
    amended_by: list[str] = field(default_factory=list)
    request: str | None = None  # the requester's own words
    rationale: str | None = None  # the agent's words when it proposed it
    conversation: list[ConversationLine] = field(default_factory=list)
    thread_id: str = ""
    unread: list[str] = field(default_factory=list)
    # How far an approver may move the amount (a share of ``proposed_amount``, the amount as first
    # proposed) and still have the edit count as their approval; beyond it, someone else decides.
    tolerance: Decimal | None = None
    proposed_amount: Figure | None = None

    @property
    def tolerance_range(self) -> tuple[Figure, Figure] | None:
        if self.tolerance is None or self.proposed_amount is None:
            return None
        amount, currency = self.proposed_amount.amount, self.proposed_amount.currency
        return (
            Figure(amount * (1 - self.tolerance), currency),
            Figure(amount * (1 + self.tolerance), currency),
        )


def _plain_number(value: Decimal) -> str:
    """10.00 as "10", 2.5 as "2.5": a policy's setting as people write it."""
    return f"{value.normalize():f}"


def percent_text(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


# ---- the conversation ------------------------------------------------------------------------


def _text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
    return " ".join(p for p in parts if p).strip()


def the_request(
    messages: Sequence[AnyMessage], tool_call_id: str
) -> tuple[str | None, str | None, list[ConversationLine]]:
    """The requester's words, the agent's rationale and the turn between them, for the model call
    ``tool_call_id`` that filed a proposal (all empty when the conversation is gone)."""
    at = next(
        (
            i
            for i, m in enumerate(messages)
            if isinstance(m, AIMessage) and any(c.get("id") == tool_call_id for c in m.tool_calls)
        ),
        None,
    )
    if at is None:
        return None, None, []
    start = next((i for i in range(at, -1, -1) if isinstance(messages[i], HumanMessage)), None)
    if start is None:
        return None, _text(messages[at]) or None, []
    turn = [
        ConversationLine("requester" if isinstance(m, HumanMessage) else "agent", _text(m))
        for m in messages[start : at + 1]
        if isinstance(m, HumanMessage | AIMessage) and _text(m)
    ]
    return _text(messages[start]) or None, _text(messages[at]) or None, turn


# ---- reading the ERP -------------------------------------------------------------------------


class _Reader:
    """The view's ERP reads, each at most once; a failed one is noted and answers None."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self._seen: dict[str, Any] = {}
        self.unread: list[str] = []

    def get(self, tool: str, **args: Any) -> Any:
        key = f"{tool}:{sorted(args.items())}"
        if key not in self._seen:
            try:
                self._seen[key] = self._read(tool, args)
            except ReadFailed as failed:
                self.unread.append(str(failed))
                self._seen[key] = None
        return self._seen[key]

    def name(self, role: str, tool: str, code: str, attribute: str = "name", **args: Any) -> Party:
        found = self.get(tool, **args)
        value = getattr(found, attribute, None) if found is not None else None
        return Party(role, code, str(value) if value else None)

    def account(self, code: str) -> Party:
        found = self.get("search_accounts", query=code, limit=10) or []
        match = next((a for a in found if getattr(a, "code", None) == code), None)
        return Party("Account", code, str(match.name) if match is not None else None)


def _figure(value: Any, currency: str = COMPANY_CURRENCY) -> Figure:
    if hasattr(value, "amount") and hasattr(value, "currency"):
        return Figure(Decimal(str(value.amount)), str(value.currency))
    return Figure(Decimal(str(value)), currency)


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


# ---- per action ------------------------------------------------------------------------------


@dataclass
class _Draft:
    headline: str = ""
    parties: list[Party] = field(default_factory=list)
    lines: list[ViewLine] = field(default_factory=list)
    total: Figure | None = None
    changes: list[Change] = field(default_factory=list)
    budget: BudgetImpact | None = None
    stock: list[StockPosition] = field(default_factory=list)
    flags: list[RiskFlag] = field(default_factory=list)


def _above_history(
    amount: Figure, orders: Sequence[Any], who: Party, risk: RiskRule, what: str
) -> RiskFlag | None:
    totals = [o.total.amount for o in orders if str(getattr(o, "status", "")) != "cancelled"]
    if not totals:
        return None
    largest = max(totals)
    if largest > 0 and amount.amount > largest * risk.history_multiple:
        times = amount.amount / largest
        return RiskFlag(
            "above_history",
            f"{what} {amount} is {times:.1f}× the largest of {who}'s last {len(totals)} orders "
            f"({Figure(largest, amount.currency)}); the policy flags anything above "
            f"{_plain_number(risk.history_multiple)}×.",
        )
    return None


def _purchase_order(
    payload: dict[str, Any], proposal: Proposal, reader: _Reader, risk: RiskRule, pending: bool
) -> _Draft:
    draft = _Draft()
    supplier = reader.name(
        "Supplier", "get_supplier", payload["supplier_code"], supplier_code=payload["supplier_code"]
    )
    center = reader.name(
        "Cost center",
        "check_budget",
        payload["cost_center"],
        "description",
        cost_center=payload["cost_center"],
    )
    draft.parties = [supplier, center]
    total = Decimal(0)
    currency = COMPANY_CURRENCY
    ordering: dict[str, Decimal] = {}
    products: dict[str, Any] = {}
    for line in payload.get("lines", []):
        code = str(line["product_code"])
        quantity = _decimal(line["quantity"])
        product = reader.get("get_product", product_code=code)
        products[code] = product
        note = ""
        if line.get("unit_price") not in (None, ""):
            price = Figure(_decimal(line["unit_price"]), currency)
        elif product is not None:
            price, note = _figure(product.standard_cost), "standard cost"
        else:
            price = None
        line_total = Figure(price.amount * quantity, price.currency) if price is not None else None
        total += line_total.amount if line_total is not None else Decimal(0)
        name = str(product.description) if product is not None else None
        draft.lines.append(
            ViewLine(
                str(Party("Product", code, name)),
                quantity=quantity,
                unit=str(getattr(product, "unit", "") or ""),
                unit_price=price,
                total=line_total,
                note=note,
            )
        )
        ordering[code] = ordering.get(code, Decimal(0)) + quantity
    draft.total = Figure(total, currency)
    items = ", ".join(" ".join(filter(None, (f"{ln.quantity:,}", ln.unit, ln.item))) for ln in draft.lines)
    draft.headline = f"Purchase order to {supplier} for {items}, {draft.total} — charged to {center}"

    budget = reader.get("check_budget", cost_center=payload["cost_center"])
    if budget is not None and hasattr(budget, "available"):
        available = _figure(budget.available)
        after = Figure(available.amount - total, available.currency) if pending else available
        draft.budget = BudgetImpact(center, int(budget.year), _figure(budget.annual), available, after)
        if draft.budget.overdrawn:
            draft.flags.append(
                RiskFlag("over_budget", f"It takes {center} over its budget: {after} after this order.")
            )

    # Open purchase orders in the ERP: the stock already on its way, and orders for the same thing.
    open_orders = reader.get("list_purchase_orders", status="open", limit=OPEN_ORDERS_SCANNED) or []
    for code, quantity in ordering.items():
        same = [
            o
            for o in open_orders
            if o.reference != proposal.write_key and any(ln.product_code == code for ln in o.lines)
        ]
        on_order = sum((ln.quantity for o in same for ln in o.lines if ln.product_code == code), Decimal(0))
        product = products.get(code)
        party = Party("Product", code, str(product.description) if product is not None else None)
        report = reader.get("check_stock", product_code=code)
        if report is not None:
            draft.stock.append(
                StockPosition(
                    party,
                    str(report.unit),
                    Decimal(report.total_available),
                    Decimal(report.reorder_point),
                    on_order,
                    quantity if pending else Decimal(0),
                )
            )
        if same:
            listed = ", ".join(
                f"{o.number} ({sum((ln.quantity for ln in o.lines if ln.product_code == code), Decimal(0)):,}"
                f" from {_supplier(reader, o.supplier_code)}, {o.issued_on.isoformat()})"
                for o in same[:5]
            )
            more = f" and {len(same) - 5} more" if len(same) > 5 else ""
            draft.flags.append(
                RiskFlag("same_subject", f"Open purchase orders already order {party}: {listed}{more}.")
            )
    history = reader.get("list_purchase_orders", supplier_code=payload["supplier_code"], limit=HISTORY_ORDERS)
    flag = _above_history(draft.total, history or [], supplier, risk, "This order's total")
    if flag is not None:
        draft.flags.append(flag)
    return draft


def _supplier(reader: _Reader, code: str) -> Party:
    return reader.name("Supplier", "get_supplier", code, supplier_code=code)


def _journal_entry(payload: dict[str, Any], reader: _Reader) -> _Draft:
    draft = _Draft()
    debit_total = Decimal(0)
    for line in payload.get("lines", []):
        account = reader.account(str(line["account_code"]))
        if account not in draft.parties:
            draft.parties.append(account)
        debit, credit = _decimal(line.get("debit")), _decimal(line.get("credit"))
        debit_total += debit
        draft.lines.append(
            ViewLine(
                str(account),
                debit=Figure(debit) if debit else None,
                credit=Figure(credit) if credit else None,
            )
        )
    draft.total = Figure(debit_total)
    draft.headline = (
        f"Journal entry on {payload.get('entry_date')} for {draft.total}: {payload.get('description', '')}"
    )
    return draft


def _credit_limit(payload: dict[str, Any], reader: _Reader, risk: RiskRule) -> _Draft:
    code = str(payload["customer_code"])
    customer = reader.get("get_customer", customer_code=code)
    party = Party("Customer", code, str(customer.name) if customer is not None else None)
    before = _figure(customer.credit_limit) if customer is not None else None
    draft, change = _changed_in_place(
        party, Change("Credit limit", before, Figure(_decimal(payload["new_limit"])))
    )
    after = change.after
    if customer is not None:
        draft.lines.append(ViewLine("Open sales orders today", total=_figure(customer.open_orders_total)))
    draft.headline = f"Change the credit limit of {party} " + (
        f"from {before} to {after} ({percent_text(change.percent)})" if before else f"to {after}"
    )
    _large_change(draft, change, risk.credit_change_above, "credit limit")
    if before is None or after.amount > before.amount:
        orders = reader.get("list_sales_orders", customer_code=code, limit=HISTORY_ORDERS)
        flag = _above_history(after, orders or [], party, risk, "The new limit")
        if flag is not None:
            draft.flags.append(flag)
    return draft


def _price(payload: dict[str, Any], reader: _Reader, risk: RiskRule) -> _Draft:
    code = str(payload["product_code"])
    product = reader.get("get_product", product_code=code)
    party = Party("Product", code, str(product.description) if product is not None else None)
    before = _figure(product.list_price) if product is not None else None
    draft, change = _changed_in_place(
        party, Change("List price", before, Figure(_decimal(payload["new_price"])))
    )
    after = change.after
    unit = f" per {product.unit}" if product is not None else ""
    draft.headline = f"Change the list price of {party} " + (
        f"from {before} to {after}{unit} ({percent_text(change.percent)})" if before else f"to {after}{unit}"
    )
    _large_change(draft, change, risk.price_change_above, "list price")
    if product is not None:
        cost = _figure(product.standard_cost)
        draft.lines.append(ViewLine("Standard cost", unit=str(product.unit), unit_price=cost))
        if after.amount < cost.amount:
            draft.flags.append(
                RiskFlag("below_cost", f"The new price {after} is below the standard cost {cost}.")
            )
    return draft


def _changed_in_place(party: Party, change: Change) -> tuple[_Draft, Change]:
    """The view of a change made in place on one record (a credit limit, a list price): the
    record, its value today → the proposed one, and that value as the total."""
    return _Draft(parties=[party], changes=[change], total=change.after), change


def _large_change(draft: _Draft, change: Change, limit: Decimal, what: str) -> None:
    percent = change.percent
    if percent is not None and abs(percent) > limit * 100:
        draft.flags.append(
            RiskFlag(
                "large_change",
                f"The {what} moves {percent_text(percent)}; the policy flags changes beyond "
                f"±{_plain_number(limit * 100)}%.",
            )
        )


def _order_lines(order: Any, reader: _Reader) -> list[ViewLine]:
    lines = []
    for index, line in enumerate(order.lines):
        product = (
            reader.get("get_product", product_code=line.product_code) if index < MAX_NAMED_LINES else None
        )
        name = str(product.description) if product is not None else None
        lines.append(
            ViewLine(
                str(Party("Product", line.product_code, name)),
                quantity=Decimal(line.quantity),
                unit=str(getattr(product, "unit", "") or ""),
                unit_price=_figure(line.unit_price),
                total=_figure(line.total),
            )
        )
    return lines


def _cancel_sales_order(payload: dict[str, Any], reader: _Reader) -> _Draft:
    draft = _Draft()
    number = str(payload["order_number"])
    order = reader.get("get_sales_order", order_number=number)
    draft.parties = [Party("Sales order", number, None)]
    if order is None:
        draft.headline = f"Cancel sales order {number}"
        return draft
    customer = reader.name("Customer", "get_customer", order.customer_code, customer_code=order.customer_code)
    draft.parties.append(customer)
    draft.lines = _order_lines(order, reader)
    draft.total = _figure(order.total)
    draft.headline = (
        f"Cancel sales order {number} of {customer}: {draft.total}, issued {order.issued_on.isoformat()}, "
        f"now {order.status}"
    )
    return draft


def _cancel_purchase_order(payload: dict[str, Any], reader: _Reader, pending: bool) -> _Draft:
    draft = _Draft()
    number = str(payload["order_number"])
    order = reader.get("get_purchase_order", order_number=number)
    draft.parties = [Party("Purchase order", number, None)]
    if order is None:
        draft.headline = f"Cancel purchase order {number}"
        return draft
    supplier = reader.name("Supplier", "get_supplier", order.supplier_code, supplier_code=order.supplier_code)
    center = reader.name(
        "Cost center", "check_budget", order.cost_center, "description", cost_center=order.cost_center
    )
    draft.parties += [supplier, center]
    draft.lines = _order_lines(order, reader)
    draft.total = _figure(order.total)
    draft.headline = (
        f"Cancel purchase order {number} to {supplier}: {draft.total}, issued {order.issued_on.isoformat()}, "
        f"now {order.status} — releases its commitment on {center}"
    )
    budget = reader.get("check_budget", cost_center=order.cost_center)
    if budget is not None and hasattr(budget, "available"):
        available = _figure(budget.available)
        released = draft.total.amount if pending and str(order.status) == "open" else Decimal(0)
        after = Figure(available.amount + released, available.currency)
        draft.budget = BudgetImpact(center, int(budget.year), _figure(budget.annual), available, after)
    return draft


# Which payload values say what a proposal is about, for "something else waits for the same thing".
def subjects(payload: dict[str, Any]) -> set[str]:
    action = payload.get("action")
    if action == "create_purchase_order":
        return {f"product {line.get('product_code')}" for line in payload.get("lines", [])}
    if action == "change_credit_limit":
        return {f"customer {payload.get('customer_code')}"}
    if action == "change_price":
        return {f"product {payload.get('product_code')}"}
    if action in ("cancel_sales_order", "cancel_purchase_order"):
        return {f"order {payload.get('order_number')}"}
    return set()


def _waiting_flags(proposal: Proposal, waiting: Sequence[Proposal]) -> list[RiskFlag]:
    mine = subjects(proposal.payload)
    flags = []
    for other in waiting:
        if other.id == proposal.id or other.action != proposal.action:
            continue
        shared = sorted(mine & subjects(other.payload))
        if shared:
            who = other.on_behalf_of
            flags.append(
                RiskFlag(
                    "same_subject",
                    f"{other.id} for the same {', '.join(shared)} is also waiting for approval "
                    f"(requested by {who}, filed {other.created_at:%Y-%m-%d %H:%M} UTC): {other.summary}",
                )
            )
    return flags


_NOTE_FIELDS = (("memo", "Memo"), ("reason", "Reason"), ("description", "Description"))


def build_view(
    proposal: Proposal,
    *,
    read: Read,
    risk: RiskRule,
    messages: Sequence[AnyMessage] = (),
    tool_call_id: str | None = None,
    waiting: Sequence[Proposal] = (),
) -> ApproverView:
    """The approver's view of ``proposal`` (its payload as it stands now), reading the ERP through
    ``read``; ``waiting`` are the other pending proposals, for the flags about the same subject."""
    payload = proposal.payload
    reader = _Reader(read)
    pending = proposal.status == "pending"
    action = proposal.action
    if action == "create_purchase_order":
        draft = _purchase_order(payload, proposal, reader, risk, pending)
    elif action == "post_journal_entry":
        draft = _journal_entry(payload, reader)
    elif action == "change_credit_limit":
        draft = _credit_limit(payload, reader, risk)
    elif action == "change_price":
        draft = _price(payload, reader, risk)
    elif action == "cancel_sales_order":
        draft = _cancel_sales_order(payload, reader)
    elif action == "cancel_purchase_order":
        draft = _cancel_purchase_order(payload, reader, pending)
    else:  # an action this view does not know yet: the summary and the raw fields still show
        draft = _Draft(headline=proposal.summary)
    draft.flags += _waiting_flags(proposal, waiting)
    request, rationale, turn = the_request(messages, tool_call_id) if tool_call_id else (None, None, [])
    return ApproverView(
        proposal_id=proposal.id,
        action=action,
        headline=draft.headline or proposal.summary,
        parties=draft.parties,
        lines=draft.lines,
        total=draft.total,
        changes=draft.changes,
        budget=draft.budget,
        stock=draft.stock,
        flags=draft.flags,
        notes=[(label, str(payload[key])) for key, label in _NOTE_FIELDS if payload.get(key)],
        amended=amendments(proposal),
        amended_by=amended_by(proposal),
        request=request,
        rationale=rationale,
        conversation=turn,
        thread_id=proposal.thread_id,
        unread=reader.unread,
        tolerance=_tolerance(proposal),
        proposed_amount=_proposed_amount(proposal),
    )


def _tolerance(proposal: Proposal) -> Decimal | None:
    value = proposal.gate.get("edit_tolerance")
    return Decimal(str(value)) if value not in (None, "") else None


def _proposed_amount(proposal: Proposal) -> Figure | None:
    try:
        return Figure(Decimal(str(proposed_terms(proposal)["amount"])))
    except (KeyError, ArithmeticError, ValueError):
        return None
