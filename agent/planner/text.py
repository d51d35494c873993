"""Text helpers shared by the parser and the matcher: folding, tokens, plurals, masking.

``fold`` keeps every character at its index (one character in, one out), so a span found in the
folded text slices the original text exactly; that is how the parser keeps the user's casing for
names and memos while matching lower-case patterns.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_PUNCT_MAP = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\t": " ",
    "\r": " ",
    "\u2192": ">",
}
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*")


def clean_input(text: str) -> str:
    """Typographic quotes, dashes and odd spaces as plain ASCII, one character for one."""
    return "".join(_PUNCT_MAP.get(ch, ch) for ch in text)


def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    base = decomposed[0] if decomposed else ch
    lowered = base.lower()
    return lowered if len(lowered) == 1 else ch.lower()[:1] or ch


def fold(text: str) -> str:
    """Lower case without accents, same length as ``text`` (so spans carry over)."""
    return "".join(_fold_char(ch) for ch in text)


def tokens(text: str) -> list[str]:
    """Folded word tokens; codes such as "hb-m8-40" or "1.1.02.001" stay whole."""
    return _TOKEN_RE.findall(fold(text))


def singular(word: str) -> str:
    """A rough English singular: bolts -> bolt, boxes -> box, batteries -> battery."""
    if len(word) < 4 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses", "zes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def squash(text: str) -> str:
    """Collapse runs of spaces and trim spaces and separators at both ends."""
    return re.sub(r"\s+", " ", text).strip(" ,;:.-!?")


def message_text(content: Any) -> str:
    """The text of a message's content (plain string or a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return str(content or "")


class Scratch:
    """A working copy of a request: find patterns in the folded text, take the original words,
    and blank out what was understood so the next pattern does not read it again."""

    def __init__(self, text: str) -> None:
        self.raw = clean_input(text)
        self.low = fold(self.raw)

    def take(self, start: int, end: int) -> str:
        """The original text of a span, tidied."""
        return squash(self.raw[start:end])

    def mask(self, start: int, end: int) -> None:
        blank = " " * (end - start)
        self.raw = self.raw[:start] + blank + self.raw[end:]
        self.low = self.low[:start] + blank + self.low[end:]

    def search(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return pattern.search(self.low)

    def rest(self) -> str:
        return squash(self.raw)
