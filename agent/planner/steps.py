"""From a frame and the turn's tool results to the next action: more reads, a proposal, or a reply.

Every plan is re-walked from the top on each call (see ``resolve.Run``): look up what the request
names, ask when something is missing or unclear, check stock and budget, then emit exactly one
propose_* call, and once its result is in, say plainly what happened. Values used in a proposal
come from the human's words and from the ERP's codes and numbers, never from ERP free text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from agent.planner import replies as rp
from agent.planner.conversation import Observation, RequestContext
from agent.planner.flow import Decision, Wait, ask, ask_unclear, need, num
from agent.planner.frames import (
    WRITE_INTENTS,
    CancelFrame,
    CancelPurchaseFrame,
    Change,
    ChatFrame,
    CreditLimitFrame,
    EntityRef,
    Frame,
    JournalFrame,
    PriceFrame,
    PurchaseFrame,
    ReadFrame,
    ReadsFrame,
)
from agent.planner.numbers import format_decimal
from agent.planner.reads import answer_read, answer_reads
from agent.planner.resolve import Found, Run, ToolCallSpec, Unclear, resolve, resolve_cost_center

CENT = Decimal("0.01")


def plan(
    frame: Frame, observations: list[Observation], ctx: RequestContext, bound: frozenset[str]
) -> Decision:
    """The next action for ``frame`` given what this turn's tool calls returned."""
    run = Run(observations, bound)
    try:
        decision: Decision | None = _dispatch(frame, run, ctx)
    except Wait:
        decision = None
    if decision is not None and decision.calls:
        return decision
    if run.calls:
        return Decision(calls=tuple(run.calls))
    if decision is not None:
        return decision
    if run.missing_tools:
        return Decision(
            text="I can't look that up here: this session doesn't give me the "
            + ", ".join(run.missing_tools)
            + " tool. "
            + rp.capabilities(bound)
        )
    return Decision(text="I'm not sure how to help with that. " + rp.capabilities(bound))


def _dispatch(frame: Frame, run: Run, ctx: RequestContext) -> Decision | None:
    if isinstance(frame, ChatFrame):
        return _chat(frame, ctx, rp.capabilities(run.bound))
    handler = _HANDLERS[frame.intent]
    propose_tool = WRITE_INTENTS.get(frame.intent)
    if propose_tool is not None:
        outcome = run.outcome_of(propose_tool)
        if outcome is not None:
            return Decision(text=_outcome_text(propose_tool, outcome, _proposed(handler, frame, run, ctx)))
        if propose_tool not in run.bound:
            return Decision(text=_read_only_text(propose_tool))
    return handler(frame, run, ctx)


def _proposed(
    handler: Callable[[Any, Run, RequestContext], Decision | None],
    frame: Frame,
    run: Run,
    ctx: RequestContext,
) -> str:
    """What was proposed, re-derived from the same reads (the plan is deterministic)."""
    replay = Run(run.observations, run.bound)
    try:
        decision = handler(frame, replay, ctx)
    except Wait:
        return ""
    return decision.summary if decision is not None else ""


# ---- chat -------------------------------------------------------------------------------------------


def _chat(frame: ChatFrame, ctx: RequestContext, capabilities: str) -> Decision:
    name = ctx.requester_name.split(" ")[0] if ctx.requester_name else ""
    hello = f"Hello{', ' + name if name else ''}! "
    texts = {
        "greeting": hello + capabilities + " " + rp.EXAMPLES,
        "thanks": "You're welcome. Anything else in the ERP I can look up or propose?",
        "help": capabilities + " " + rp.EXAMPLES + " Every change waits for a person to approve it.",
        "abort": "OK, I've dropped that. Nothing new was proposed.",
        "ack": "OK. What would you like to look up or propose next?",
        "unclear": "I didn't catch what you need. " + capabilities + " " + rp.EXAMPLES,
    }
    if frame.kind in texts:
        return Decision(text=texts[frame.kind])
    if frame.kind == "unsupported":
        if frame.detail == "approval":
            return Decision(
                text="I can't approve or reject proposals: a person decides them in the approvals inbox. "
                "I only look things up and file proposals."
            )
        if frame.detail == "cancel_invoice":
            return Decision(
                text="I can't cancel or change supplier invoices; I can show them and compare them with "
                "their purchase orders. " + capabilities
            )
        if frame.detail == "customer_invoices":
            return Decision(
                text="I can only read supplier invoices (what suppliers bill us), not customer invoices. "
                + capabilities
            )
        return Decision(text="That isn't something I can do here. " + capabilities)
    reasons = {
        "destructive": "I can't delete or wipe anything, and I never change the ERP directly.",
        "communication": "I can't send emails or messages.",
    }
    lead = reasons.get(frame.detail, "Sorry, that's outside what I can help with.")
    return Decision(text=f"{lead} {capabilities}")


def _read_only_text(tool: str) -> str:
    return (
        f"I'm read-only for {_PLURAL[tool]} in this session, so I can't propose that change; I can only report "
        "what the ERP holds (for example stock, budgets, customers or orders). Ask someone who can file "
        "proposals, or ask me to look something up."
    )


# ---- after a proposal --------------------------------------------------------------------------------

_DOCUMENT = {
    "propose_purchase_order": "purchase order",
    "propose_journal_entry": "journal entry",
    "propose_credit_limit_change": "credit-limit change",
    "propose_sales_order_cancellation": "sales-order cancellation",
    "propose_price_change": "price change",
    "propose_cancel_purchase_order": "purchase-order cancellation",
}
_PLURAL = {tool: noun[:-1] + "ies" if noun.endswith("y") else noun + "s" for tool, noun in _DOCUMENT.items()}


def _outcome_text(tool: str, obs: Observation, proposed: str = "") -> str:
    what = _DOCUMENT[tool]
    if not obs.ok:
        return _failure_text(what, obs.error)
    data = obs.data if isinstance(obs.data, dict) else {}
    status = str(data.get("status") or "").lower()
    proposal_id = rp.s(data, "proposal_id") or rp.s(data, "id")
    receipt = data.get("receipt") if isinstance(data.get("receipt"), dict) else None
    if status == "committed" and receipt is not None:
        return _committed_text(tool, proposal_id, receipt, data)
    if status == "pending" or (not status and proposal_id):
        ref = f" as proposal {proposal_id}" if proposal_id else ""
        summary = proposed or rp.s(data, "summary") or f"the {what}"
        return f"Filed for approval{ref}: {summary}. Nothing changes in the ERP until an approver accepts it."
    if status in ("approved", "committing"):
        return f"The {what} (proposal {proposal_id}) is approved and being written to the ERP; it is not confirmed yet."
    if status in ("rejected", "expired", "failed"):
        return f"The {what} (proposal {proposal_id}) was {status}. Nothing was written to the ERP."
    return f"The {what} proposal came back with status \u201c{status or 'unknown'}\u201d; I can't confirm that anything was written."


def _amended_text(data: dict[str, Any]) -> str:
    """What an approver changed before approving, so the requester never mistakes it for their own
    request; empty when it landed as proposed."""
    changed = data.get("changed_by_approver")
    if not isinstance(changed, dict):
        return ""
    who = " and ".join(str(p) for p in changed.get("by") or []) or "An approver"
    items = [
        f"{c.get('field')} from {c.get('proposed')} to {c.get('approved')}"
        for c in changed.get("changes") or []
        if isinstance(c, dict)
    ]
    if not items:
        return ""
    return f" Note: {who} changed {', '.join(items)} before approving it; this is what was written."


def _committed_text(tool: str, proposal_id: str, receipt: dict[str, Any], data: dict[str, Any]) -> str:
    doc_id = rp.s(receipt, "document_id")
    summary = rp.s(receipt, "summary")
    landed = {
        "propose_purchase_order": f"purchase order {doc_id} was created",
        "propose_journal_entry": f"journal entry {doc_id} was posted",
        "propose_credit_limit_change": f"the credit-limit change was applied ({doc_id})",
        "propose_sales_order_cancellation": f"sales order {doc_id} was cancelled",
        "propose_price_change": f"the price change was applied ({doc_id})",
        "propose_cancel_purchase_order": f"purchase order {doc_id} was cancelled",
    }[tool]
    via = f" after approval of proposal {proposal_id}" if proposal_id else ""
    replay = (
        " (the ERP had already recorded it; nothing was written twice)" if receipt.get("replayed") else ""
    )
    text = f"Done \u2014 {landed}{via}{replay}." + (f" {summary}." if summary else "")
    return text + _amended_text(data)


def _failure_text(what: str, error: str) -> str:
    text = error.strip().rstrip(".")
    rejected = re.search(
        r"proposal\s+(?P<id>\S+)\s+was\s+rejected\s+by\s+(?P<who>[^:]+?)(?::\s*(?P<why>.*))?$", text, re.S
    )
    if rejected:
        why = (rejected.group("why") or "").strip()
        why = re.sub(r"\.?\s*Nothing was written to the ERP\.?$", "", why).strip() or "no reason given"
        return (
            f"The {what} was not made: proposal {rejected.group('id')} was rejected by "
            f"{rejected.group('who').strip()} (reason: {why}). Nothing was written to the ERP."
        )
    if text.lower().startswith("cannot propose"):
        detail = text.split(":", 1)[1].strip() if ":" in text else text
        return f"I could not file the {what}: {detail}. Nothing was proposed or written."
    return f"The {what} did not go through: {text}. Nothing was written to the ERP."


# ---- proposing ----------------------------------------------------------------------------------------------


def _propose(tool: str, args: dict[str, Any], what: str, notes: str = "") -> Decision:
    """The one propose call of a plan; ``what`` describes it ("a purchase order to ...")."""
    text = f"Proposing {what}. It needs approval before anything changes in the ERP.{notes}"
    return Decision(text=text, calls=(ToolCallSpec(tool, args),), summary=what)


# ---- purchase order ---------------------------------------------------------------------------------------


def _purchase(frame: PurchaseFrame, run: Run, ctx: RequestContext) -> Decision | None:
    supplier_res = resolve(run, "supplier", frame.supplier) if frame.supplier else None
    item_res = [
        resolve(run, "product", it.product) if (it.product.text or it.product.code) else None
        for it in frame.items
    ]
    cc_ref = frame.cost_center
    default_cc = (
        EntityRef(text=ctx.default_cost_center, code=ctx.default_cost_center)
        if ctx.default_cost_center
        else None
    )
    cc_res = resolve_cost_center(run, cc_ref) if cc_ref else None
    use_default = default_cc is not None and (cc_ref is None or frame.cost_center_tentative)
    default_res = resolve_cost_center(run, default_cc) if default_cc is not None and use_default else None
    if run.calls:
        raise Wait
    if frame.cost_center_tentative and isinstance(cc_res, Unclear):
        cc_ref, cc_res = None, None  # "for the pump repair" was not a cost center after all
    if cc_ref is None and default_cc is not None:
        cc_ref, cc_res = default_cc, default_res

    if frame.supplier is None and not frame.items:
        return ask(frame, "items", "What should I order, how many, and from which supplier?")
    if frame.supplier is None:
        return ask(frame, "supplier", "Which supplier should I order from?")
    supplier = need(supplier_res)
    if isinstance(supplier, Unclear):
        return ask_unclear(frame, "supplier", supplier)
    if not frame.items:
        return ask(
            frame, "items", f"What should I order from {rp.supplier_label(supplier.record)}, and how many?"
        )
    products: list[Found] = []
    for index, (item, res) in enumerate(zip(frame.items, item_res, strict=True)):
        if res is None and not (item.product.text or item.product.code):
            return ask(
                frame,
                f"product:{index}",
                f"Which product should I order {format_decimal(item.quantity or Decimal(0))} of?",
            )
        found = need(res)
        if isinstance(found, Unclear):
            return ask_unclear(frame, f"product:{index}", found)
        products.append(found)
    for index, (item, product) in enumerate(zip(frame.items, products, strict=True)):
        if item.quantity is None or item.quantity <= 0:
            return ask(
                frame, f"quantity:{index}", f"How many {rp.product_label(product.record)} should I order?"
            )
    if cc_ref is None:
        return ask(
            frame,
            "cost_center",
            "Which cost center should pay for this order? You have no default cost center.",
        )
    cost_center = need(cc_res)
    if isinstance(cost_center, Unclear):
        return ask_unclear(frame, "cost_center", cost_center)

    stock = [run.read("check_stock", {"product_code": p.code}) for p in products]
    budget = run.read("check_budget", {"cost_center": cost_center.code})
    if run.calls:
        raise Wait
    lines: list[dict[str, Any]] = []
    for item, product in zip(frame.items, products, strict=True):
        assert item.quantity is not None
        line: dict[str, Any] = {"product_code": product.code, "quantity": num(item.quantity)}
        if item.unit_price is not None:
            line["unit_price"] = num(item.unit_price)
        lines.append(line)
    args = {
        "supplier_code": supplier.code,
        "cost_center": cost_center.code,
        "lines": lines,
        "memo": frame.memo,
    }
    what = _purchase_summary(frame, supplier, products, cost_center, stock, budget)
    notes = "".join(f" {f.note}" for f in (supplier, *products) if f.note)
    return _propose("propose_purchase_order", args, what, notes)


def _purchase_summary(
    frame: PurchaseFrame,
    supplier: Found,
    products: list[Found],
    cost_center: Found,
    stock: list[Observation | None],
    budget: Observation | None,
) -> str:
    items = []
    total = Decimal(0)
    for item, product, st in zip(frame.items, products, stock, strict=True):
        assert item.quantity is not None
        price = (
            item.unit_price if item.unit_price is not None else rp.dec(product.record.get("standard_cost"))
        )
        if price is not None:
            total += price * item.quantity
        stock_note = ""
        if st is not None and st.ok and isinstance(st.data, dict):
            stock_note = f"; {rp.qty(st.data.get('total_available'))} in stock"
            if st.data.get("below_reorder_point"):
                stock_note += ", below reorder point"
        items.append(f"{format_decimal(item.quantity)} x {rp.product_label(product.record)}{stock_note}")
    budget_note = ""
    if budget is not None and budget.ok and isinstance(budget.data, dict):
        budget_note = f" ({rp.money(budget.data.get('available'))} available)"
    return (
        f"a purchase order to {rp.supplier_label(supplier.record)}: {'; '.join(items)} — estimated "
        f"{rp.money(total)}, charged to cost center "
        f"{rp.budget_label(cost_center.record) if cost_center.record else cost_center.code}{budget_note}"
    )


# ---- journal entry ----------------------------------------------------------------------------------------


def _journal(frame: JournalFrame, run: Run, ctx: RequestContext) -> Decision | None:
    if not frame.lines:
        return ask(
            frame,
            "journal",
            "Which accounts should I debit and credit, and for how much? "
            "For example: debit 5.1.02.001 1,200.00, credit 1.1.02.001 1,200.00, description 'pump repair'.",
        )
    resolutions = [resolve(run, "account", line.account) for line in frame.lines]
    if run.calls:
        raise Wait
    accounts: list[Found] = []
    for index, res in enumerate(resolutions):
        found = need(res)
        if isinstance(found, Unclear):
            return ask_unclear(frame, f"account:{index}", found)
        accounts.append(found)
    sides = {line.side for line in frame.lines}
    if sides != {"debit", "credit"}:
        missing = "credit" if "credit" not in sides else "debit"
        return ask(frame, f"{missing}_line", f"Which account should I {missing}?")
    if any(line.amount is None for line in frame.lines):
        return ask(frame, "amount", "What amount should I post?")
    debits = sum((ln.amount or Decimal(0) for ln in frame.lines if ln.side == "debit"), Decimal(0))
    credits = sum((ln.amount or Decimal(0) for ln in frame.lines if ln.side == "credit"), Decimal(0))
    if debits != credits:
        return ask(
            frame,
            "journal",
            f"That entry doesn't balance: debits {rp.money(debits)} and credits {rp.money(credits)}. "
            "What should the lines be?",
        )
    lines = []
    for line, account in zip(frame.lines, accounts, strict=True):
        amount = (line.amount or Decimal(0)).quantize(CENT, ROUND_HALF_UP)
        entry: dict[str, Any] = {"account_code": account.code, "debit": 0, "credit": 0}
        entry[line.side] = num(amount)
        lines.append(entry)
    args: dict[str, Any] = {"description": frame.description or "Journal entry", "lines": lines}
    if frame.entry_date is not None:
        args["entry_date"] = frame.entry_date.isoformat()
    described = "; ".join(
        f"{line.side} {rp.account_label(acc.record)} {rp.money(line.amount)}"
        for line, acc in zip(frame.lines, accounts, strict=True)
    )
    notes = "".join(f" {a.note}" for a in accounts if a.note)
    what = (
        f"a journal entry \u201c{args['description']}\u201d"
        + (f" dated {frame.entry_date.isoformat()}" if frame.entry_date else "")
        + f": {described}"
    )
    return _propose("propose_journal_entry", args, what, notes)


# ---- credit limit ------------------------------------------------------------------------------------------


def _credit_limit(frame: CreditLimitFrame, run: Run, ctx: RequestContext) -> Decision | None:
    if frame.customer is None:
        return ask(frame, "customer", "Which customer's credit limit should I change?")
    customer = need(resolve(run, "customer", frame.customer, detail=True))
    if isinstance(customer, Unclear):
        return ask_unclear(frame, "customer", customer)
    record = customer.record
    current = rp.dec(record.get("credit_limit")) or Decimal(0)
    label = rp.customer_label(record)
    if frame.change is None:
        return ask(
            frame,
            "change",
            f"What should the new credit limit of {label} be? It is {rp.money(record.get('credit_limit'))} now.",
        )
    new = _apply_change(frame.change, current)
    if new is None:
        return ask(
            frame,
            "direction",
            f"Should I raise or lower the credit limit of {label} (now {rp.money(current)}) by {_change_amount(frame.change)}?",
        )
    if new < 0:
        return Decision(
            text=f"That would make the credit limit of {label} negative ({rp.money(new)}); I can't propose it."
        )
    if new == current:
        return Decision(
            text=f"The credit limit of {label} is already {rp.money(current)}; there is nothing to change."
        )
    args = {"customer_code": customer.code, "new_limit": num(new), "reason": frame.reason}
    blocked = " Note: the customer is blocked in the ERP." if record.get("blocked") else ""
    what = f"a credit-limit change for {label} from {rp.money(current)} to {rp.money(new)}" + (
        f" (reason: {frame.reason})" if frame.reason else ""
    )
    return _propose("propose_credit_limit_change", args, what, blocked + _note(customer))


def _apply_change(change: Change, current: Decimal) -> Decimal | None:
    new = change.apply(current)
    return None if new is None else new.quantize(CENT, ROUND_HALF_UP)


def _change_amount(change: Change) -> str:
    if change.mode == "by_percent":
        return f"{format_decimal(change.value)}%"
    return rp.money(change.value)


# ---- cancellation ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OrderKind:
    """What differs between cancelling a sales order and a purchase order."""

    noun: str
    get_tool: str
    propose_tool: str
    party_key: str
    party_noun: str
    cancellable: tuple[str, ...]


_SALES = _OrderKind(
    "sales order",
    "get_sales_order",
    "propose_sales_order_cancellation",
    "customer_code",
    "customer",
    ("open", "credit_hold"),
)
_PURCHASE = _OrderKind(
    "purchase order",
    "get_purchase_order",
    "propose_cancel_purchase_order",
    "supplier_code",
    "supplier",
    ("open",),
)


def _cancel(frame: CancelFrame | CancelPurchaseFrame, run: Run, ctx: RequestContext) -> Decision | None:
    kind = _PURCHASE if isinstance(frame, CancelPurchaseFrame) else _SALES
    if not frame.order_number:
        return ask(frame, "order_number", f"Which {kind.noun} should I cancel (its number)?")
    obs = run.read(kind.get_tool, {"order_number": frame.order_number})
    if obs is None:
        raise Wait
    if not obs.ok or not isinstance(obs.data, dict):
        return ask(
            frame,
            "order_number",
            f"I couldn't find {kind.noun} {frame.order_number} ({obs.error or 'no such order'}). Which order do you mean?",
        )
    order = obs.data
    status = rp.s(order, "status")
    if status not in kind.cancellable:
        return Decision(
            text=f"{kind.noun.capitalize()} {rp.s(order, 'number')} is {rp.status_text(status)}, so it can't be "
            "cancelled; only open orders can."
        )
    where = f", cost center {rp.s(order, 'cost_center')}" if rp.s(order, "cost_center") else ""
    summary = (
        f"{kind.noun} {rp.s(order, 'number')} ({kind.party_noun} {rp.s(order, kind.party_key)}{where}, "
        f"{rp.money(order.get('total'))}, {rp.status_text(status)})"
    )
    if not frame.reason.strip():
        return ask(frame, "reason", f"Why should I cancel {summary}? The approver needs a reason.")
    args = {"order_number": rp.s(order, "number") or frame.order_number, "reason": frame.reason}
    return _propose(kind.propose_tool, args, f"the cancellation of {summary} (reason: {frame.reason})")


# ---- price change ------------------------------------------------------------------------------------------


def _price(frame: PriceFrame, run: Run, ctx: RequestContext) -> Decision | None:
    if frame.product is None:
        return ask(frame, "product", "Which product's price should I change?")
    product = need(resolve(run, "product", frame.product, detail=True))
    if isinstance(product, Unclear):
        return ask_unclear(frame, "product", product)
    record = product.record
    label = rp.product_label(record)
    current = rp.dec(record.get("list_price")) or Decimal(0)
    if frame.change is None:
        return ask(
            frame,
            "change",
            f"What should the new list price of {label} be? It is {rp.money(record.get('list_price'))} now.",
        )
    new = _apply_change(frame.change, current)
    if new is None:
        return ask(
            frame,
            "direction",
            f"Should I raise or lower the price of {label} (now {rp.money(current)}) by {_change_amount(frame.change)}?",
        )
    if new <= 0:
        return Decision(
            text=f"That would make the price of {label} {rp.money(new)}; a price must be above zero."
        )
    if new == current:
        return Decision(
            text=f"The list price of {label} is already {rp.money(current)}; there is nothing to change."
        )
    args = {"product_code": product.code, "new_price": num(new), "reason": frame.reason}
    pct = ((new - current) / current * 100).quantize(Decimal("0.1")) if current else None
    change_note = f" ({'+' if pct and pct > 0 else ''}{pct}%)" if pct is not None else ""
    what = f"a list-price change for {label} from {rp.money(current)} to {rp.money(new)}{change_note}" + (
        f" (reason: {frame.reason})" if frame.reason else ""
    )
    return _propose("propose_price_change", args, what, _note(product))


# ---- reads ----------------------------------------------------------------------------------------------------


def _read(frame: ReadFrame, run: Run, ctx: RequestContext) -> Decision | None:
    return answer_read(frame, run)


def _reads(frame: ReadsFrame, run: Run, ctx: RequestContext) -> Decision | None:
    return answer_reads(frame, run)


def _note(found: Found) -> str:
    return f" {found.note}" if found.note else ""


_HANDLERS: dict[str, Callable[[Any, Run, RequestContext], Decision | None]] = {
    "purchase_order": _purchase,
    "journal_entry": _journal,
    "credit_limit": _credit_limit,
    "cancel_sales_order": _cancel,
    "cancel_purchase_order": _cancel,
    "price_change": _price,
    "read": _read,
    "reads": _reads,
}
