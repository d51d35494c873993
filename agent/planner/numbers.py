"""Amounts, quantities, percentages and ordinals as back-office staff write them.

``find_numbers`` scans free text; ``parse_number`` reads one whole value; ``parse_ordinal`` reads
"the second one" style choices. Codes are never numbers: digits glued to letters, hyphens, slashes
or dotted account codes ("M8", "HB-M8-40", "CC300", "1.1.02.001", "2026-11-21") are skipped.

Separator rule (one value, digits with ``.`` and/or ``,``):

1. Both ``.`` and ``,`` present: the one that occurs last is the decimal separator, the other
   groups thousands ("1.250,00" and "1,250.00" are both 1250.00). Groups must be 3 digits.
2. One kind of separator, several times ("1.250.000", "1,250,000"): thousands; groups must be 3.
3. One separator once:
   - a comma followed by exactly 3 digits after a 1-3 digit integer part without a leading zero
     ("75,000") groups thousands; any other comma is decimal ("99,90", "0,125", "1,5");
   - a dot followed by exactly 3 digits after a 1-3 digit integer part without a leading zero
     ("1.250") groups thousands **in a money context** (a currency marker next to it, or the caller
     says ``money=True``), as pt-BR writes it; outside money it is decimal ("1.250 kg" = 1.25);
   - any other dot is decimal ("0.80", "1.2k", "1.550").

Suffixes multiply: "k"/"mil"/"thousand" x 1,000, "million"/"mn"/"mi" x 1,000,000 ("1.2k" = 1200),
"dozen" x 12 ("2 dozen" = 24), "cents"/"centavos" x 0.01 ("10 cents" = 0.10).
Percent: "10%", "10 percent", "ten per cent". Currency markers: R$, BRL, US$, $, USD, EUR, €, £,
"reais". Number words: "zero".."ninety-nine", "a/one hundred", "two hundred and fifty",
"a thousand", "a dozen", "two dozen", "half a dozen", "a couple (of)", "a pair (of)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "NumberMatch",
    "find_numbers",
    "first_number",
    "format_decimal",
    "parse_digits",
    "parse_number",
    "parse_ordinal",
]


@dataclass(frozen=True)
class NumberMatch:
    """One number found in text, with where it was and what marked it."""

    value: Decimal
    start: int
    end: int
    text: str
    currency: str | None = None
    percent: bool = False
    from_words: bool = False

    @property
    def money(self) -> bool:
        return self.currency is not None


_UNITS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_GROUPS: dict[str, int] = {"dozen": 12, "dozens": 12, "couple": 2, "pair": 2}

_CURRENCY_ALIASES: dict[str, str] = {
    "r$": "BRL",
    "brl": "BRL",
    "reais": "BRL",
    "real": "BRL",
    "us$": "USD",
    "$": "USD",
    "usd": "USD",
    "dollars": "USD",
    "dollar": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euros": "EUR",
    "euro": "EUR",
    "£": "GBP",
    "gbp": "GBP",
}
_MULTIPLIERS: dict[str, int | Decimal] = {
    "cent": Decimal("0.01"),
    "cents": Decimal("0.01"),
    "centavo": Decimal("0.01"),
    "centavos": Decimal("0.01"),
    "k": 1000,
    "mil": 1000,
    "thousand": 1000,
    "thousands": 1000,
    "million": 1_000_000,
    "millions": 1_000_000,
    "mn": 1_000_000,
    "mi": 1_000_000,
    "dozen": 12,
    "dozens": 12,
}

_CUR_PRE = r"(?P<cur_pre>R\$|US\$|\$|€|£|BRL|USD|EUR|GBP)\s?"
_CUR_POST = r"(?P<cur_post>BRL|USD|EUR|GBP|reais|real|euros?|dollars?)\b"
_NUMBER_RE = re.compile(
    rf"(?:{_CUR_PRE})?"
    r"(?P<sign>[-+\u2212])?"
    r"(?P<num>\d[\d.,]*\d|\d)"
    r"(?:\s?(?P<mult>k|K|mil|thousands?|millions?|mn|mi|dozens?|cents?|centavos?)\b)?"
    r"(?P<pct>\s?(?:%|percent\b|per\s?cent\b|pct\b))?"
    rf"(?:\s?{_CUR_POST})?",
    re.IGNORECASE,
)
# Letters allowed right after digits without a space: a multiplier or a quantity marker.
_GLUED_OK = re.compile(r"(?:k|x|pcs|pc|un|ea|mil)(?![a-z0-9])", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z]+(?:-[a-z]+)*", re.IGNORECASE)
_PERCENT_AFTER_WORDS = re.compile(r"\s*(?:%|percent\b|per\s?cent\b|pct\b)", re.IGNORECASE)

_ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
    "former": 1,
    "latter": -1,
}
_ORDINAL_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")


def parse_digits(token: str, *, money: bool = False) -> Decimal | None:
    """The value of a digit string with separators, by the rule in the module docstring."""
    if not token or not token[0].isdigit() or not token[-1].isdigit():
        return None
    if not re.fullmatch(r"[\d.,]+", token):
        return None
    has_dot, has_comma = "." in token, "," in token
    if has_dot and has_comma:
        decimal_sep = "." if token.rfind(".") > token.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        int_part, frac = token.rsplit(decimal_sep, 1)
        if decimal_sep in int_part or group_sep in frac or not _valid_groups(int_part.split(group_sep)):
            return None
        return _decimal(int_part.replace(group_sep, "") + "." + frac)
    if not (has_dot or has_comma):
        return _decimal(token)
    sep = "." if has_dot else ","
    parts = token.split(sep)
    if len(parts) > 2:
        return _decimal("".join(parts)) if _valid_groups(parts) else None
    int_part, frac = parts
    groups_thousands = len(frac) == 3 and 1 <= len(int_part) <= 3 and int_part[0] != "0"
    if groups_thousands and (sep == "," or money):
        return _decimal(int_part + frac)
    return _decimal(int_part + "." + frac)


def _tidy(value: Decimal) -> Decimal:
    """1.2k is 1200, not 1200.0; 0.80 keeps its cents."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value


def _valid_groups(groups: list[str]) -> bool:
    first, rest = groups[0], groups[1:]
    return 1 <= len(first) <= 3 and first.isdigit() and all(len(g) == 3 and g.isdigit() for g in rest)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _is_code_char(ch: str) -> bool:
    return ch.isalnum() or ch in "-_/.\\#"


def find_numbers(text: str, *, money: bool = False) -> list[NumberMatch]:
    """Every number in ``text``, in order (digits and number words), codes excluded."""
    found = _find_digit_numbers(text, money=money)
    words = _find_word_numbers(text)
    # Both lists are in text order and each is free of overlaps, so one merge-like walk finds
    # the digit numbers a word number overlaps (linear: a long message stays cheap).
    kept: list[NumberMatch] = []
    k = 0
    for match in words:
        while k < len(found) and found[k].end <= match.start:
            k += 1
        if k < len(found) and found[k].start < match.end:
            continue
        kept.append(match)
    return sorted(found + kept, key=lambda m: m.start)


def _find_digit_numbers(text: str, *, money: bool) -> list[NumberMatch]:
    out: list[NumberMatch] = []
    for m in _NUMBER_RE.finditer(text):
        start, end = m.start(), m.end()
        num_start, num_end = m.start("num"), m.end("num")
        lead = m.start("sign") if m.group("sign") else num_start
        if m.group("cur_pre") is None and lead > 0:
            before = text[lead - 1]
            # "-5%" after a space is a sign; "HB-M8-40" or "x40" is a code.
            if _is_code_char(before) and not (before == "-" and m.group("sign")):
                continue
        if m.group("sign") and m.group("cur_pre") is None and lead > 0 and text[lead - 1].isalnum():
            continue
        after = text[num_end:]
        if m.group("mult") is None and m.group("pct") is None and after:
            if after[0].isalpha() and not _GLUED_OK.match(after):
                continue
            if after[0] in "-/" and len(after) > 1 and after[1].isalnum():
                continue
            if after[0] in ".," and len(after) > 1 and after[1].isdigit():
                continue
            if after[0] == "_":
                continue
        cur_raw = m.group("cur_pre") or m.group("cur_post")
        currency = _CURRENCY_ALIASES.get(cur_raw.lower()) if cur_raw else None
        value = parse_digits(m.group("num"), money=money or currency is not None)
        if value is None:
            continue
        mult = m.group("mult")
        if mult:
            value = _tidy(value * _MULTIPLIERS[mult.lower()])
        if m.group("sign") in ("-", "\u2212"):
            value = -value
        out.append(
            NumberMatch(
                value=value,
                start=start,
                end=end,
                text=text[start:end],
                currency=currency,
                percent=m.group("pct") is not None,
            )
        )
    return out


def _word_value(word: str) -> tuple[str, int] | None:
    w = word.lower()
    if w in _UNITS:
        return "unit", _UNITS[w]
    if w in _TENS:
        return "ten", _TENS[w]
    if w in _SCALES:
        return "scale", _SCALES[w]
    if w in _GROUPS:
        return "group", _GROUPS[w]
    if "-" in w:
        head, _, tail = w.partition("-")
        if head in _TENS and tail in _UNITS and 0 < _UNITS[tail] < 10:
            return "ten", _TENS[head] + _UNITS[tail]
    return None


def _find_word_numbers(text: str) -> list[NumberMatch]:
    words = [(m.group(0), m.start(), m.end()) for m in _WORD_RE.finditer(text)]
    lowered = [w[0].lower() for w in words]  # once: lowering per start word made this quadratic
    out: list[NumberMatch] = []
    i = 0
    while i < len(words):
        parsed = _read_number_words(lowered, i)
        if parsed is None:
            i += 1
            continue
        value, j = parsed
        start, end = words[i][1], words[j - 1][2]
        pct = _PERCENT_AFTER_WORDS.match(text, end)
        if pct:
            end = pct.end()
        out.append(
            NumberMatch(
                value=Decimal(value),
                start=start,
                end=end,
                text=text[start:end],
                percent=pct is not None,
                from_words=True,
            )
        )
        i = j
    return out


def _read_number_words(lowered: list[str], i: int) -> tuple[int, int] | None:
    """Read a number-word phrase starting at (lower-case) word ``i``: (value, index after it) or None."""
    n = len(lowered)

    def at(k: int) -> str:
        return lowered[k] if k < n else ""

    if at(i) == "half" and at(i + 1) in ("a", "an") and at(i + 2) == "dozen":
        return 6, i + 3
    total, current, j = 0, 0, i
    if at(i) in ("a", "an"):
        if at(i + 1) not in ("hundred", "thousand", "million", "dozen", "couple", "pair"):
            return None
        current, j = 1, i + 1
    seen_any = j > i
    last_kind = ""
    while j < n:
        word = lowered[j]
        if word == "and":
            nxt = _word_value(at(j + 1))
            if last_kind == "scale" and nxt is not None and nxt[0] in ("unit", "ten"):
                j += 1
                continue
            break
        parsed = _word_value(word)
        if parsed is None:
            break
        kind, value = parsed
        if kind == "unit":
            if last_kind in ("unit", "group") or (last_kind == "ten" and current % 10):
                break
            current += value
        elif kind == "ten":
            if last_kind in ("unit", "ten", "group"):
                break
            current += value
        elif kind == "scale":
            if not seen_any:
                break
            if value == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * value
                current = 0
        else:  # a group word: dozen, couple, pair
            if last_kind == "group":
                break
            current = max(current, 1) * value
            if at(j + 1) == "of":
                j += 1
        seen_any = True
        last_kind = kind
        j += 1
    if not last_kind:
        return None
    return total + current, j


def parse_number(text: str, *, money: bool = False) -> Decimal | None:
    """The single number ``text`` is (currency, suffix and percent allowed), else None."""
    stripped = text.strip().rstrip(".!?")
    matches = find_numbers(stripped, money=money)
    if len(matches) != 1:
        return None
    match = matches[0]
    rest = (stripped[: match.start] + stripped[match.end :]).strip(" :=")
    return match.value if not rest else None


def first_number(text: str, *, money: bool = False) -> NumberMatch | None:
    """The first number in ``text``, or None."""
    matches = find_numbers(text, money=money)
    return matches[0] if matches else None


def parse_ordinal(text: str) -> int | None:
    """A 1-based choice ("second", "2nd", "#2", "option 2", "the last one" = -1), else None."""
    words = re.findall(r"[a-z0-9#]+", text.lower())
    for word in words:
        if word in _ORDINALS:
            return _ORDINALS[word]
    cleaned = [
        w for w in words if w not in ("the", "one", "option", "number", "no", "choice", "pick", "it", "s")
    ]
    if len(cleaned) == 1:
        token = cleaned[0].lstrip("#")
        m = _ORDINAL_DIGITS.match(token)
        if m:
            return int(m.group(1))
    return None


def format_decimal(value: Decimal) -> str:
    """A quantity without trailing zeros: 40.000 -> "40", 1.50 -> "1.5"."""
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}".replace(",", "")
    return format(value.normalize(), "f")
