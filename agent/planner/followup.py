"""Combine a follow-up message with the request that is waiting for it.

When the planner asked a question it left a ``Pending`` (the frame and the slot the question was
about). The next human message either answers it ("the second one", "F00003", "use CC120",
"because it was duplicated", "50", "NF 4533"), is a fresh request, or drops the pending one
("never mind").
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from agent.planner import lexicon as lx
from agent.planner.codes import normalize_invoice_number
from agent.planner.frames import (
    CancelFrame,
    CancelPurchaseFrame,
    ChatFrame,
    CreditLimitFrame,
    EntityRef,
    Frame,
    JournalFrame,
    JournalLineFrame,
    Pending,
    PriceFrame,
    PurchaseFrame,
    ReadFrame,
    ReadsFrame,
)
from agent.planner.matching import Candidate, choose
from agent.planner.numbers import find_numbers, parse_ordinal
from agent.planner.parse import (
    account_ref,
    clean_entity,
    parse_change,
    parse_item,
    parse_request,
)
from agent.planner.text import clean_input, fold, squash

_CODE_BY_SLOT = {
    "supplier": lx.SUPPLIER_CODE,
    "customer": lx.CUSTOMER_CODE,
    "cost_center": lx.COST_CENTER_CODE,
}
_ANSWER_LEAD = re.compile(
    r"^(?:(?:i\s+meant?|i\s+mean|it'?s|it\s+is|that'?s|that\s+is|use|using|take|pick|choose|select|go\s+with|"
    r"make\s+it|let'?s\s+(?:use|say)|try|the\s+one\s+(?:called|named)|from|with|to|for|on|charge\s+(?:it\s+)?to|"
    r"ok(?:ay)?|yes|yeah|sure|please|just)\b[\s,:]*)+"
)
_INVOICE_ANSWER = re.compile(r"(?<![\w.,])(?:nf-?e?\s*[:#-]?\s*|#\s*)?(?P<num>\d{1,12})(?![\w.,]\d)")
_REASON_LEAD = re.compile(
    r"^(?:(?:the\s+)?reason\s*(?:is|being|:)?|because(?:\s+of)?|since|due\s+to|as|it'?s\s+because|"
    r"it\s+was\s+because)\b[\s:,-]*",
)


def interpret(text: str, pending: Pending | None, today: date | None = None) -> Frame:
    """The frame a human message stands for: the pending request completed, or a request of its own."""
    standalone = parse_request(text, today)
    if pending is None or _is_new_request(standalone, text):
        return standalone
    return answer(pending, text) or standalone


def _is_new_request(standalone: Frame, text: str) -> bool:
    if isinstance(standalone, ChatFrame):
        return standalone.kind in ("greeting", "thanks", "help", "abort") or (
            standalone.kind == "out_of_scope" and standalone.detail != "unknown"
        )
    if isinstance(standalone, ReadFrame):
        # "show me the stock of X" is a new question; "F00003" or "Acme Fittings" is an answer.
        return standalone.topic != "lookup" and bool(lx.READ_VERB_RE.match(_core(text)))
    if isinstance(standalone, ReadsFrame):
        return bool(lx.READ_VERB_RE.match(_core(text)))
    return True  # a complete write request of its own replaces the pending one


def _core(text: str) -> str:
    return squash(lx.POLITE_PREFIX.sub("", squash(fold(clean_input(text)))))


def answer(pending: Pending, text: str) -> Frame | None:
    """The pending frame with its slot filled from ``text``, or None if ``text`` doesn't answer it."""
    frame = pending.frame
    slot, _, index_text = pending.slot.partition(":")
    index = int(index_text) if index_text.isdigit() else 0
    if slot in ("supplier", "customer", "product", "entity", "cost_center", "account"):
        ref = _entity_answer(pending, text, slot)
        if ref is None:
            return None
        return _set_entity(frame, slot, index, ref)
    if slot == "quantity" and isinstance(frame, PurchaseFrame):
        numbers = [n for n in find_numbers(text) if not n.percent]
        if not numbers:
            return None
        items = list(frame.items)
        items[index] = items[index].model_copy(update={"quantity": numbers[0].value})
        return frame.model_copy(update={"items": items})
    if slot == "items" and isinstance(frame, PurchaseFrame):
        return _purchase_fragment(frame, text)
    if slot == "reason":
        reason = _reason(text)
        if not reason or not isinstance(
            frame, CancelFrame | CancelPurchaseFrame | CreditLimitFrame | PriceFrame
        ):
            return None
        return frame.model_copy(update={"reason": reason})
    if slot == "change" and isinstance(frame, CreditLimitFrame | PriceFrame):
        change = parse_change(text, direction=frame.direction_hint)
        return frame.model_copy(update={"change": change}) if change is not None else None
    if slot == "direction" and isinstance(frame, CreditLimitFrame | PriceFrame) and frame.change is not None:
        direction = _direction_answer(text)
        if direction == 0:
            return None
        return frame.model_copy(update={"change": frame.change.model_copy(update={"direction": direction})})
    if slot == "order_number" and isinstance(frame, CancelFrame | CancelPurchaseFrame):
        # "000123 because it was duplicated" answers the number and may give the reason too.
        noun = "purchase order" if isinstance(frame, CancelPurchaseFrame) else "sales order"
        parsed = parse_request(f"cancel {noun} {text}")
        if not isinstance(parsed, type(frame)) or parsed.order_number is None:
            return None
        return frame.model_copy(
            update={"order_number": parsed.order_number, "reason": parsed.reason or frame.reason}
        )
    if slot == "invoice_number" and isinstance(frame, ReadFrame):
        number = _INVOICE_ANSWER.search(fold(text))
        if number is None:
            return None
        return frame.model_copy(update={"invoice_number": normalize_invoice_number(number.group("num"))})
    if isinstance(frame, JournalFrame):
        return _journal_answer(frame, slot, text)
    return None


def _entity_answer(pending: Pending, text: str, slot: str) -> EntityRef | None:
    low = squash(fold(text))
    chosen = _pick_candidate(pending, text)
    if chosen is not None:
        return chosen
    if pending.candidates and re.match(r"^(?:none|neither|no(?:ne)?\s+of\s+(?:them|those|these))\b", low):
        return None
    code_re = _CODE_BY_SLOT.get(slot)
    if code_re is not None:
        m = code_re.search(low)
        if m is not None:
            code = text[m.start() : m.end()].upper().replace(" ", "").replace("-", "")
            return EntityRef(text=code, code=code)
    if slot == "account" or (isinstance(pending.frame, ReadFrame) and pending.frame.entity_kind == "account"):
        return account_ref(_without_lead(text))
    phrase = clean_entity(_without_lead(text))
    if not phrase or len(phrase.split()) > 8:
        return None
    return EntityRef(text=phrase)


def _without_lead(text: str) -> str:
    """The answer without "use", "it's", "from", "I meant" and the like, in its own casing."""
    original = squash(clean_input(text))
    lead = _ANSWER_LEAD.match(fold(original))
    return original[lead.end() :] if lead else original


def _pick_candidate(pending: Pending, text: str) -> EntityRef | None:
    if not pending.candidates:
        return None
    low = fold(text)
    for cand in pending.candidates:
        if re.search(rf"(?<![\w.-]){re.escape(fold(cand.code))}(?![\w-]|\.\d)", low):
            return EntityRef(text=cand.label, code=cand.code)
    position = parse_ordinal(text)
    if position is not None and (len(low.split()) <= 5):
        size = len(pending.candidates)
        index = size - 1 if position == -1 else position - 1
        if 0 <= index < size:
            cand = pending.candidates[index]
            return EntityRef(text=cand.label, code=cand.code)
    stripped = _ANSWER_LEAD.sub("", squash(low))
    options = [Candidate(c.code, c.label, (c.label,)) for c in pending.candidates]
    choice = choose(stripped or low, options, trust_single=False)
    if choice.best is not None and not choice.ties:
        cand = pending.candidates[choice.best]
        return EntityRef(text=cand.label, code=cand.code)
    return None


def _set_entity(frame: Frame, slot: str, index: int, ref: EntityRef) -> Frame | None:
    if isinstance(frame, PurchaseFrame):
        if slot == "supplier":
            return frame.model_copy(update={"supplier": ref})
        if slot == "cost_center":
            return frame.model_copy(update={"cost_center": ref, "cost_center_tentative": False})
        if slot == "product" and index < len(frame.items):
            items = list(frame.items)
            items[index] = items[index].model_copy(update={"product": ref})
            return frame.model_copy(update={"items": items})
        return None
    if isinstance(frame, CreditLimitFrame) and slot == "customer":
        return frame.model_copy(update={"customer": ref})
    if isinstance(frame, PriceFrame) and slot == "product":
        return frame.model_copy(update={"product": ref})
    if isinstance(frame, JournalFrame) and slot == "account" and index < len(frame.lines):
        lines = list(frame.lines)
        lines[index] = lines[index].model_copy(update={"account": ref})
        return frame.model_copy(update={"lines": lines})
    if isinstance(frame, ReadFrame) and slot == "entity":
        return frame.model_copy(update={"entity": ref, "listing": False})
    return None


def _purchase_fragment(frame: PurchaseFrame, text: str) -> Frame | None:
    """An answer to "what, how many, from whom": parse it as a purchase request and merge."""
    parsed = parse_request("order " + text)
    if not isinstance(parsed, PurchaseFrame):
        item = parse_item(text)
        return frame.model_copy(update={"items": [item]}) if item is not None else None
    return frame.model_copy(
        update={
            "supplier": parsed.supplier or frame.supplier,
            "items": parsed.items or frame.items,
            "cost_center": parsed.cost_center or frame.cost_center,
            "cost_center_tentative": parsed.cost_center_tentative
            if parsed.cost_center
            else frame.cost_center_tentative,
            "memo": parsed.memo or frame.memo,
        }
    )


def _reason(text: str) -> str:
    cleaned = squash(text)
    low = fold(cleaned)
    m = _REASON_LEAD.match(low)
    if m is not None:
        cleaned = cleaned[m.end() :]
    cleaned = squash(cleaned)
    return cleaned[:1].upper() + cleaned[1:] if cleaned else ""


def _direction_answer(text: str) -> int:
    low = fold(text)
    if re.search(r"\b(?:up|raise|increase|higher|more|add|plus|bump)\b", low):
        return 1
    if re.search(r"\b(?:down|lower|reduce|decrease|less|cut|minus|drop)\b", low):
        return -1
    return 0


def _journal_answer(frame: JournalFrame, slot: str, text: str) -> Frame | None:
    if slot == "amount":
        numbers = [n for n in find_numbers(text, money=True) if not n.percent]
        if not numbers:
            return None
        value = numbers[0].value
        lines = [
            ln if ln.amount is not None else ln.model_copy(update={"amount": value}) for ln in frame.lines
        ]
        return frame.model_copy(update={"lines": lines})
    if slot in ("credit_line", "debit_line"):
        side = "credit" if slot == "credit_line" else "debit"
        ref = account_ref(_without_lead(text))
        if ref is None:
            return None
        other = sum((ln.amount or Decimal(0) for ln in frame.lines if ln.side != side), Decimal(0))
        line = JournalLineFrame(side=side, account=ref, amount=other or None)
        return frame.model_copy(update={"lines": [*frame.lines, line]})
    if slot == "journal":
        parsed = parse_request("journal entry: " + text)
        if isinstance(parsed, JournalFrame) and parsed.lines:
            return frame.model_copy(
                update={
                    "lines": parsed.lines,
                    "description": frame.description or parsed.description,
                    "entry_date": parsed.entry_date or frame.entry_date,
                }
            )
    return None
