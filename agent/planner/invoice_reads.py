"""Plans for supplier-invoice reads: one invoice, a list of them, and an invoice against its order.

An invoice is compared with its purchase order product by product (quantity billed against
quantity ordered, unit price billed against unit price ordered), as the ERP itself compares them
when it reports a mismatch. Numbers and codes come from the ERP's records; the invoice's memo is
free text and is only ever quoted as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agent.planner import replies as rp
from agent.planner.flow import Decision, Wait, ask, ask_unclear, need
from agent.planner.frames import ReadFrame
from agent.planner.resolve import Run, Unclear, resolve


def answer_invoice(frame: ReadFrame, run: Run) -> Decision:
    """The reply to a ``supplier_invoice``, ``supplier_invoices`` or ``invoice_match`` read."""
    if frame.topic == "supplier_invoices":
        return _invoice_list(frame, run)
    if frame.topic == "invoice_match":
        return _match(frame, run)
    return _one_invoice(frame, run)


def _rows(data: Any) -> list[dict[str, Any]]:
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def read_invoice(run: Run, number: str) -> dict[str, Any] | str:
    """The invoice record, or why it could not be read (raises ``Wait`` until the read is back)."""
    obs = run.read("get_supplier_invoice", {"invoice_number": number})
    if obs is None:
        raise Wait
    if not obs.ok or not isinstance(obs.data, dict):
        return f"I couldn't find supplier invoice {number}: {obs.error or 'no such invoice'}."
    return obs.data


def _one_invoice(frame: ReadFrame, run: Run) -> Decision:
    if not frame.invoice_number:
        return ask(frame, "invoice_number", "Which supplier invoice do you mean? Give me its number.")
    invoice = read_invoice(run, frame.invoice_number)
    if isinstance(invoice, str):
        return Decision(text=invoice)
    return Decision(text=rp.supplier_invoice_detail(invoice))


def _listed_invoices(
    frame: ReadFrame, run: Run, args: dict[str, Any], whose: str = ""
) -> tuple[list[dict[str, Any]], str] | Decision:
    """The invoices ``list_supplier_invoices`` returns (of the frame's supplier, if it names one)
    and the words that say whose they are; or the decision to ask or to report a failure."""
    if frame.entity is not None:
        supplier = need(resolve(run, "supplier", frame.entity))
        if isinstance(supplier, Unclear):
            return ask_unclear(frame, "entity", supplier)
        args["supplier_code"] = supplier.code
        whose = f" from {rp.supplier_label(supplier.record)}{whose}"
    obs = run.read("list_supplier_invoices", args)
    if obs is None:
        raise Wait
    if not obs.ok:
        return Decision(text=f"I couldn't get the supplier invoices: {obs.error}")
    rows = _rows(obs.data)
    if not rows:
        return Decision(text=f"There are no supplier invoices{whose}.")
    return rows, whose


def _invoice_list(frame: ReadFrame, run: Run) -> Decision:
    whose = f" for purchase order {frame.order_number}" if frame.order_number else ""
    listed = _listed_invoices(frame, run, {"purchase_order_number": frame.order_number}, whose)
    if isinstance(listed, Decision):
        return listed
    rows, whose = listed
    head = f"{len(rows)} supplier invoice{'s' if len(rows) != 1 else ''}{whose} (newest first):"
    return Decision(text=head + "\n" + rp.bullet_list([rp.supplier_invoice_line(r) for r in rows]))


def _match(frame: ReadFrame, run: Run) -> Decision:
    if frame.invoice_number:
        invoice = read_invoice(run, frame.invoice_number)
        if isinstance(invoice, str):
            return Decision(text=invoice)
        invoices = [invoice]
        order_number = frame.order_number or rp.s(invoice, "purchase_order_number")
    elif frame.order_number:
        listed = run.read("list_supplier_invoices", {"purchase_order_number": frame.order_number})
        run.read("get_purchase_order", {"order_number": frame.order_number})  # independent: same step
        if listed is None:
            raise Wait
        if not listed.ok:
            return Decision(text=f"I couldn't get the supplier invoices: {listed.error}")
        invoices, order_number = _rows(listed.data), frame.order_number
        if not invoices:
            return Decision(
                text=f"No supplier invoice bills purchase order {order_number} yet, so there is nothing to compare."
            )
    elif frame.listing:
        return _scan(frame, run)
    else:
        return ask(
            frame,
            "invoice_number",
            "Which supplier invoice should I check against its purchase order? Give me its number.",
        )
    obs = run.read("get_purchase_order", {"order_number": order_number})
    if obs is None:
        raise Wait
    if not obs.ok or not isinstance(obs.data, dict):
        return Decision(
            text=f"I couldn't read purchase order {order_number} to compare it with: {obs.error or 'no such order'}."
        )
    return Decision(text="\n\n".join(compare_text(inv, obs.data, memo=True) for inv in invoices))


_LIST_LIMIT = 20


def _scan(frame: ReadFrame, run: Run) -> Decision:
    """The latest invoices (of one supplier), each against its order: which ones differ."""
    listed = _listed_invoices(frame, run, {})
    if isinstance(listed, Decision):
        return listed
    invoices, whose = listed
    orders = {
        number: run.read("get_purchase_order", {"order_number": number})
        for number in dict.fromkeys(rp.s(inv, "purchase_order_number") for inv in invoices)
    }
    if run.calls:
        raise Wait
    differing, unread = [], []
    for inv in invoices:
        order = orders.get(rp.s(inv, "purchase_order_number"))
        if order is None or not order.ok or not isinstance(order.data, dict):
            unread.append(rp.s(inv, "number"))
        elif differences(inv, order.data):
            differing.append(compare_text(inv, order.data, memo=True))
    plural = "s" if len(invoices) != 1 else ""
    latest = " latest" if len(invoices) >= _LIST_LIMIT else ""  # the tool returns the newest 20
    scope = f"the {len(invoices)}{latest} supplier invoice{plural}{whose}"
    head = (
        f"Of {scope}, {len(differing)} do{'es' if len(differing) == 1 else ''} not match their purchase orders:"
        if differing
        else f"All of {scope} match their purchase orders."
    )
    missing = f"\nI couldn't read the purchase orders of invoices {', '.join(unread)}." if unread else ""
    return Decision(text="\n\n".join([head, *differing]) + missing)


# ---- comparing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Billed:
    """One product on a document: total quantity, and its unit prices (lowest, highest)."""

    quantity: Decimal
    low: Decimal
    high: Decimal

    def price_text(self) -> str:
        if self.low == self.high:
            return rp.money(self.high)
        return f"{rp.money(self.low)}\u2013{rp.money(self.high)}"


def _by_product(record: dict[str, Any]) -> dict[str, _Billed]:
    found: dict[str, _Billed] = {}
    for line in record.get("lines") or []:
        if not isinstance(line, dict):
            continue
        code = rp.s(line, "product_code")
        qty = rp.dec(line.get("quantity")) or Decimal(0)
        price = rp.dec(line.get("unit_price")) or Decimal(0)
        seen = found.get(code)
        if seen is None:
            found[code] = _Billed(qty, price, price)
        else:
            found[code] = _Billed(seen.quantity + qty, min(seen.low, price), max(seen.high, price))
    return found


def differences(invoice: dict[str, Any], order: dict[str, Any]) -> list[str]:
    """What the invoice bills differently from the order, one phrase per product (and supplier)."""
    billed, ordered = _by_product(invoice), _by_product(order)
    found: list[str] = []
    if rp.s(invoice, "supplier_code") != rp.s(order, "supplier_code"):
        found.append(
            f"supplier: the invoice is from {rp.s(invoice, 'supplier_code')}, the order went to "
            f"{rp.s(order, 'supplier_code')}"
        )
    for code in [*ordered, *(c for c in billed if c not in ordered)]:
        b, o = billed.get(code), ordered.get(code)
        if b is None and o is not None:
            found.append(
                f"{code}: ordered {rp.qty(o.quantity)} at {o.price_text()}, not billed on this invoice"
            )
        elif o is None and b is not None:
            found.append(
                f"{code}: billed {rp.qty(b.quantity)} at {b.price_text()}, which the order does not have"
            )
        elif b is not None and o is not None and (b.quantity, b.low, b.high) != (o.quantity, o.low, o.high):
            found.append(
                f"{code}: billed {rp.qty(b.quantity)} at {b.price_text()}, ordered {rp.qty(o.quantity)} at "
                f"{o.price_text()}{_delta(b, o)}"
            )
    return found


def _delta(billed: _Billed, ordered: _Billed) -> str:
    notes = []
    if billed.quantity != ordered.quantity:
        more = billed.quantity - ordered.quantity
        notes.append(f"{rp.qty(abs(more))} {'more' if more > 0 else 'fewer'} than ordered")
    if billed.high != ordered.high and billed.low == billed.high and ordered.low == ordered.high:
        step = billed.high - ordered.high
        notes.append(f"{rp.money(abs(step))} a unit {'above' if step > 0 else 'below'} the order")
    return f" ({'; '.join(notes)})" if notes else ""


def compare_text(invoice: dict[str, Any], order: dict[str, Any], *, memo: bool) -> str:
    """Whether ``invoice`` agrees with purchase order ``order``, and if not, what differs."""
    number, order_number = rp.s(invoice, "number"), rp.s(order, "number")
    bills = rp.s(invoice, "purchase_order_number")
    aside = f" (the invoice says it bills purchase order {bills})" if bills and bills != order_number else ""
    found = differences(invoice, order)
    totals = f"invoice total {rp.money(invoice.get('total'))}, order total {rp.money(order.get('total'))}"
    if not found:
        text = (
            f"Supplier invoice {number} matches purchase order {order_number}{aside}: same products, "
            f"quantities and unit prices ({totals})."
        )
    else:
        text = (
            f"Supplier invoice {number} does not match purchase order {order_number}{aside}:\n"
            + "\n".join(f"- {line}" for line in found)
            + f"\n{totals[:1].upper() + totals[1:]}."
        )
    return text + (rp.memo_line(invoice, "Invoice memo") if memo else "")


def compare_shown(reads: list[ReadFrame], run: Run) -> list[str]:
    """For reads that showed an invoice and the purchase order it bills: how the two compare."""
    orders = {r.order_number for r in reads if r.topic == "purchase_order" and r.order_number}
    out: list[str] = []
    for read in reads:
        if read.topic != "supplier_invoice" or not read.invoice_number:
            continue
        invoice = run.read("get_supplier_invoice", {"invoice_number": read.invoice_number})
        if invoice is None or not invoice.ok or not isinstance(invoice.data, dict):
            continue
        bills = rp.s(invoice.data, "purchase_order_number")
        if bills not in orders:
            continue
        order = run.read("get_purchase_order", {"order_number": bills})
        if order is not None and order.ok and isinstance(order.data, dict):
            out.append(compare_text(invoice.data, order.data, memo=False))
    return out
