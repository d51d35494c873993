"""Plain text: the only free text Countersign accepts from a person, a model or a client.

Codes, memos, reasons and descriptions are shown to people on one line (the approvals inbox,
``countersign approvals list``, a rejection the requester reads, the audit story) and land in the
ERP. A control character in them is never data: a line break forges a line of its own in a
listing ("approve by erin"), an ESC sequence rewrites the reader's terminal, a bidirectional
override shows the text in another order than it is stored, a NUL cuts it short in C tools. So
such text must be one line of printable characters; anything else is refused at the door, in one
line that says which character, where, and what to type instead. The doors: every tool argument
(``tools.schemas``), an approver's edits (``agent.edits``) and every reason (``agent.service``).
What is already stored is read as it is. Quotes, ``%``, ``_`` and SQL words are plain text like
any other: every query binds them as parameters.
"""

from __future__ import annotations

import unicodedata

# Unicode's bidirectional controls (category Cf, unlike the C0/C1 controls in Cc).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators


def unsafe_character(text: str) -> tuple[int, str] | None:
    """The first character of ``text`` that is not plain one-line text, with its index."""
    for index, char in enumerate(text):
        if char in BIDI_CONTROLS or unicodedata.category(char) in _LINE_BREAKING:
            return index, char
    return None


def plain_text_problem(text: str) -> str | None:
    """Why ``text`` is not plain one-line text (to follow a field name), or None when it is."""
    found = unsafe_character(text)
    if found is None:
        return None
    index, char = found
    return (
        f"contains the control character U+{ord(char):04X} at position {index + 1}; "
        "type plain text on one line"
    )


def plain_text(text: str) -> str:
    """``text`` unchanged when it is plain one-line text; raises ValueError saying why not."""
    problem = plain_text_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text
