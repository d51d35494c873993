"""The records a context names, for an instruction that only points at it.

"Please look into this and tell me what you find. The ERP reports: Supplier invoice 000010160 does
not match purchase order 000291: ..." asks about whatever the context is about. The context is a
statement, not a request, so it is never parsed for a write: the planner reads each record it names
by code or number (an invoice, an order, a customer, a supplier, a product's stock) and reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.planner import lexicon as lx
from agent.planner.codes import normalize_invoice_number, normalize_order_number
from agent.planner.frames import EntityRef, Frame, ReadFrame, ReadsFrame
from agent.planner.text import Scratch, fold

MAX_READS = 6

# An instruction that points at what follows ("look into this", "what about the above?").
_POINTING = re.compile(r"\b(?:this|that|these|those|it|above|below|following|isso|isto|disso|abaixo)\b")


def points_at_context(instruction: str) -> bool:
    return _POINTING.search(fold(instruction)) is not None


def reads_of_context(context: str, product_codes: Callable[[str], list[tuple[int, str]]]) -> Frame | None:
    """One read per record the context names by code, in the order named (None if it names none);
    ``product_codes`` finds the product codes of a text, with where each starts."""
    s = Scratch(context)
    found: list[tuple[int, ReadFrame]] = []
    for m in list(lx.INVOICE_NUMBER_RE.finditer(s.low)):
        read = ReadFrame(topic="supplier_invoice", invoice_number=normalize_invoice_number(m["num"]))
        found.append((m.start(), read))
        s.mask(m.start(), m.end())
    for m in list(lx.ORDER_NUMBER_RE.finditer(s.low)):
        if m["num"] and m["kind"] and fold(m["kind"]) not in ("order", "orders", "pedido", "pedidos"):
            topic = "purchase_order" if lx.PURCHASE_KIND_RE.match(fold(m["kind"])) else "sales_order"
            found.append((m.start(), ReadFrame(topic=topic, order_number=normalize_order_number(m["num"]))))
            s.mask(m.start(), m.end())
    for pattern, topic in ((lx.CUSTOMER_CODE, "customer"), (lx.SUPPLIER_CODE, "supplier")):
        for m in list(pattern.finditer(s.low)):
            code = m.group(0).upper()
            read = ReadFrame(topic=topic, entity=EntityRef(text=code, code=code), entity_kind=topic)
            found.append((m.start(), read))
            s.mask(m.start(), m.end())
    for start, code in product_codes(s.raw):
        read = ReadFrame(topic="stock", entity=EntityRef(text=code, code=code), entity_kind="product")
        found.append((start, read))
    reads = [read for _, read in sorted(found, key=lambda pair: pair[0])]
    unique: list[ReadFrame] = []
    for read in reads:
        if read not in unique:
            unique.append(read)
    unique = unique[:MAX_READS]
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else ReadsFrame(reads=unique)
