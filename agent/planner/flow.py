"""The small vocabulary plans are written in: a ``Decision``, "wait for reads", and "ask the user"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agent.planner.frames import Frame, Pending
from agent.planner.resolve import Found, Resolution, ToolCallSpec, Unclear


@dataclass(frozen=True)
class Decision:
    """What the model says next: tool calls (with optional text), or a text reply."""

    text: str = ""
    calls: tuple[ToolCallSpec, ...] = ()
    pending: Pending | None = None
    summary: str = ""  # for a proposal: what it proposes, as a phrase ("a purchase order to ...")


class Wait(Exception):
    """Raised inside a plan when a needed read has been queued (or its tool is not bound)."""


def need(res: Resolution) -> Found | Unclear:
    """The resolution, or stop the plan here until the queued reads come back."""
    if res is None:
        raise Wait
    return res


def ask(frame: Frame, slot: str, text: str, unclear: Unclear | None = None) -> Decision:
    """A question whose answer fills ``slot`` of ``frame`` (the frame rides along, pending)."""
    candidates = list(unclear.candidates) if unclear is not None else []
    return Decision(text=text, pending=Pending(frame=frame, slot=slot, candidates=candidates))


def ask_unclear(frame: Frame, slot: str, unclear: Unclear) -> Decision:
    return ask(frame, slot, unclear.question, unclear)


def num(value: Decimal) -> int | float:
    """A JSON number for a tool argument (exact for quantities and cents)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)
