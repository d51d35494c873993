"""Split one read request into the several reads it names.

"Show me sales order 000001 and customer C00001" names two records; "stock of NUT-M8 and HB-M8-40"
asks one question of two products. The request is cut at "and", "plus", "as well as", commas and
semicolons (Portuguese "e" too), and each piece is parsed as a read of its own. A piece without a
topic word of its own ("HB-M8-40", "000002") asks what the piece before it asked, of a new code.

The split is taken only when every piece names a concrete record (a code, a number or a name), so
"the sales orders and the credit limit of Padaria Estrela" or "customer Silva and Sons" stay one
read. Which pieces to read is decided from the human's words alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.planner import lexicon as lx
from agent.planner.codes import normalize_invoice_number, normalize_order_number
from agent.planner.frames import Frame, ReadFrame, ReadsFrame
from agent.planner.text import clean_input, fold, squash

MAX_READS = 6

_JOIN = re.compile(
    r"\s*(?:;|,(?=\s|$))\s*(?:(?:and|plus|e)\s+)?|\s+(?:and\s+also|and|plus|as\s+well\s+as|along\s+with|together\s+with|"
    r"&|e|bem\s+como)\s+"
)
# A piece with one of these words says what it asks about; one without them only names a code.
_TOPIC_RES = (
    lx.SALES_ORDER_RE,
    lx.PURCHASE_ORDER_RE,
    lx.INVOICE_NOUN_RE,
    lx.CUSTOMER_NOUN_RE,
    lx.SUPPLIER_NOUN_RE,
    lx.PRODUCT_NOUN_RE,
    lx.STOCK_RE,
    lx.BUDGET_RE,
    lx.BALANCE_RE,
    lx.ACCOUNT_RE,
    lx.PRICE_RE,
    lx.CREDIT_LIMIT_RE,
)
_BARE_NUMBER = re.compile(
    r"^(?:(?:#|no\.?|number|nr\.?|n[o\u00ba\u00b0]|nf-?e?)\s*[:#-]?\s*)?(?P<num>\d{1,12})$"
)


def split_reads(text: str, read_one: Callable[[str], Frame | None]) -> ReadsFrame | None:
    """The reads ``text`` names, when it names two or more; ``read_one`` parses one piece."""
    pieces = _pieces(text)
    if not 2 <= len(pieces) <= MAX_READS:
        return None
    reads: list[ReadFrame] = []
    for piece in pieces:
        frame = _read_of(piece, reads[-1] if reads else None, read_one)
        if frame is None:
            return None
        if frame not in reads:
            reads.append(frame)
    return ReadsFrame(reads=reads) if len(reads) >= 2 else None


def _pieces(text: str) -> list[str]:
    # Runs of blanks become one space first: _JOIN starts with \s*, and scanning a long run of
    # blanks from each of its positions was quadratic. Pieces are squashed anyway.
    raw = re.sub(r"\s+", " ", clean_input(text))
    low = fold(raw)
    pieces: list[str] = []
    start = 0
    for m in _JOIN.finditer(low):
        pieces.append(raw[start : m.start()])
        start = m.end()
    pieces.append(raw[start:])
    return [p for p in (squash(p) for p in pieces) if not _only_filler(p)]


def _only_filler(piece: str) -> bool:
    """ "please", "thanks", "also": nothing to read."""
    return all(fold(w).strip(".,:;!?'") in lx.READ_NOISE | {""} for w in piece.split())


def _read_of(
    piece: str, previous: ReadFrame | None, read_one: Callable[[str], Frame | None]
) -> ReadFrame | None:
    """The read a piece asks for: its own, or the previous piece's read of a new code."""
    low = fold(piece)
    if previous is None or any(pattern.search(low) for pattern in _TOPIC_RES):
        frame = read_one(piece)
        return frame if isinstance(frame, ReadFrame) and _names_a_record(frame) else None
    return _same_question(piece, previous, read_one)


def _names_a_record(frame: ReadFrame) -> bool:
    if frame.topic == "lookup":
        return False
    entity = frame.entity is not None and bool(frame.entity.code or frame.entity.text)
    return bool(frame.order_number or frame.invoice_number or entity)


def _same_question(
    piece: str, previous: ReadFrame, read_one: Callable[[str], Frame | None]
) -> ReadFrame | None:
    """ "HB-M8-40" after "stock of NUT-M8": the previous question, asked of this code."""
    words = [w for w in piece.split() if fold(w).strip(".,:;!?") not in lx.READ_NOISE]
    if len(words) != 1:
        return None
    token = words[0].strip(".,:;!?")
    number = _BARE_NUMBER.match(fold(token))
    if number is not None:
        if previous.invoice_number:
            return previous.model_copy(update={"invoice_number": normalize_invoice_number(number["num"])})
        if previous.order_number:
            return previous.model_copy(update={"order_number": normalize_order_number(number["num"])})
        return None
    frame = read_one(token)
    if not (isinstance(frame, ReadFrame) and frame.entity is not None and frame.entity.code):
        return None
    if previous.entity is None or frame.entity_kind != previous.entity_kind:
        return None
    return previous.model_copy(update={"entity": frame.entity, "listing": False})
