"""Tell the instruction of a request from the context that follows it.

Requests often put the instruction first and the why after it, in a sentence of its own:

    Show me supplier invoice 000010329 and purchase order 000299.
    Reason: the ERP reports: Supplier invoice 000010329 does not match purchase order 000299: ...

(the agent worker starts every event run with a message of this shape). The codes and numbers of
the context are not part of what is asked, so the parser reads the instruction alone and keeps the
context as the reason or memo of a write. A context sentence starts, after a sentence end or a line
break, with a lead such as "Reason:", "Context:", "Because", "FYI" or "The ERP reports".
"""

from __future__ import annotations

import re

from agent.planner import lexicon as lx
from agent.planner.text import clean_input, fold, squash

# Where a new sentence may start: after a line break, or after ". ", "! ", "? ", "; ".
_BOUNDARY = re.compile(r"\n\s*|(?<=[.!?;])\s+")
# A character ``squash`` keeps: neither a blank nor a separator it trims.
_WORD = re.compile(r"[^\s,;:.!?-]")
# The longest reason or memo a proposal takes (tools.schemas.NOTE).
_MAX_NOTE = 250


def split_context(text: str) -> tuple[str, str]:
    """(instruction, context): the context is everything from the first sentence that opens with a
    context lead; without one, the whole text is the instruction and the context is empty."""
    cleaned = clean_input(text)
    low = fold(cleaned)
    # Where the first word is (what ``squash`` would keep): found once, not per boundary, so a
    # long message of separators stays linear.
    word = _WORD.search(cleaned)
    first_word = word.start() if word else len(cleaned)
    for boundary in _BOUNDARY.finditer(low):
        start = boundary.end()
        if first_word >= boundary.start() or start >= len(low):
            continue
        if lx.CONTEXT_LEAD_RE.match(low, start):
            return cleaned[: boundary.start()].strip(), cleaned[start:].strip()
    return text, ""


def main_clause(context: str) -> str:
    """The clause after "Because ..., " or "Since ..., " (it may be an instruction of its own:
    "Because of that, lower its price"); empty for a context that opens with a label or has none."""
    if lx.CONTEXT_CONJUNCTION_RE.match(fold(context)) is None:
        return ""
    _, comma, rest = context.partition(", ")
    return rest.strip() if comma else ""


def context_note(context: str) -> str:
    """The context as a reason or memo: its label dropped ("Reason:", "Because"), one line,
    capitalised, at most as long as a proposal's note."""
    low = fold(context)
    label = lx.CONTEXT_LABEL_RE.match(low)
    value = squash(context[label.end() :] if label else context)
    value = value[:1].upper() + value[1:]
    if len(value) > _MAX_NOTE:
        value = value[: _MAX_NOTE - 1].rstrip() + "\u2026"
    return value
