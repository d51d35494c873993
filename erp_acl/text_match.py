"""Forgiving text search shared by every adapter (customers, suppliers, products, accounts).

People ask for "hex bolts M8" or "fastenal"; the ERP says "Hex bolt M8 x 40 mm zinc plated" and
"Fastenal Brasil Ltda". Matching is accent- and case-insensitive, words are lightly singularised,
and every query word must match (as a prefix) a word of the record or its code. Both adapters rank
with this one function, so they answer a search with the same records in the same order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_WORD = re.compile(r"[a-z0-9]+")
# Words a person adds to a query that no record needs to contain ("the supplier of ..." aside,
# these are the connectives found inside company names in both languages).
_STOPWORDS = frozenset({"a", "and", "da", "das", "de", "do", "dos", "e", "for", "of", "the", "&"})


def normalize(text: str) -> str:
    """Lower-case, accents removed: ``São João`` -> ``sao joao``."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def singular(word: str) -> str:
    """A light English/Portuguese singular: ``bolts`` -> ``bolt``, ``boxes`` -> ``box``.

    Deliberately crude: it only has to map a plural and its singular to the same key, and
    short words and words ending in ``ss``/``us``/``is`` are left alone (``glass``, ``bus``).
    """
    if len(word) <= 3 or word.isdigit() or word[-1] != "s":
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


def tokenize(text: str) -> list[str]:
    """Normalised, singularised words of a text."""
    return [singular(word) for word in _WORD.findall(normalize(text))]


def compact(text: str) -> str:
    """Only letters and digits, normalised: how codes are compared (``HB-M8-40`` -> ``hbm840``)."""
    return "".join(_WORD.findall(normalize(text)))


@dataclass(frozen=True)
class _Scored:
    exact_code: bool
    score: float
    code: str


def _query_tokens(query: str) -> list[str]:
    tokens = tokenize(query)
    meaningful = [t for t in tokens if t not in _STOPWORDS]
    return meaningful or tokens


def score(query: str, code: str, text: str) -> tuple[bool, float] | None:
    """How well one record matches: (exact code match, score), or None when it does not match.

    Every query word must be a prefix of some word of ``text`` or of ``code``. Whole-word
    matches count more than prefixes; records with fewer words rank higher (a closer match).
    """
    tokens = _query_tokens(query)
    if not tokens:
        return None
    exact_code = compact(query) == compact(code) and bool(compact(code))
    code_words = tokenize(code)
    text_words = tokenize(text)
    words = text_words + code_words
    total = 0.0
    for token in tokens:
        if token in words:
            total += 3.0
        elif any(word.startswith(token) for word in words):
            total += 1.5
        elif compact(code).startswith(token):
            total += 1.0
        else:
            return None
    # Density: share of the record's words the query accounts for; "Fastenal" fits
    # "Fastenal Brasil Ltda" better than a long name that merely contains the word.
    total += len(tokens) / max(len(text_words), 1)
    return exact_code, total


def rank(
    query: str,
    items: Iterable[T],
    *,
    code: Callable[[T], str],
    text: Callable[[T], str],
    limit: int = 10,
) -> list[T]:
    """The matching items, best first: exact code match, then score, then code (stable order)."""
    scored: list[tuple[_Scored, T]] = []
    for item in items:
        item_code = code(item)
        result = score(query, item_code, text(item))
        if result is not None:
            scored.append((_Scored(result[0], result[1], item_code), item))
    scored.sort(key=lambda pair: (not pair[0].exact_code, -pair[0].score, pair[0].code))
    return [item for _, item in scored[: max(limit, 0)]]


def search_text(*fields: str) -> str:
    """The searchable text of a record made of several fields (name, short name, tax id, ...)."""
    return " ".join(field for field in fields if field)
