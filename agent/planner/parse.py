"""Turn one human message into an intent frame (see ``frames``), by clauses rather than sentences.

The parser works on a ``Scratch`` copy of the message: it recognises a clause (a code, an amount,
"because ...", "from <supplier>", "charge to <cost center>"), keeps its value in the user's own
casing, and blanks it out so later patterns read only what is left. The order of recognisers is:
chat and out-of-scope, then the writes (cancel, credit limit, price, journal, purchase), then
reads (supplier invoices in ``invoices``; several reads in one request in ``compound``). A context
after the instruction ("Reason: ...") is read apart (``instruction``): it becomes the reason or memo
of a write and never supplies codes. Only human text reaches this module; tool results never do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from agent.planner import lexicon as lx
from agent.planner.codes import normalize_order_number
from agent.planner.compound import split_reads
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
    JournalLineFrame,
    PriceFrame,
    PurchaseFrame,
    PurchaseItem,
    ReadFrame,
)
from agent.planner.instruction import context_note, main_clause, split_context
from agent.planner.invoices import names_invoice, parse_invoice_request
from agent.planner.numbers import NumberMatch, find_numbers
from agent.planner.referents import points_at_context, reads_of_context
from agent.planner.text import Scratch, fold, squash

__all__ = ["clean_entity", "normalize_order_number", "parse_change", "parse_item", "parse_request"]

# Words that end an entity phrase ("Padaria Estrela" in "... of Padaria Estrela to 75k").
_STOP = (
    r"(?=\s+(?:to|by|at|from|with|because|since|due|for|on|in|into|up|down|so|please|asap|now|today|"
    r"until|effective|starting|reason|as|=|->|>|plus|should|must|needs?\s+to|will\s+be|is\s+now|"
    r"and\s+(?:charge|bill|put|book|use|make|set)|and(?=\s+(?:\d|an?\s+(?:dozen|couple|pair|hundred)\b|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|hundred)))\b|"
    r"\s*[,;:!?()=>]|\s*\.(?:\s|$)|\s*$)"
)
_NOT_NUMBER = r"(?![\d$\u20ac\u00a3+-]|r\$|brl\b|usd\b|eur\b)"


@dataclass(frozen=True)
class _Span:
    text: str
    start: int
    end: int


def parse_request(text: str, today: date | None = None) -> Frame:
    """The frame for one human message: its instruction, with a trailing context as its reason."""
    instruction, context = split_context(text)
    clause = main_clause(context)
    if clause and _parse_instruction(clause, today).intent in WRITE_INTENTS:
        context = ""  # "... . Because of that, lower its price by 5%": an instruction, not a context
    if context:
        frame = _parse_instruction(instruction, today)
        vague = (isinstance(frame, ChatFrame) and frame.kind in ("unclear", "out_of_scope")) or (
            isinstance(frame, ReadFrame) and frame.topic == "lookup"
        )
        if not vague:
            return _with_context(frame, context_note(context))
        if points_at_context(instruction):  # "look into this": read what the context names
            reads = reads_of_context(
                context, lambda raw: [(sp.start, sp.text) for sp in _product_code_spans(raw)]
            )
            if reads is not None:
                return reads
    return _parse_instruction(text, today)


def _with_context(frame: Frame, note: str) -> Frame:
    """A write's empty reason (or a purchase order's empty memo) filled from the context."""
    if isinstance(frame, PurchaseFrame) and not frame.memo:
        return frame.model_copy(update={"memo": note})
    if (
        isinstance(frame, CancelFrame | CancelPurchaseFrame | CreditLimitFrame | PriceFrame)
        and not frame.reason
    ):
        return frame.model_copy(update={"reason": note})
    return frame


def _parse_instruction(text: str, today: date | None) -> Frame:
    s = Scratch(text)
    chat = _chat(squash(s.low))
    if chat is not None:
        return chat
    core = _strip_polite(s.low)
    if not core:
        return ChatFrame(kind="unclear")
    chat = _chat(core)
    if chat is not None:
        return chat
    if lx.APPROVAL_RE.search(s.low):
        return ChatFrame(kind="unsupported", detail="approval")
    if lx.DESTRUCTIVE_RE.search(s.low):
        return ChatFrame(kind="out_of_scope", detail="destructive")
    if lx.COMMUNICATION_RE.search(s.low):
        return ChatFrame(kind="out_of_scope", detail="communication")
    for recognise in (_cancellation, _credit_limit_change, _price_change, _journal_entry, _purchase_order):
        frame = recognise(Scratch(text), today)
        if frame is not None:
            return frame
    if lx.UNSUPPORTED_WRITE_RE.search(s.low):
        return ChatFrame(kind="unsupported", detail=squash(s.raw)[:80])
    if lx.OFF_TOPIC_RE.search(s.low):
        return ChatFrame(kind="out_of_scope", detail="off_topic")
    read = _reads(text, today)
    if read is not None:
        return read
    return ChatFrame(kind="out_of_scope", detail="unknown")


def _reads(text: str, today: date | None) -> Frame | None:
    """The read(s) a request asks for; "compare invoice X and PO Y" is one question, not two reads."""
    whole = _read_request(Scratch(text), today)
    if isinstance(whole, ReadFrame) and whole.topic == "invoice_match":
        return whole
    several = split_reads(text, lambda piece: _read_request(Scratch(piece), today))
    return several if several is not None else whole


# ---- shared helpers ---------------------------------------------------------------------------------


def _strip_polite(low: str) -> str:
    return squash(lx.POLITE_PREFIX.sub("", low.strip()))


_ABORT_FILLER = frozenset(
    {"please", "thanks", "it", "that", "this", "then", "ok", "the", "request", "now", "all"}
)


def _chat(core: str) -> ChatFrame | None:
    bare = re.sub(r"[^a-z' ]", " ", core)
    bare = " ".join(bare.split())
    if bare in lx.GREETINGS or (
        bare.split()[:1] and " ".join(bare.split()[:2]) in lx.GREETINGS and len(bare.split()) <= 3
    ):
        return ChatFrame(kind="greeting")
    if bare in lx.THANKS or re.fullmatch(r"(?:ok(?:ay)?\s+)?(?:thanks?|thank\s+you)(?:\s+\w+){0,3}", bare):
        return ChatFrame(kind="thanks")
    if lx.HELP_RE.match(core):
        return ChatFrame(kind="help")
    abort = lx.ABORT_RE.match(core)
    if abort and set(core[abort.end() :].split()) <= _ABORT_FILLER:
        return ChatFrame(kind="abort")
    if bare in lx.ACKS:
        return ChatFrame(kind="ack")
    return None


def clean_entity(text: str, extra_prefix: frozenset[str] = frozenset()) -> str:
    """An entity phrase without leading articles/verbs and trailing filler ("the Padaria's" -> "Padaria")."""
    words = squash(text).split()
    prefix = lx.ENTITY_PREFIX_NOISE | extra_prefix
    while words and fold(words[0]).strip(",.:;") in prefix:
        words.pop(0)
    while words and fold(words[-1]).strip(",.:;!?") in lx.ENTITY_SUFFIX_NOISE:
        words.pop()
    if words:
        words[-1] = re.sub(r"(?:'s|s')$", "", words[-1]) if len(words[-1]) > 3 else words[-1]
    return squash(" ".join(words).strip("'\""))


def _take_quoted(s: Scratch) -> list[str]:
    out: list[str] = []
    for m in list(lx.QUOTED.finditer(s.raw)):
        value = m.group(1) or m.group(2) or ""
        if value.strip():
            out.append(value.strip())
        s.mask(m.start(), m.end())
    return out


def _take_reason(s: Scratch) -> str:
    m = lx.REASON_RE.search(s.low)
    if m is None:
        return ""
    reason = s.take(m.end(), len(s.raw)).strip("'\" ")
    if len(reason) < 2:
        return ""
    s.mask(m.start(), len(s.raw))
    return reason[:1].upper() + reason[1:]


def _take_date(s: Scratch, today: date | None) -> date | None:
    m = lx.ISO_DATE.search(s.low)
    found: date | None = None
    if m:
        found = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    else:
        m = lx.BR_DATE.search(s.low)
        if m:
            found = _safe_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if m is not None and found is not None:
        lead = re.search(
            r"(?:\b(?:as\s+of|as\s+at|dated|on|at|for|by|until|effective|date)\s*:?\s*)$", s.low[: m.start()]
        )
        s.mask(lead.start() if lead else m.start(), m.end())
        return found
    if today is not None:
        rel = re.search(r"\b(?:(?:as\s+of|dated|on|for)\s+)?(yesterday|today)\b", s.low)
        if rel:
            s.mask(rel.start(), rel.end())
            return today - timedelta(days=1) if rel.group(1) == "yesterday" else today
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _take_code(s: Scratch, pattern: re.Pattern[str], lead: str = "") -> str | None:
    m = pattern.search(s.low)
    if m is None:
        return None
    code = s.raw[m.start() : m.end()].upper().replace(" ", "").replace("-", "")
    start = m.start()
    if lead:
        before = re.search(rf"(?:(?:{lead})\s*)+$", s.low[:start])
        if before:
            start = before.start()
    s.mask(start, m.end())
    return code


def _take_cost_center_code(s: Scratch) -> str | None:
    m = lx.COST_CENTER_CODE.search(s.low)
    if m is None:
        return None
    code = "CC" + m.group(1)
    lead = re.search(
        r"(?:\b(?:for|on|to|against|under|(?:charge|bill|book|post|put)(?:ed|d)?(?:\s+(?:it|this|them|that))?"
        r"(?:\s+(?:to|on|against))?|use|using|from|in|via|the|cost\s+cent(?:er|re)|cc|budget|dept|department)"
        r"\s*[:#]?\s*)+$",
        s.low[: m.start()],
    )
    tail = re.match(r"\s*(?:cost\s+cent(?:er|re)|budget)\b", s.low[m.end() :])
    s.mask(lead.start() if lead else m.start(), m.end() + (tail.end() if tail else 0))
    return code


def _product_code_spans(raw: str) -> list[_Span]:
    """Product codes in the original text ("HB-M8-40"): upper case or with a digit, not a word pair."""
    spans = []
    for m in lx.PRODUCT_CODE.finditer(raw):
        token = m.group(0)
        if not any(ch.isdigit() for ch in token) and not token.isupper():
            continue
        if fold(token) in ("e-mail", "re-order", "re-stock", "x-ray") or (
            re.fullmatch(r"[a-z]+-[a-z]+", fold(token)) and not token.isupper()
        ):
            continue
        if lx.COST_CENTER_CODE.fullmatch(fold(token)):
            continue
        spans.append(_Span(token.upper(), m.start(), m.end()))
    return spans


def _direction(low: str) -> int:
    down = lx.DOWN_RE.search(low)
    up = lx.UP_RE.search(low)
    if up and down:
        return 1 if up.start() < down.start() else -1
    if up:
        return 1
    if down:
        return -1
    return 0


def parse_change(text: str, *, direction: int = 0, money: bool = True) -> Change | None:
    """How a value should change, from words like "to 75k", "by 10%", "+5,000", "double it"."""
    low = fold(text)
    factor = lx.FACTOR_RE.search(low)
    if factor:
        word = factor.group(1)
        value = {"double": 2, "triple": 3, "quadruple": 4}.get(word, Decimal("0.5"))
        return Change(mode="times", value=Decimal(value), direction=0)
    if re.search(r"\bby\s+(?:a\s+)?half\b", low):
        return Change(mode="by_percent", value=Decimal(50), direction=direction)
    numbers = [
        n
        for n in find_numbers(text, money=money)
        if not (n.from_words and n.value in (0, 1) and "one" in n.text)
    ]
    if not numbers:
        return None
    chosen = _pick_change_number(low, numbers)
    before = low[max(0, chosen.start - 24) : chosen.start]
    value = abs(chosen.value)
    if chosen.value < 0:
        direction = -1
    elif chosen.text.lstrip().startswith("+"):
        direction = 1
    if chosen.percent:
        return Change(mode="by_percent", value=value, direction=direction)
    if re.search(
        r"(?:\bby|\bwith|\bplus|\banother|\bextra|\badditional|\ban\s+extra|\badd|\+|\bminus|\bless)\s*$",
        before,
    ):
        if re.search(r"(?:\bminus|\bless)\s*$", before):
            direction = -1
        return Change(mode="by", value=value, direction=direction)
    if re.search(r"\badd(?:ing)?\b|\bdeduct\b|\bsubtract\b|\btake\s+off\b", low) and not re.search(
        r"\bto\s*$", before
    ):
        return Change(mode="by", value=value, direction=direction or 1)
    return Change(mode="to", value=value, direction=direction)


def _pick_change_number(low: str, numbers: list[NumberMatch]) -> NumberMatch:
    for n in numbers:
        before = low[max(0, n.start - 16) : n.start]
        if re.search(r"(?:\bto|\bby|\bat|=|>|\bof|\bbe|\bis|\bcost|\bcosts|\bplus|\+|\bwith)\s*$", before):
            return n
    percent = [n for n in numbers if n.percent]
    return percent[0] if percent else numbers[-1]


# ---- cancellation ----------------------------------------------------------------------------------


def _cancellation(s: Scratch, today: date | None) -> Frame | None:
    verb = lx.CANCEL_RE.search(s.low)
    if verb is None:
        return None
    ordered = re.search(r"\b(?:orders?|so|po|p\.o\.|pedido|#\s?\d)", s.low)
    number_anywhere = re.search(r"(?<![\w.,-])\d{1,10}(?![\w.,-])", s.low)
    if names_invoice(s.low) and not re.search(r"\b(?:orders?|pedidos?|ordem)\b", s.low):
        return ChatFrame(kind="unsupported", detail="cancel_invoice")
    if ordered is None and number_anywhere is None:
        return None
    purchase = _names_purchase_order(s.low)
    reason = _take_reason(s)
    quoted = _take_quoted(s)
    number: str | None = None
    m = lx.ORDER_NUMBER_RE.search(s.low)
    if m is not None:
        number = m.group("num") or m.group("hash")
        s.mask(m.start(), m.end())
    elif number_anywhere is not None:
        number = number_anywhere.group(0)
        s.mask(number_anywhere.start(), number_anywhere.end())
    if not reason and quoted:
        reason = quoted[0]
    if not reason:
        reason = _portuguese_reason(s) or _leftover_reason(s)
    order_number = normalize_order_number(number) if number else None
    if purchase:
        return CancelPurchaseFrame(order_number=order_number, reason=reason)
    return CancelFrame(order_number=order_number, reason=reason)


_PO_WORDS = re.compile(
    r"\b(?:purchase\s+orders?|po|pedidos?\s+de\s+compras?|ordens?\s+de\s+compras?|supplier\s+orders?|"
    r"vendor\s+orders?)\b|\bp\.o\.(?!\w)"
)


def _names_purchase_order(low: str) -> bool:
    """Is the order to cancel a purchase order? Its numbered kind says so, else the words do."""
    numbered = lx.ORDER_NUMBER_RE.search(low)
    kind = fold(numbered.group("kind") or "") if numbered and numbered.group("num") else ""
    if kind and kind not in ("order", "orders", "pedido", "pedidos"):
        return bool(lx.PURCHASE_KIND_RE.match(kind))
    return bool(_PO_WORDS.search(low)) and not lx.SALES_KIND_RE.search(low)


def _portuguese_reason(s: Scratch) -> str:
    """ "... por duplicidade": "por" before a noun gives the reason ("por favor" is "please")."""
    m = re.search(r"\bpor\s+(?!favor\b)(?=[a-z])", s.low)
    if m is None:
        return ""
    reason = s.take(m.end(), len(s.raw)).strip("'\" ")
    reason = re.sub(r"(?i)[\s,]*por\s+favor\W*$", "", reason)
    if len(reason) < 2:
        return ""
    s.mask(m.start(), len(s.raw))
    return reason[:1].upper() + reason[1:]


def _leftover_reason(s: Scratch) -> str:
    """A clause around the command that explains it ("The customer withdrew - cancel order 1")."""
    pieces = re.split(r"\s*[,;.:!?\-]\s+|\s+-\s+|\s*\.\s*$", s.raw)
    best = ""
    for piece in pieces:
        words = re.findall(r"[A-Za-z']+", piece)
        low_words = {fold(w) for w in words}
        if not words or lx.CANCEL_RE.search(fold(piece)):
            continue
        if low_words <= (lx.READ_NOISE | {"sales", "order", "please", "thanks", "the", "it", "that"}):
            continue
        best = squash(piece)
        break
    return best[:1].upper() + best[1:] if best else ""


# ---- credit limit --------------------------------------------------------------------------------------


_CUSTOMER_PATTERNS = (
    re.compile(
        r"\b(?:credit\s*(?:limit|line|ceiling|cap)|limit)s?\s+(?:of|for|on|to)\s+(?:the\s+)?"
        rf"(?:customer\s+|client\s+)?{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?){_STOP}"
    ),
    re.compile(
        r"\b(?:give|grant|allow|offer|approve|extend)\s+(?P<x>[^,;:!?]{1,120}?)\s+(?:a|an|more)\s+(?:new\s+|higher\s+|"
        r"lower\s+|bigger\s+|larger\s+|smaller\s+|increased\s+|reduced\s+)?(?:credit|limit)"
    ),
    re.compile(
        r"(?P<x>[\w][\w&.' -]{0,120}?)(?:'s|s')\s+(?:current\s+|existing\s+)?(?:credit\s*)?(?:limit|line)\b"
    ),
    re.compile(
        r"(?:^|\b(?:raise|increase|set|change|update|lower|reduce|decrease|cut|bump|adjust|lift|boost|"
        r"extend|double|halve|make|put|move|the)\s+)(?:the\s+)?(?P<x>[^,;:!?]{1,120}?)\s+(?:current\s+)?"
        r"credit\s*(?:limit|line)\b"
    ),
    re.compile(rf"\b(?:customer|client)\s+(?P<x>[^,;:!?()]{{1,120}}?){_STOP}"),
    re.compile(rf"\bfor\s+{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?){_STOP}"),
)
_VERB_WORDS = frozenset(
    w
    for phrase in lx.UP_VERBS | lx.DOWN_VERBS | lx.SET_VERBS | frozenset(lx.FACTOR_WORDS)
    for w in phrase.split()
) | frozenset(
    {"please", "can", "you", "could", "would", "we", "i", "want", "like", "to", "let's", "lets", "new"}
)


def _credit_limit_change(s: Scratch, today: date | None) -> Frame | None:
    if not lx.CREDIT_LIMIT_RE.search(s.low):
        return None
    has_verb = lx.CHANGE_VERB_RE.search(s.low) is not None
    has_target = re.search(
        r"(?:\blimit\b|\bline\b)[^,;.?]{0,120}?\b(?:to|at|=|->|>)\s*(?:r\$|brl|\$)?\s*\d", s.low
    )
    has_new = re.search(r"\bnew\s+(?:credit\s+)?limit\b", s.low)
    if not (has_verb or has_target or has_new):
        return None
    asks = re.match(r"^(?:what|what's|whats|how|show|tell|is|was|when|who|which)\b", _strip_polite(s.low))
    wants = re.search(
        r"\b(?:can|could|should|would)\s+(?:you|we|i)\s+(?:raise|increase|set|change|lower|reduce)", s.low
    )
    if asks and not has_target and not wants:
        return None
    reason = _take_reason(s)
    _take_quoted(s)
    customer: EntityRef | None = None
    code = _take_code(s, lx.CUSTOMER_CODE, lead=r"\b(?:of|for|on|customer|client)")
    if code:
        customer = EntityRef(text=code, code=code)
    direction = _direction(s.low)
    change = parse_change(s.raw, direction=direction)
    if customer is None:
        customer = _find_subject(s, _CUSTOMER_PATTERNS, _VERB_WORDS | {"credit", "limit", "line"})
    return CreditLimitFrame(customer=customer, change=change, direction_hint=direction, reason=reason)


def _find_subject(
    s: Scratch, patterns: tuple[re.Pattern[str], ...], extra_noise: frozenset[str]
) -> EntityRef | None:
    masked = _mask_numbers(s.low)
    for pattern in patterns:
        for m in pattern.finditer(masked):
            if m.group("x") is None:
                continue
            phrase = clean_entity(s.raw[m.start("x") : m.end("x")], extra_noise)
            phrase = _trim_trailing_noise(phrase, extra_noise)
            if phrase and re.search(r"[A-Za-z]", phrase) and fold(phrase) not in extra_noise:
                return EntityRef(text=phrase)
    return None


def _trim_trailing_noise(phrase: str, noise: frozenset[str]) -> str:
    words = phrase.split()
    while words and fold(words[-1]) in noise | lx.ENTITY_SUFFIX_NOISE:
        words.pop()
    return " ".join(words)


def _mask_numbers(low: str) -> str:
    out = low
    for n in find_numbers(low, money=True):
        out = out[: n.start] + "0" * (n.end - n.start) + out[n.end :]
    return out


# ---- price change ----------------------------------------------------------------------------------------

_PRODUCT_PATTERNS = (
    re.compile(
        r"\b(?:price|pricing|cost|prices)\s+(?:of|for|on)\s+(?:the\s+)?(?:product\s+|item\s+|sku\s+)?"
        rf"{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?){_STOP}"
    ),
    re.compile(
        r"(?P<x>[\w][\w&.' -]{0,120}?)(?:'s|s')\s+(?:list\s+|selling\s+|sale\s+|unit\s+|retail\s+)?price\b"
    ),
    re.compile(
        r"\b(?:reprice|re-price|mark\s*-?\s*up|markup|mark\s*-?\s*down|markdown|discount|make)\s+(?:the\s+)?"
        r"(?P<x>[^,;:!?()]{1,120}?)\s+(?:by|to|cost|costs|at|=|price)\b"
    ),
    re.compile(
        r"(?:^|\b(?:raise|increase|set|change|update|lower|reduce|decrease|cut|bump|adjust|lift|boost|drop|"
        r"make|put|move|the)\s+)(?:the\s+)?(?P<x>[^,;:!?]{1,120}?)\s+(?:list\s+|selling\s+|sale\s+|unit\s+|"
        r"retail\s+)?price\b"
    ),
    re.compile(rf"\b(?:product|item|sku)\s+(?P<x>[^,;:!?()]{{1,120}}?){_STOP}"),
    re.compile(
        rf"\b(?:raise|increase|lower|reduce|decrease|cut|bump|drop|set|change|update)\s+(?:the\s+)?"
        rf"{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?)\s+(?:by|to)\b"
    ),
)


def _price_change(s: Scratch, today: date | None) -> Frame | None:
    if not lx.PRICE_RE.search(s.low):
        return None
    markup = re.search(
        r"\b(?:reprice|re-price|mark\s*-?\s*up|markup|mark\s*-?\s*down|markdown|discount)\b", s.low
    )
    has_verb = lx.CHANGE_VERB_RE.search(s.low) is not None
    has_target = re.search(
        r"\bprice\b[^,;?]{0,120}?\b(?:to|at|=|->|>|by)\s*(?:r\$|brl|\$|\u20ac)?\s*[-+]?\d", s.low
    )
    if not (markup or has_verb or has_target or re.search(r"\bnew\s+price\b", s.low)):
        return None
    only_cost = re.search(r"\bcost\b", s.low) and not re.search(r"\bprice|pric|mark|discount\b", s.low)
    if only_cost and not re.search(r"\bmake\b.{1,120}\bcost\b", s.low):
        return None
    if (
        re.match(r"^(?:what|what's|whats|how|show|tell|is|was|when|who|which|list)\b", _strip_polite(s.low))
        and not has_target
    ):
        return None
    reason = _take_reason(s)
    _take_quoted(s)
    product: EntityRef | None = None
    codes = _product_code_spans(s.raw)
    if codes:
        product = EntityRef(text=codes[0].text, code=codes[0].text)
        s.mask(codes[0].start, codes[0].end)
    direction = _direction(s.low)
    change = parse_change(s.raw, direction=direction)
    if product is None:
        product = _find_subject(
            s, _PRODUCT_PATTERNS, _VERB_WORDS | {"price", "list", "selling", "unit", "cost"}
        )
    return PriceFrame(product=product, change=change, direction_hint=direction, reason=reason)


# ---- journal entry --------------------------------------------------------------------------------------

_CREDIT_MARKER = re.compile(
    r"\b(?:paid|settled|funded|taken|withdrawn|drawn|coming)?\s*(?:from|out\s+of|using|via|through|with|by|against)\b"
)


def _journal_entry(s: Scratch, today: date | None) -> Frame | None:
    explicit_sides = [m for m in lx.SIDE_RE.finditer(s.low)]
    journal_word = lx.JOURNAL_RE.search(s.low) is not None
    booking = lx.BOOKING_VERB_RE.search(s.low)
    numbers = find_numbers(_mask_account_codes(s.raw), money=True)
    has_account_words = lx.ACCOUNTING_NOUN_RE.search(s.low) or lx.ACCOUNT_CODE.search(s.low)
    sides_ok = len(explicit_sides) >= 2 or (
        explicit_sides and (journal_word or lx.ACCOUNT_CODE.search(s.low))
    )
    natural = (
        booking is not None and numbers and has_account_words and not lx.PURCHASE_CREATE_RE.search(s.low)
    )
    if natural and re.search(r"\b(?:order|buy|purchase)\b", s.low) and not lx.ACCOUNT_CODE.search(s.low):
        natural = False
    if not (sides_ok or (journal_word and (numbers or explicit_sides)) or natural):
        if journal_word and re.search(r"\b(?:post|book|record|make|create|enter|raise|add)\b", s.low):
            return JournalFrame()
        return None
    request = squash(s.raw)
    quoted = _take_quoted(s)
    description = _take_description(s)
    if not description and quoted:
        description = quoted[0]
    if not description:
        description = request[:120]
    entry_date = _take_date(s, today)
    lines = _explicit_lines(s) if explicit_sides else []
    hint: Decimal | None = None
    if not lines:
        lines, hint = _natural_lines(s)
    else:
        rest = [n for n in find_numbers(_mask_account_codes(s.raw), money=True) if not n.percent]
        hint = rest[0].value if rest else None
    lines = _balance_amounts(lines, hint)
    return JournalFrame(lines=lines, description=description, entry_date=entry_date)


def _mask_account_codes(text: str) -> str:
    return lx.ACCOUNT_CODE.sub(lambda m: "#" * len(m.group(0)), text)


def _take_description(s: Scratch) -> str:
    m = lx.DESCRIPTION_RE.search(s.low)
    if m is None:
        return ""
    end = re.search(r"(?=\s*[;\n]|\s+(?:debit|credit|dr|cr)\b|$)", s.low[m.end() :])
    stop = m.end() + (end.start() if end else len(s.low) - m.end())
    text = s.take(m.end(), stop).strip("'\" ")
    s.mask(m.start(), stop)
    return text


def account_ref(text: str) -> EntityRef | None:
    """An account named in a journal clause: a code, or the words of its name."""
    code = lx.ACCOUNT_CODE.search(text)
    if code:
        return EntityRef(text=code.group(0), code=code.group(0))
    words = re.findall(r"[\w/&'.-]+", text)
    while words and fold(words[0]) in lx.JOURNAL_NOISE:
        words.pop(0)
    while words and fold(words[-1]) in lx.JOURNAL_NOISE | {"each", "please", "now", "today"}:
        words.pop()
    phrase = squash(" ".join(words))
    if not phrase or not re.search(r"[A-Za-z]", phrase):
        return None
    return EntityRef(text=phrase)


def _explicit_lines(s: Scratch) -> list[JournalLineFrame]:
    sides = list(lx.SIDE_RE.finditer(s.low))
    lines: list[JournalLineFrame] = []
    for i, m in enumerate(sides):
        end = sides[i + 1].start() if i + 1 < len(sides) else len(s.raw)
        clause = s.raw[m.end() : end]
        side = "debit" if fold(m.group("side")).startswith("d") else "credit"
        masked = _mask_account_codes(clause)
        amounts = [n for n in find_numbers(masked, money=True) if not n.percent]
        amount = amounts[0].value if amounts else None
        account_text = _blank(masked, amounts[0].start, amounts[0].end) if amounts else masked
        code = lx.ACCOUNT_CODE.search(clause)
        ref = (
            EntityRef(text=code.group(0), code=code.group(0))
            if code
            else account_ref(account_text.replace("#", " "))
        )
        if ref is None:
            continue
        lines.append(JournalLineFrame(side=side, account=ref, amount=amount))
    return lines


def _natural_lines(s: Scratch) -> tuple[list[JournalLineFrame], Decimal | None]:
    text = s.raw
    masked = _mask_account_codes(text)
    amounts = [n for n in find_numbers(masked, money=True) if not n.percent]
    if not amounts:
        return [], None
    amount = amounts[0]
    blanked = _blank(text, amount.start, amount.end)
    blanked_low = fold(blanked)
    transfer = re.search(r"\b(?:transfer(?:red)?|move[ds]?)\b", blanked_low)
    if transfer:
        base = transfer.end()
        m = re.search(
            r"\bfrom\s+(?P<src>.{1,120}?)\s+(?:to|into)\s+(?P<dst>.{1,120}?)(?=[,;.]|$)", blanked_low[base:]
        )
        if m:
            src = account_ref(blanked[base + m.start("src") : base + m.end("src")])
            dst = account_ref(blanked[base + m.start("dst") : base + m.end("dst")])
            if src and dst:
                return [
                    JournalLineFrame(side="debit", account=dst, amount=amount.value),
                    JournalLineFrame(side="credit", account=src, amount=amount.value),
                ], amount.value
    verb = lx.BOOKING_VERB_RE.search(blanked_low)
    start = verb.end() if verb and verb.start() < amount.end else 0
    credit = _CREDIT_MARKER.search(blanked_low, max(start, 0))
    if credit is None:
        debit_ref = account_ref(blanked[start:])
        lines = [JournalLineFrame(side="debit", account=debit_ref, amount=amount.value)] if debit_ref else []
        return lines, amount.value
    debit_text = blanked[start : credit.start()]
    credit_text = blanked[credit.end() :]
    if verb and verb.start() > amount.end:
        debit_text = blanked[: credit.start()]
    debit_ref = account_ref(_drop_verbs(debit_text))
    credit_ref = account_ref(_drop_verbs(credit_text))
    lines = []
    if debit_ref:
        lines.append(JournalLineFrame(side="debit", account=debit_ref, amount=amount.value))
    if credit_ref:
        lines.append(JournalLineFrame(side="credit", account=credit_ref, amount=amount.value))
    return lines, amount.value


_PURE_BOOKING_VERB = re.compile(
    r"\b(?:book|booked|post|posted|record|recorded|accrue|accrued|register|registered|log|logged|enter|"
    r"expensed|pay|paid|transfer|transferred|spent|spend|charged)\b"
)


def _drop_verbs(text: str) -> str:
    low = fold(text)
    out = text
    for m in _PURE_BOOKING_VERB.finditer(low):
        out = out[: m.start()] + " " * (m.end() - m.start()) + out[m.end() :]
    for m in re.finditer(r"\b(?:we|i|please|kindly|a|an|journal|entry|je)\b", low):
        out = out[: m.start()] + " " * (m.end() - m.start()) + out[m.end() :]
    return out


def _balance_amounts(lines: list[JournalLineFrame], hint: Decimal | None) -> list[JournalLineFrame]:
    """Fill a missing amount when the other side says it (one debit and one credit), or from a
    single amount stated for the whole entry."""
    debits = [ln for ln in lines if ln.side == "debit"]
    credits = [ln for ln in lines if ln.side == "credit"]
    out: list[JournalLineFrame] = []
    for ln in lines:
        if ln.amount is None:
            other = credits if ln.side == "debit" else debits
            same = debits if ln.side == "debit" else credits
            known = [o.amount for o in other if o.amount is not None]
            if len(same) == 1 and known and len(known) == len(other):
                ln = ln.model_copy(update={"amount": sum(known, Decimal(0))})
            elif hint is not None and len(same) == 1:
                ln = ln.model_copy(update={"amount": hint})
        out.append(ln)
    return out


# ---- purchase order -------------------------------------------------------------------------------------

_SUPPLIER_PATTERNS = (
    re.compile(
        rf"\b(?P<prep>supplier|vendor|fornecedor)\s*[:=]?\s*(?:is\s+)?{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?){_STOP}"
    ),
    re.compile(
        r"\b(?P<prep>from|with|via|through|thru|at)\s+(?:the\s+)?(?:supplier\s+|vendor\s+)?"
        rf"{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?){_STOP}"
    ),
    re.compile(
        rf"\b(?:po|purchase\s+order|order|requisition)\s+(?P<prep>to|for|with)\s+{_NOT_NUMBER}(?P<x>[^\W\d][^,;:!?()]{{0,120}}?)"
        r"(?=\s*[:;,]|\s+for\s+[\d]|\s+for\s+(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
        r"twenty|thirty|forty|fifty|hundred|dozen)\b)"
    ),
)
_COST_CENTER_NAMED = (
    re.compile(
        r"\b(?:(?:charge(?:d)?|bill(?:ed)?)\s+(?:(?:it|this|them|that|everything)\s+)?(?:(?:to|against|on|under)\s+)?|"
        r"(?:book(?:ed)?|allocate(?:d)?|put|assign(?:ed)?|post(?:ed)?|cost)\s+"
        r"(?:it\s+|this\s+|them\s+|that\s+|the\s+cost\s+|everything\s+)?(?:to|against|on|under)\s+)(?:the\s+)?"
        r"(?P<x>[a-z][\w&' ]{0,120}?)(?:\s+(?:cost\s*cent(?:er|re)|cc|budget|department|dept|team|area))?"
        r"(?=\s*[,;:.!?]|\s*$|\s+(?:from|for|at|with|memo|note|because|since|please|and)\b)"
    ),
    re.compile(
        r"\b(?:for|on|under|from|against|to|in|use|using)\s+(?:the\s+)?(?P<x>[a-z][\w&']*(?:\s+[a-z][\w&']*)?)\s+"
        r"(?:cost\s*cent(?:er|re)|cc|budget|department|dept)\b"
    ),
    re.compile(
        r"\b(?:cost\s*cent(?:er|re)|department|dept)\s*[:=]?\s*(?:is\s+)?(?P<x>[a-z][\w&']*(?:\s+[a-z][\w&']*)?)"
        r"(?=\s*[,;:.!?]|\s*$|\s+(?:from|for|at|with|memo|note|because|since|please|and)\b)"
    ),
    re.compile(
        r"(?:^|[,;]\s*|\band\s+)(?:the\s+)?(?P<x>[a-z][\w&']*(?:\s+[a-z][\w&']*)?)\s+(?:budget|cost\s*cent(?:er|re))\b"
    ),
)
_COST_CENTER_TENTATIVE = re.compile(
    r"\bfor\s+(?:the\s+)?(?P<x>[a-z][a-z&']+(?:\s+[a-z][a-z&']+)?)\s*(?=[,;.!?]|$)"
)
_PRICE_RE = re.compile(
    r"(?:\b(?:at|for|price(?:d)?(?:\s+(?:of|at))?|unit\s+price(?:\s+of)?|costing|cost)\s*|@\s*)"
    r"(?P<amount>(?:r\$|brl|us\$|\$|\u20ac|eur)?\s?\d[\d.,]*(?:\s?(?:brl|reais))?)"
    r"(?P<per>\s*(?:each|ea\b|apiece|a\s+piece|per\s+(?:unit|piece|pc|item|box|each|pack)|/\s*(?:unit|un|pc|piece|each|ea|box)|"
    r"a\s+unit|a\s+box|an\s+item))?"
)
_ITEM_SPLIT = re.compile(r"\s*(?:,\s+|;|\n|\s\+\s|\s&\s|\band\b|\bplus\b|\balso\b|\bas\s+well\s+as\b)\s*")
_QUANTITY_LEAD = re.compile(r"\b(?:qty|quantity|quant)\s*[:=]?\s*$")
_UNIT_AFTER = re.compile(
    r"^\s*(?:x\b|units?\b|pcs\b|pc\b|pieces?\b|un\b|ea\b|boxes\b|box\b|packs?\b|cartons?\b|rolls?\b|cases?\b|"
    r"bags?\b|pairs?\b|sets?\b|reams?\b|kits?\b|of\b)"
)


def looks_like_purchase(low: str) -> bool:
    """Does this text ask to buy something (not to read purchase orders)?"""
    core = _strip_polite(low)
    if re.match(
        r"^(?:show|list|display|what|what's|whats|which|how|is|are|do|does|did|find|search|check|tell|get\s+me\s+the|any|"
        r"see|view|review|look|pull\s+up|bring\s+up|know)\b",
        core,
    ):
        return False
    if lx.PURCHASE_CREATE_RE.search(low):
        return True
    if lx.PURCHASE_VERB_RE.search(core) or lx.PURCHASE_VERB_RE.search(low):
        return True
    # "40 hex bolts M8 from Fastenal": a quantity first, then a supplier.
    first = find_numbers(core[:30])
    quantity_first = bool(first) and first[0].start == 0 and not (first[0].money or first[0].percent)
    if quantity_first and re.search(r"\b(?:from|with|via|through)\s+\S", core):
        return True
    need = lx.NEED_RE.search(low)
    if need:
        after = low[need.end() :]
        if find_numbers(after[:40]) or re.match(r"\s*(?:more|some|another|additional|extra|new)\b", after):
            return True
    return bool(re.match(r"^(?:po|purchase\s+order)\s*(?:for|to|with|:)", core))


def _purchase_order(s: Scratch, today: date | None) -> Frame | None:
    if not looks_like_purchase(s.low):
        return None
    # " - " separates clauses like a comma does ("40 bolts - get them from Fastenal").
    s.raw = re.sub(r"\s+-\s+", lambda m: ", ".ljust(len(m.group(0))), s.raw)
    s.low = fold(s.raw)
    memo = _take_memo(s)
    quoted = _take_quoted(s)
    if not memo and quoted:
        memo = quoted[0]
    reason = _take_reason(s)
    if not memo and reason:
        memo = reason
    cost_center, tentative = _take_cost_center(s)
    supplier = _take_supplier(s)
    if supplier is None:
        supplier = _take_leading_label(s)
    items = _parse_items(_items_region(s))
    return PurchaseFrame(
        supplier=supplier, items=items, cost_center=cost_center, cost_center_tentative=tentative, memo=memo
    )


def _take_memo(s: Scratch) -> str:
    m = lx.MEMO_RE.search(s.low)
    if m is None:
        return ""
    quoted = lx.QUOTED.match(s.raw, m.end())
    if quoted:
        value = quoted.group(1) or quoted.group(2) or ""
        s.mask(m.start(), quoted.end())
        return value.strip()
    end = re.search(r"(?=[;\n]|,\s|$)", s.low[m.end() :])
    stop = m.end() + (end.start() if end else 0)
    value = s.take(m.end(), stop)
    s.mask(m.start(), stop)
    return value


def _take_cost_center(s: Scratch) -> tuple[EntityRef | None, bool]:
    code = _take_cost_center_code(s)
    if code:
        return EntityRef(text=code, code=code), False
    for pattern in _COST_CENTER_NAMED:
        m = pattern.search(s.low)
        if m:
            name = clean_entity(s.raw[m.start("x") : m.end("x")])
            if name and not find_numbers(name):
                s.mask(m.start(), m.end())
                return EntityRef(text=name), False
    m = _COST_CENTER_TENTATIVE.search(s.low)
    if m and not find_numbers(m.group("x")):
        name = clean_entity(s.raw[m.start("x") : m.end("x")])
        if name:
            s.mask(m.start(), m.end())
            return EntityRef(text=name), True
    return None, False


def _take_supplier(s: Scratch) -> EntityRef | None:
    code = _take_code(s, lx.SUPPLIER_CODE, lead=r"\b(?:from|with|to|via|at|supplier|vendor)\s*[:=]?")
    if code:
        return EntityRef(text=code, code=code)
    for pattern in _SUPPLIER_PATTERNS:
        m = pattern.search(s.low)
        if m is None:
            continue
        name = clean_entity(s.raw[m.start("x") : m.end("x")])
        if not name or fold(name) in lx.ITEM_NOISE:
            continue
        s.mask(m.start("prep"), m.end("x"))
        return EntityRef(text=name)
    return None


def _take_leading_label(s: Scratch) -> EntityRef | None:
    """ "Fastenal: please send us 40 M8 bolts" names the supplier before a colon."""
    m = re.match(r"^\s*(?P<x>[a-z][\w&.' -]{1,40}?)\s*:\s", s.low)
    if m is None:
        return None
    name = clean_entity(s.raw[m.start("x") : m.end("x")])
    words = {fold(w) for w in name.split()}
    if not name or words & (lx.ITEM_NOISE | _VERB_WORDS | {"po", "order", "purchase", "note", "memo"}):
        return None
    s.mask(m.start(), m.end())
    return EntityRef(text=name)


def _items_region(s: Scratch) -> str:
    """What is left once the clauses are taken: the verb phrase goes, the items stay."""
    for pattern in (lx.PURCHASE_CREATE_RE, lx.PURCHASE_VERB_RE, lx.NEED_RE, lx.POLITE_PREFIX):
        m = pattern.search(s.low)
        if m is not None:
            group = "verb" if "verb" in pattern.groupindex and m.group("verb") else 0
            s.mask(m.start(group), m.end(group))
    return re.sub(r"^\s*(?:for|of|:)\s+", " ", s.raw)


def _parse_items(region: str) -> list[PurchaseItem]:
    items: list[PurchaseItem] = []
    for chunk in _ITEM_SPLIT.split(region):
        item = parse_item(chunk)
        if item is not None:
            items.append(item)
    return _pair_split_items(items)


def _pair_split_items(items: list[PurchaseItem]) -> list[PurchaseItem]:
    """Join "A4 paper, 20 reams" (a product without a quantity next to a quantity without a product)."""
    out: list[PurchaseItem] = []
    for item in items:
        prev = out[-1] if out else None
        if prev is not None and not item.product.text and item.quantity is not None and prev.quantity is None:
            out[-1] = prev.model_copy(
                update={"quantity": item.quantity, "unit_price": prev.unit_price or item.unit_price}
            )
        elif (
            prev is not None and not prev.product.text and prev.quantity is not None and item.quantity is None
        ):
            out[-1] = item.model_copy(
                update={"quantity": prev.quantity, "unit_price": item.unit_price or prev.unit_price}
            )
        else:
            out.append(item)
    return out


def parse_item(chunk: str) -> PurchaseItem | None:
    """One purchase line from words like "40 hex bolts M8 at 0.80 each" or "hex nut M8: 200 units"."""
    text = " " + chunk + " "
    text, unit_price = _take_unit_price(text)
    numbers = [n for n in find_numbers(text) if not n.percent and not n.money]
    quantity = _pick_quantity(fold(text), numbers)
    product_text = text
    if quantity is not None:
        product_text = _blank(text, quantity.start, quantity.end)
        lead = re.search(
            r"(?:\b(?:qty|quantity|quant)\s*[:=]?|\bx|\()\s*$", fold(product_text[: quantity.start])
        )
        if lead:
            product_text = _blank(product_text, lead.start(), quantity.start)
    product = _clean_product(product_text)
    if not product and quantity is None:
        return None
    return PurchaseItem(
        product=EntityRef(text=product, code=_product_code(product)),
        quantity=quantity.value if quantity else None,
        unit_price=unit_price,
    )


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _take_unit_price(text: str) -> tuple[str, Decimal | None]:
    low = fold(text)
    for price in _PRICE_RE.finditer(low):
        opener = low[price.start() :].lstrip()
        if not price.group("per") and opener.startswith(("for", "cost")):
            continue
        found = find_numbers(text[price.start("amount") : price.end("amount")], money=True)
        if found:
            return _blank(text, price.start(), price.end()), found[0].value
    return text, None


def _only_filler(text: str) -> bool:
    words = re.findall(r"[\w']+", text)
    return all(fold(w) in lx.ITEM_NOISE | lx.UNIT_WORDS | _VERB_WORDS for w in words)


def _pick_quantity(low: str, numbers: list[NumberMatch]) -> NumberMatch | None:
    """The quantity among an item's numbers: "qty 5", a leading number, "200 units", "x 5" at the end."""
    for n in numbers:
        if _QUANTITY_LEAD.search(low[: n.start]):
            return n
    for n in numbers:
        if _only_filler(low[: n.start]):
            return n
    for n in numbers:
        if _UNIT_AFTER.match(low[n.end :]):
            return n
    for n in numbers:
        if not low[n.end :].strip(" )?!.") and re.search(r"(?:\bx|\(|:|-)\s*$", low[: n.start]):
            return n
    if len(numbers) == 1 and numbers[0].from_words:
        return numbers[0]
    return None


def _product_code(phrase: str) -> str | None:
    spans = _product_code_spans(phrase)
    if len(spans) == 1 and fold(squash(phrase)) == fold(spans[0].text):
        return spans[0].text
    return None


def _clean_product(text: str) -> str:
    words = re.findall(r"[\w/&.'-]+|\(|\)", text)
    low = [fold(w) for w in words]
    while low and (low[0] in lx.UNIT_WORDS | lx.ITEM_NOISE or low[0] in ("(", ")", ":", "-")):
        low.pop(0)
        words.pop(0)
    while low and (
        low[-1] in lx.ITEM_NOISE | {"each", "x", "units", "unit", "pcs", "(", ")"} or low[-1] in (":", "-")
    ):
        low.pop()
        words.pop()
    return squash(" ".join(w for w in words if w not in ("(", ")")))


# ---- reads ------------------------------------------------------------------------------------------------

_TOPIC_WORDS = re.compile(
    r"\b(?:sales\s+orders?|purchase\s+orders?|orders?|sos|pos|po|so|stock|stocks|inventory|on\s+hand|in\s+stock|"
    r"availability|budgets?|cost\s+cent(?:er|re)s?|balances?|accounts?|ledger|gl|credit\s+limits?|credit|limits?|"
    r"prices?|pricing|costs?|details?|customers?|clients?|suppliers?|vendors?|products?|items?|skus?|"
    r"warehouses?|reorder\s+point|spent|committed|left|remaining|available|open\s+orders?\s+total|total|"
    r"history|info|information|status|statuses|exposure|usage|blocked)\b"
)

_STATUS_WORDS = re.compile(
    r"\b" + lx.alternation(frozenset(lx.SALES_STATUS) | frozenset(lx.PURCHASE_STATUS)) + r"\b"
)


def _read_request(s: Scratch, today: date | None) -> ReadFrame | ChatFrame | None:
    low = s.low
    as_of = _take_date(s, today)
    year = _take_year(s)
    listing = bool(lx.LISTING_RE.search(low))
    invoice = parse_invoice_request(s, _leftover)
    if invoice is not None:
        return invoice

    number = lx.ORDER_NUMBER_RE.search(s.low)
    if number is not None and (number.group("num") or number.group("hash")):
        kind = fold(number.group("kind") or "")
        is_po = bool(lx.PURCHASE_KIND_RE.match(kind)) or bool(lx.SUPPLIER_NOUN_RE.search(low))
        return ReadFrame(
            topic="purchase_order" if is_po else "sales_order",
            order_number=normalize_order_number(number.group("num") or number.group("hash")),
        )
    account_code = lx.ACCOUNT_CODE.search(s.low)
    cc_code = _take_cost_center_code(s) if lx.COST_CENTER_CODE.search(s.low) else None
    customer_code = _take_code(s, lx.CUSTOMER_CODE)
    supplier_code = _take_code(s, lx.SUPPLIER_CODE)
    product_spans = _product_code_spans(s.raw)
    product_code = product_spans[0].text if product_spans else None
    for span in product_spans[:1]:
        s.mask(span.start, span.end)

    if lx.BALANCE_RE.search(low) or (account_code and not re.search(r"\bsearch|find|which|list\b", low)):
        if account_code:
            return ReadFrame(
                topic="balance",
                entity=EntityRef(text=account_code.group(0), code=account_code.group(0)),
                entity_kind="account",
                as_of=as_of,
            )
        if lx.BALANCE_RE.search(low) and not (
            lx.CUSTOMER_NOUN_RE.search(low) or lx.SUPPLIER_NOUN_RE.search(low)
        ):
            phrase = _leftover(s, keep_account=True)
            if phrase:
                return ReadFrame(
                    topic="balance", entity=EntityRef(text=phrase), entity_kind="account", as_of=as_of
                )
            return ReadFrame(topic="balance", entity=None, entity_kind="account", as_of=as_of)
    if (
        lx.STOCK_RE.search(low)
        and not lx.BUDGET_RE.search(low)
        and not re.search(r"\bhow\s+many\s+(?:sales\s+|purchase\s+)?orders\b", low)
    ):
        entity = _entity(product_code, _leftover(s))
        return ReadFrame(topic="stock", entity=entity, entity_kind="product")
    po_words = lx.PURCHASE_ORDER_RE.search(low)
    so_words = lx.SALES_ORDER_RE.search(low)
    if po_words and cc_code:
        status = _status(low, lx.PURCHASE_STATUS)
        entity = _entity(supplier_code, _leftover(s))
        return ReadFrame(
            topic="purchase_orders",
            entity=entity,
            entity_kind="supplier",
            status=status,
            listing=True,
            cost_center=cc_code,
        )
    if lx.BUDGET_RE.search(low) or cc_code:
        if cc_code:
            return ReadFrame(
                topic="budget",
                entity=EntityRef(text=cc_code, code=cc_code),
                entity_kind="cost_center",
                year=year,
            )
        phrase = _leftover(s)
        return ReadFrame(
            topic="budget",
            entity=EntityRef(text=phrase) if phrase else None,
            entity_kind="cost_center",
            year=year,
        )
    if po_words or (so_words and (supplier_code or lx.SUPPLIER_NOUN_RE.search(low))):
        status = _status(low, lx.PURCHASE_STATUS)
        entity = _entity(supplier_code, _leftover(s))
        return ReadFrame(
            topic="purchase_orders", entity=entity, entity_kind="supplier", status=status, listing=True
        )
    if so_words or re.search(r"\b(?:credit\s+hold|invoiced|backlog)\b", low):
        status = _status(low, lx.SALES_STATUS)
        entity = _entity(customer_code, _leftover(s))
        return ReadFrame(
            topic="sales_orders", entity=entity, entity_kind="customer", status=status, listing=True
        )
    if lx.ACCOUNT_RE.search(low) and not lx.CUSTOMER_NOUN_RE.search(low):
        phrase = _leftover(s)
        return ReadFrame(
            topic="accounts",
            entity=EntityRef(text=phrase) if phrase else None,
            entity_kind="account",
            listing=True,
        )
    if (
        customer_code
        or lx.CUSTOMER_NOUN_RE.search(low)
        or re.search(r"\bcredit\b|\blimit\b|\bexposure\b", low)
    ):
        return ReadFrame(
            topic="customer",
            entity=_entity(customer_code, _leftover(s)),
            entity_kind="customer",
            listing=listing and not customer_code,
        )
    if supplier_code or lx.SUPPLIER_NOUN_RE.search(low):
        return ReadFrame(
            topic="supplier",
            entity=_entity(supplier_code, _leftover(s)),
            entity_kind="supplier",
            listing=listing and not supplier_code,
        )
    if product_code or lx.PRODUCT_NOUN_RE.search(low) or lx.PRICE_RE.search(low):
        return ReadFrame(
            topic="product",
            entity=_entity(product_code, _leftover(s)),
            entity_kind="product",
            listing=listing and not product_code,
        )
    phrase = _leftover(s)
    if not phrase:
        return None
    words = phrase.split()
    question_like = re.match(
        r"^(?:what|why|how|who|when|where|can|could|would|should|will|do|does|is|are|tell|write)\b",
        _strip_polite(low),
    )
    if len(words) > 4 or (question_like and len(words) > 3) or lx.OTHER_VERB_RE.match(_strip_polite(low)):
        return None
    return ReadFrame(topic="lookup", entity=EntityRef(text=phrase), listing=True)


def _take_year(s: Scratch) -> int | None:
    """A budget year ("2026"), unless the number is a document's ("order 2026", "invoice 2045")."""
    numbered = [
        m.span("num")
        for pattern in (lx.ORDER_NUMBER_RE, lx.INVOICE_NUMBER_RE)
        for m in pattern.finditer(s.low)
        if m.group("num")
    ]
    for m in lx.YEAR.finditer(s.low):
        if any(start <= m.start() and m.end() <= end for start, end in numbered):
            continue
        s.mask(m.start(), m.end())
        return int(m.group(1))
    return None


def _entity(code: str | None, phrase: str) -> EntityRef | None:
    if code:
        return EntityRef(text=code, code=code)
    return EntityRef(text=phrase) if phrase else None


def _status(low: str, table: dict[str, str]) -> str | None:
    for word in sorted(table, key=len, reverse=True):
        if re.search(rf"\b{re.escape(word)}\b", low):
            return table[word]
    return None


def _leftover(s: Scratch, *, keep_account: bool = False) -> str:
    """What is left of a read request once topic words, filler and statuses are gone: the entity."""
    low = s.low
    raw = s.raw
    for pattern in (_TOPIC_WORDS, _STATUS_WORDS):
        for m in pattern.finditer(low):
            word = m.group(0)
            if keep_account and word.startswith("account"):
                continue
            raw = raw[: m.start()] + " " * (m.end() - m.start()) + raw[m.end() :]
        low = fold(raw)
    words = re.findall(r"[\w/&.'-]+", raw)
    kept: list[str] = []
    for word in words:
        w = fold(word).strip(".'")
        acronym = word.isupper() and len(word) >= 2  # "IT", "HR": names, not the pronoun
        if (w in lx.READ_NOISE and not acronym) or w in ("'s", "s") or not w:
            continue
        kept.append(word)
    phrase = " ".join(kept)
    phrase = re.sub(r"(?:'s|s')\b", "", phrase)
    return squash(phrase).strip("'\"")
