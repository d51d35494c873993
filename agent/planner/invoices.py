"""Parse requests about supplier invoices (notas fiscais de entrada) into read frames.

Three questions are understood, in any wording the lexicon covers:

* one invoice by number: "show supplier invoice 000123", "show me invoice NF 123", "NF-000045";
* the invoices of a supplier or of a purchase order: "list the invoices from Fastenal",
  "which invoices do we have for purchase order 000205?";
* whether an invoice agrees with its purchase order: "does invoice 4533 match its purchase order?",
  "compare NF 4533 with PO 000001", "do the invoices of PO 205 match it?", "a NF 4533 bate com o pedido?",
  and which of the latest invoices (of a supplier) do not: "which invoices don't match their orders?".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.planner import lexicon as lx
from agent.planner.codes import normalize_invoice_number, normalize_order_number
from agent.planner.frames import ChatFrame, EntityRef, ReadFrame
from agent.planner.text import Scratch, fold

# Words that qualify a list of invoices without naming a supplier ("the latest invoices").
_LIST_NOISE = lx.words(
    """
    latest recent last newest new received open pending paid unpaid booked entered keyed registered
    billed billing do we there exist existing de da do das dos o os a as don't dont doesn't doesnt not
    their them they its with
    """
)


def names_invoice(low: str) -> bool:
    """Does this (folded) text talk about supplier invoices?"""
    return lx.INVOICE_NOUN_RE.search(low) is not None


def take_invoice_number(s: Scratch) -> str | None:
    """The invoice number the text names ("invoice NF-000045" -> "000000045"), masked out."""
    m = lx.INVOICE_NUMBER_RE.search(s.low)
    if m is None:
        return None
    s.mask(m.start(), m.end())
    return normalize_invoice_number(m.group("num"))


def _take_order_number(s: Scratch) -> tuple[str | None, bool]:
    """(purchase order number, whether the words said *sales* order), masked out."""
    m = lx.ORDER_NUMBER_RE.search(s.low)
    if m is None or not (m.group("num") or m.group("hash")):
        return None, False
    kind = fold(m.group("kind") or "")
    sales = bool(lx.SALES_KIND_RE.match(kind)) and not lx.PURCHASE_KIND_RE.match(kind)
    s.mask(m.start(), m.end())
    return normalize_order_number(m.group("num") or m.group("hash")), sales


def parse_invoice_request(s: Scratch, leftover: Callable[[Scratch], str]) -> ReadFrame | ChatFrame | None:
    """The read frame of a request about supplier invoices, or None if it is about something else.

    ``leftover`` gives what is left of the request once its clauses are masked (the supplier's name).
    """
    if not names_invoice(s.low):
        return None
    compare = lx.MATCH_RE.search(s.low) is not None
    number = take_invoice_number(s)
    order_number, sales = _take_order_number(s)
    for m in list(lx.MATCH_RE.finditer(s.low)):
        s.mask(m.start(), m.end())  # "match", "compare": not part of a supplier's name
    if sales:
        return ChatFrame(kind="unsupported", detail="customer_invoices")
    if number is not None:
        topic = "invoice_match" if compare else "supplier_invoice"
        return ReadFrame(topic=topic, invoice_number=number, order_number=order_number)
    if compare and (order_number or not _plural(s.low)):
        return ReadFrame(topic="invoice_match", order_number=order_number)
    if compare:  # "which invoices from Fastenal don't match their orders?": check each of them
        return ReadFrame(
            topic="invoice_match", entity=_supplier(s, leftover), entity_kind="supplier", listing=True
        )
    return ReadFrame(
        topic="supplier_invoices",
        entity=_supplier(s, leftover),
        entity_kind="supplier",
        order_number=order_number,
        listing=True,
    )


def _plural(low: str) -> bool:
    return any(fold(m.group(0)).endswith(("s", "fiscais")) for m in lx.INVOICE_NOUN_RE.finditer(low))


def _supplier(s: Scratch, leftover: Callable[[Scratch], str]) -> EntityRef | None:
    """The supplier whose invoices are asked for: a code, or the words left over."""
    code = lx.SUPPLIER_CODE.search(s.low)
    if code is not None:
        value = s.raw[code.start() : code.end()].upper()
        s.mask(code.start(), code.end())
        return EntityRef(text=value, code=value)
    for m in list(lx.INVOICE_NOUN_RE.finditer(s.low)):
        s.mask(m.start(), m.end())
    words = [w for w in leftover(s).split() if fold(w).strip(".,'") not in _LIST_NOISE]
    phrase = " ".join(words)
    return EntityRef(text=phrase) if re.search(r"[A-Za-z]", phrase) else None
