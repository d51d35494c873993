"""Which user the agent acts for on each kind of ERP event, and the request each run starts with.

The request is built from the event's typed facts (``erp_acl.events.Fact``: codes that matched the
code pattern, numbers that are numbers), never from fact text: a fact cannot add a sentence of its
own to what the run is asked.
"""

from __future__ import annotations

import math
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from agent.users import Directory
from erp_acl.events import FACT_TYPES, Code, Fact, fact_text

# Placeholders every request may use besides the facts of its kind.
_STANDARD_FIELDS = frozenset({"summary", "subject", "cost_center", "order_quantity"})


class EventConfigError(ValueError):
    """The events file is wrong; the message says where, in one line."""


@dataclass(frozen=True)
class EventRoute:
    kind: str
    owner: str
    request: str
    enabled: bool = True
    # "proposal": the run is there to file one (a replenishment order); ending without one is a
    # failure a person must see, not an answer. None: the run reads and reports.
    expects: str | None = None

    def missing(self, facts: Mapping[str, Fact], cost_center: str | None) -> list[str]:
        """The facts the request names that this event does not carry (e.g. no earlier supplier
        of a product): the run cannot start from them, so its owner is asked instead."""
        values = _values(facts, cost_center)
        return sorted(name for name in _fields(self.request) if values.get(name) in (None, ""))

    def render(
        self, *, summary: str, subject: str, facts: Mapping[str, Fact], cost_center: str | None
    ) -> str:
        """The run's opening message; the event's summary alone when a named fact is missing.

        ``facts`` must be typed (``BusinessEvent.typed_facts``): a plain string is refused here, so
        no caller can slip text that was never checked against its fact's type into a request."""
        untyped = [
            name
            for name, value in facts.items()
            if isinstance(value, bool) or not isinstance(value, Code | Decimal | int)
        ]
        if untyped:
            raise TypeError(f"facts {', '.join(untyped)} are not typed; pass BusinessEvent.typed_facts()")
        if self.missing(facts, cost_center):
            return f"Please look into this and tell me what you find. The ERP reports: {summary}"
        return self.request.format(
            **{**_values(facts, cost_center), "summary": summary, "subject": Code(subject)}
        )


def _values(facts: Mapping[str, Fact], cost_center: str | None) -> dict[str, Any]:
    """What a request's placeholders are filled with; the summary and subject, which every event
    has, stand in as present ("-") until ``render`` puts the real ones in."""
    return {
        **{name: fact_text(value) for name, value in facts.items()},
        "summary": "-",
        "subject": "-",
        "cost_center": cost_center or "",
        "order_quantity": order_quantity(facts),
    }


def order_quantity(facts: Mapping[str, object]) -> str:
    """Enough to bring available stock back to twice the reorder point (a simple order-up-to rule)."""
    try:
        available = Decimal(str(facts["available"]))
        reorder_point = Decimal(str(facts["reorder_point"]))
    except (KeyError, InvalidOperation):
        return ""
    needed = reorder_point * 2 - available
    return str(max(1, math.ceil(needed))) if needed > 0 else ""


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_event_routes(path: Path | None, directory: Directory) -> dict[str, EventRoute]:
    origin = str(path) if path is not None else "the demo events file"
    if path is None:
        text = resources.files("agent.config").joinpath("events.toml").read_text(encoding="utf-8")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EventConfigError(f"cannot read events file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EventConfigError(f"{origin} is not valid TOML: {exc}") from None
    routes: dict[str, EventRoute] = {}
    for kind, entry in data.get("events", {}).items():
        owner = str(entry.get("owner", ""))
        if owner not in directory.ids():
            raise EventConfigError(f"{origin}: events.{kind}.owner {owner!r} is not a configured user")
        request = str(entry.get("request", "")).strip()
        if not request:
            raise EventConfigError(f"{origin}: events.{kind} has no request")
        try:
            fields = _fields(request)
        except ValueError as exc:
            raise EventConfigError(f"{origin}: events.{kind}.request: {exc}") from None
        bad = sorted(f for f in fields if not f.isidentifier())
        if bad:
            raise EventConfigError(f"{origin}: events.{kind}.request has unusable placeholders {bad}")
        if kind in FACT_TYPES:
            known = _STANDARD_FIELDS | set(FACT_TYPES[kind])
            unknown = sorted(fields - known)
            if unknown:
                raise EventConfigError(
                    f"{origin}: events.{kind}.request names {', '.join(unknown)}, which a {kind} event"
                    f" does not carry; use {', '.join(sorted(known))}"
                )
        expects = entry.get("expects")
        if expects not in (None, "proposal"):
            raise EventConfigError(f'{origin}: events.{kind}.expects must be "proposal" or left out')
        routes[kind] = EventRoute(kind, owner, request, bool(entry.get("enabled", True)), expects)
    return routes
