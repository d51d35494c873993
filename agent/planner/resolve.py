"""Resolve what the user named into ERP codes by calling read tools, one step at a time.

The planner is stateless: each call it re-walks the plan and asks ``Run.read`` for every result it
needs. A result already present in the turn's observations is returned; a missing one is queued as
a tool call and the plan stops there ("waiting"). Independent reads are therefore emitted together
(supplier and product searches in one message), dependent ones in later steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.planner import replies as rp
from agent.planner.conversation import Observation
from agent.planner.frames import Candidate as PendingCandidate
from agent.planner.frames import EntityRef
from agent.planner.matching import Candidate, choose, search_variants
from agent.planner.text import fold

UNSUPPORTED = "Unsupported"
"""The error type of a read the ERP has no home for (``erp_acl.errors.Unsupported``)."""


@dataclass(frozen=True)
class ToolCallSpec:
    name: str
    args: dict[str, Any]


def call_key(name: str, args: dict[str, Any]) -> str:
    clean = {k: v for k, v in args.items() if v is not None}
    return name + ":" + json.dumps(clean, sort_keys=True, default=str)


@dataclass
class Run:
    """The reads of one turn, and the calls still needed."""

    observations: Sequence[Observation]
    bound: frozenset[str]
    calls: list[ToolCallSpec] = field(default_factory=list)
    missing_tools: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._done = {call_key(o.name, o.args): o for o in self.observations if o.done}

    def read(self, name: str, args: dict[str, Any]) -> Observation | None:
        """The result of this read if the turn has it; otherwise queue the call and return None."""
        found = self._done.get(call_key(name, args))
        if found is not None:
            return found
        if name not in self.bound:
            if name not in self.missing_tools:
                self.missing_tools.append(name)
            return None
        spec = ToolCallSpec(name, {k: v for k, v in args.items() if v is not None})
        if all(call_key(c.name, c.args) != call_key(spec.name, spec.args) for c in self.calls):
            self.calls.append(spec)
        return None

    def outcome_of(self, tool: str) -> Observation | None:
        """The last finished call of a (propose) tool in this turn."""
        for obs in reversed(self.observations):
            if obs.name == tool and obs.done:
                return obs
        return None


@dataclass(frozen=True)
class Found:
    code: str
    record: dict[str, Any]
    note: str = ""


@dataclass(frozen=True)
class Unclear:
    """A question for the user: nothing matched, several did, or a lookup failed."""

    question: str
    candidates: tuple[PendingCandidate, ...] = ()


Resolution = Found | Unclear | None  # None: waiting for a tool result


@dataclass(frozen=True)
class Kind:
    noun: str
    search: str
    get: str | None
    get_arg: str
    label: Callable[[dict[str, Any]], str]
    texts: Callable[[dict[str, Any]], tuple[str, ...]]
    preferred: Callable[[dict[str, Any]], bool] = lambda r: True
    group: Callable[[dict[str, Any]], str] = lambda r: ""


def _account_preferred(r: dict[str, Any]) -> bool:
    return bool(r.get("postable")) and not r.get("blocked") and "closed" not in fold(rp.s(r, "name"))


KINDS: dict[str, Kind] = {
    "customer": Kind(
        "customer",
        "search_customers",
        "get_customer",
        "customer_code",
        rp.customer_label,
        lambda r: (rp.s(r, "name"), rp.s(r, "short_name"), rp.s(r, "tax_id")),
    ),
    "supplier": Kind(
        "supplier",
        "search_suppliers",
        "get_supplier",
        "supplier_code",
        rp.supplier_label,
        lambda r: (rp.s(r, "name"), rp.s(r, "short_name"), rp.s(r, "tax_id")),
    ),
    "product": Kind(
        "product",
        "search_products",
        "get_product",
        "product_code",
        rp.product_label,
        lambda r: (rp.s(r, "description"),),
    ),
    "account": Kind(
        "account",
        "search_accounts",
        None,
        "account_code",
        rp.account_label,
        lambda r: (rp.s(r, "name"),),
        preferred=_account_preferred,
        group=lambda r: rp.s(r, "code").rsplit(".", 1)[0],
    ),
}


def _rows(data: Any) -> list[dict[str, Any]]:
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def pending_candidates(kind: Kind, rows: list[dict[str, Any]]) -> tuple[PendingCandidate, ...]:
    return tuple(PendingCandidate(code=rp.s(r, "code"), label=kind.label(r)) for r in rows)


def ask_which(kind: Kind, text: str, rows: list[dict[str, Any]]) -> Unclear:
    lines = "\n".join(
        f"{i}. {kind.label(r)}{' (blocked)' if r.get('blocked') else ''}" for i, r in enumerate(rows, 1)
    )
    return Unclear(
        f"Several {kind.noun}s match \u201c{text}\u201d. Which one do you mean?\n{lines}",
        pending_candidates(kind, rows),
    )


def search_rows(run: Run, kind: Kind, text: str) -> list[dict[str, Any]] | Unclear | None:
    """Search results for ``text`` (trying looser queries when a search finds nothing)."""
    for query in search_variants(text):
        obs = run.read(kind.search, {"query": query})
        if obs is None:
            return None
        if not obs.ok:
            return Unclear(f"I could not search {kind.noun}s: {obs.error}")
        rows = _rows(obs.data)
        if rows:
            return rows
    return []


def resolve(run: Run, kind_name: str, ref: EntityRef, *, detail: bool = False) -> Resolution:
    """The record ``ref`` means: by code (get), else by search and a clear best match."""
    kind = KINDS[kind_name]
    if ref.code:
        return _by_code(run, kind, ref.code, detail=True)
    if not ref.text.strip():
        return Unclear(f"Which {kind.noun} do you mean?")
    rows = search_rows(run, kind, ref.text)
    if rows is None or isinstance(rows, Unclear):
        return rows
    if not rows:
        return Unclear(
            f"I couldn't find any {kind.noun} matching \u201c{ref.text}\u201d. Which {kind.noun} do you mean?"
        )
    candidates = [
        Candidate(
            rp.s(r, "code"),
            kind.label(r),
            kind.texts(r),
            bool(r.get("blocked")),
            kind.preferred(r),
            kind.group(r),
        )
        for r in rows
    ]
    choice = choose(ref.text, candidates)
    if choice.best is None:
        return ask_which(kind, ref.text, [rows[i] for i in choice.ties])
    record = rows[choice.best]
    note = ""
    if choice.ties:
        others = ", ".join(kind.label(rows[i]) for i in choice.ties if i != choice.best)
        note = f"I took {kind.label(record)} for \u201c{ref.text}\u201d (other matches: {others})."
    code = rp.s(record, "code")
    if detail and kind.get:
        full = _by_code(run, kind, code, detail=True)
        if isinstance(full, Found):
            return Found(full.code, full.record, note)
        return full
    return Found(code, record, note)


def _by_code(run: Run, kind: Kind, code: str, *, detail: bool) -> Resolution:
    if kind.get is None:
        obs = run.read(kind.search, {"query": code})
        if obs is None:
            return None
        exact = [r for r in _rows(obs.data) if fold(rp.s(r, "code")) == fold(code)] if obs.ok else []
        if not exact:
            return Unclear(f"I couldn't find {kind.noun} {code}. Which {kind.noun} do you mean?")
        return Found(rp.s(exact[0], "code"), exact[0])
    obs = run.read(kind.get, {kind.get_arg: code})
    if obs is None:
        return None
    if not obs.ok or not isinstance(obs.data, dict):
        return Unclear(
            f"I couldn't find {kind.noun} {code} ({obs.error or 'no such record'}). Which {kind.noun} do you mean?"
        )
    return Found(rp.s(obs.data, "code") or code, obs.data)


def resolve_cost_center(run: Run, ref: EntityRef, *, year: int | None = None) -> Resolution:
    """A cost center by code (check_budget) or by name (all budgets, matched on description).

    An ERP that keeps no budgets (the read is ``Unsupported``) cannot check a code: it is taken as
    given, with an empty record and the ERP's answer as the note; a name cannot be resolved there."""
    if ref.code:
        obs = run.read("check_budget", {"cost_center": ref.code, "year": year})
        if obs is None:
            return None
        if obs.error_type == UNSUPPORTED:
            return Found(ref.code, {}, obs.error)
        if not obs.ok or not isinstance(obs.data, dict):
            return Unclear(
                f"I couldn't find cost center {ref.code} ({obs.error or 'no budget'}). Which cost center should I use?"
            )
        return Found(rp.s(obs.data, "cost_center") or ref.code, obs.data)
    obs = run.read("check_budget", {"year": year})
    if obs is None:
        return None
    if obs.error_type == UNSUPPORTED:
        return Unclear(
            f"I can't look cost centers up by name here ({obs.error}). Which cost center code should I use?"
        )
    rows = _rows(obs.data) if obs.ok else []
    candidates = [
        Candidate(rp.s(r, "cost_center"), rp.budget_label(r), (rp.s(r, "description"),)) for r in rows
    ]
    choice = choose(ref.text, candidates, trust_single=False, lenient=True)
    if choice.best is None:
        if choice.ties and len(choice.ties) < len(rows):
            tied = [rows[i] for i in choice.ties]
            return Unclear(
                f"Several cost centers match \u201c{ref.text}\u201d. Which one?\n"
                + "\n".join(f"{i}. {rp.budget_label(r)}" for i, r in enumerate(tied, 1)),
                tuple(PendingCandidate(code=rp.s(r, "cost_center"), label=rp.budget_label(r)) for r in tied),
            )
        names = ", ".join(rp.budget_label(r) for r in rows[:12])
        return Unclear(
            f"I couldn't find a cost center called \u201c{ref.text}\u201d. Which one should I use? ({names})"
        )
    record = rows[choice.best]
    return Found(rp.s(record, "cost_center"), record)
