"""Read models for interfaces: the approvals inbox, the edit form of a proposal, evidence checked
against the ERP as it is now, and the overview's figures.

Plain data built from the approvals store, the policy and the thread's messages; the service
exposes them (``AgentService.inbox`` and friends) so that a page never touches SQL or the graph.
"""

from __future__ import annotations

import json
import statistics
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from pydantic import BaseModel

from agent.approvals import Proposal
from agent.policy import Gate
from erp_acl.commands import CommandBase, parse_command

InboxSort = Literal["oldest", "newest", "amount_high", "amount_low"]
INBOX_SORTS: tuple[InboxSort, ...] = typing.get_args(InboxSort)
FieldKind = Literal["text", "decimal", "date"]


@dataclass(frozen=True)
class InboxFilter:
    """What an approver narrows the inbox to. Empty fields do not filter."""

    actions: tuple[str, ...] = ()
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_age: timedelta | None = None
    requester: str | None = None
    sort: InboxSort = "oldest"
    include_blocked: bool = False  # also list proposals this person may not decide, saying why

    def __post_init__(self) -> None:
        if self.sort not in INBOX_SORTS:
            raise ValueError(f"unknown sort {self.sort!r}; one of {', '.join(INBOX_SORTS)}")
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            raise ValueError("the minimum amount is above the maximum")


@dataclass(frozen=True)
class InboxItem:
    """One pending proposal as an approver sees it in a list."""

    proposal: Proposal
    amount: Decimal
    age: timedelta
    requirement: str
    approvals_required: int
    approved_by: tuple[str, ...]
    attention: str | None
    blocked: str | None  # why this person cannot decide it; None when they can


@dataclass(frozen=True)
class InboxPage:
    """The first ``limit`` items of an inbox, and how many the whole inbox holds."""

    items: list[InboxItem]
    total: int
    blocked: int  # of ``total``, how many this person cannot decide


def inbox_items(
    pending: Iterable[Proposal],
    wanted: InboxFilter,
    *,
    now: datetime,
    blocked_reason: typing.Callable[[Proposal, Gate], str | None],
    attention: typing.Callable[[Proposal, Gate], str | None],
) -> list[InboxItem]:
    """The pending proposals ``wanted`` keeps, sorted; each one's gate is parsed once and handed
    to the callbacks."""
    items = []
    for proposal in pending:
        gate = Gate.from_json(proposal.gate)
        amount = gate.amount
        age = now - proposal.created_at
        if wanted.actions and proposal.action not in wanted.actions:
            continue
        if wanted.min_amount is not None and amount < wanted.min_amount:
            continue
        if wanted.max_amount is not None and amount > wanted.max_amount:
            continue
        if wanted.min_age is not None and age < wanted.min_age:
            continue
        if wanted.requester and wanted.requester not in (proposal.requester, proposal.on_behalf_of):
            continue
        blocked = blocked_reason(proposal, gate)
        if blocked is not None and not wanted.include_blocked:
            continue
        items.append(
            InboxItem(
                proposal=proposal,
                amount=amount,
                age=age,
                requirement=gate.requirement(),
                approvals_required=gate.approvals_required,
                approved_by=tuple(d.actor for d in proposal.current_approvals()),
                attention=attention(proposal, gate),
                blocked=blocked,
            )
        )
    order: dict[InboxSort, tuple[typing.Callable[[InboxItem], Any], bool]] = {
        "oldest": (lambda i: i.proposal.created_at, False),
        "newest": (lambda i: i.proposal.created_at, True),
        "amount_high": (lambda i: i.amount, True),
        "amount_low": (lambda i: i.amount, False),
    }
    key, reverse = order[wanted.sort]
    return sorted(items, key=key, reverse=reverse)


# ---- the edit form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EditableField:
    """One field an approver may change, addressed the way ``decide(..., edits=)`` expects."""

    path: str  # e.g. "memo" or "lines.0.quantity"
    label: str
    kind: FieldKind
    value: str


def _types(annotation: Any) -> set[Any]:
    """The annotation and every type inside it (Optional, unions, Annotated)."""
    found = {annotation}
    for inner in typing.get_args(annotation):
        found |= _types(inner)
    return found


def _kind(annotation: Any) -> FieldKind:
    types = _types(annotation)
    if date in types:
        return "date"
    return "decimal" if Decimal in types else "text"


# Free-text fields of a command are written to the ERP with it: their labels say so, so they are
# never mistaken for the approver's own note on the decision (which the requester reads).
_WRITTEN_TEXT = {"reason", "memo", "description"}


def _label(path: str) -> str:
    parts = path.split(".")
    if len(parts) == 3:
        return f"Line {int(parts[1]) + 1}: {parts[2].replace('_', ' ')}"
    label = parts[0].replace("_", " ").capitalize()
    return f"{label} written to the ERP" if parts[0] in _WRITTEN_TEXT else label


def _fields_of(
    command: type[CommandBase], model: type[BaseModel], data: Mapping[str, Any], prefix: str
) -> list[EditableField]:
    fields: list[EditableField] = []
    for name, info in model.model_fields.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, list):
            item_model = next(
                (
                    a
                    for a in typing.get_args(info.annotation)
                    if isinstance(a, type) and issubclass(a, BaseModel)
                ),
                None,
            )
            if item_model is not None:
                for index, item in enumerate(value):
                    fields += _fields_of(command, item_model, item, f"{prefix}{name}.{index}.")
            continue
        path = f"{prefix}{name}"
        if command.field_role(path) != "adjustable":
            continue  # who or what it is about is never offered for editing (nor the system's fields)
        fields.append(
            EditableField(path, _label(path), _kind(info.annotation), "" if value is None else str(value))
        )
    return fields


def editable_fields(payload: dict[str, Any]) -> list[EditableField]:
    """The fields of a proposal's command an approver may change (its adjustable ones: how much,
    when, why), with their current values."""
    command = type(parse_command(payload))
    return _fields_of(command, command, payload, "")


def changed_fields(fields: Sequence[EditableField], submitted: Mapping[str, str]) -> dict[str, str]:
    """Only the fields whose submitted value differs from the current one (trimmed)."""
    edits = {}
    for f in fields:
        value = submitted.get(f.path)
        if value is not None and value.strip() != f.value:
            edits[f.path] = value.strip()
    return edits


# ---- evidence, then and now -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    path: str
    then: Any
    now: Any


@dataclass(frozen=True)
class EvidenceCheck:
    """One ERP read a proposal relied on, read again now."""

    tool: str
    args: dict[str, Any]
    digest: str
    unchanged: bool | None  # None when it could not be read again
    then: Any | None  # what the agent was shown (from the conversation), when still there
    now: Any | None
    changes: list[FieldChange] = field(default_factory=list)
    error: str | None = None


def shown_results(messages: Sequence[AnyMessage]) -> list[tuple[str, dict[str, Any], Any]]:
    """(tool, args, result) for every successful read in a conversation, as the model saw it."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    shown: list[tuple[str, dict[str, Any], Any]] = []
    for message in messages:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call.get("id"):
                    calls[str(call["id"])] = (call["name"], dict(call["args"]))
        elif isinstance(message, ToolMessage) and message.status != "error":
            call_found = calls.get(message.tool_call_id)
            if call_found is None or not isinstance(message.content, str):
                continue
            try:
                envelope = json.loads(message.content)
            except ValueError:
                continue
            if isinstance(envelope, dict) and "result" in envelope:
                shown.append((call_found[0], call_found[1], envelope["result"]))
    return shown


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values of a JSON document by path (``levels[0].available``); a bare value is "value"."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat |= flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, item in enumerate(value):
            flat |= flatten(item, f"{prefix}[{index}]")
        return flat
    return {prefix or "value": value}


def field_changes(then: Any, now: Any) -> list[FieldChange]:
    """Leaf values that differ between two JSON documents, by path."""
    before, after = flatten(then), flatten(now)
    return [
        FieldChange(path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


# ---- overview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRate:
    action: str
    approved: int
    rejected: int
    expired: int
    failed: int

    @property
    def decided(self) -> int:
        return self.approved + self.rejected + self.expired

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.decided if self.decided else None


@dataclass(frozen=True)
class Overview:
    pending: int
    overdue: int
    median_time_to_decision: timedelta | None
    decided: int
    rates: list[ActionRate]
    decisions_per_day: dict[date, int]


APPROVED_STATUSES = frozenset({"approved", "committing", "committed", "failed"})


def overview_of(proposals: Iterable[Proposal], *, overdue: int) -> Overview:
    """Figures for the overview page from every proposal."""
    pending = 0
    waits: list[float] = []
    per_action: dict[str, dict[str, int]] = {}
    per_day: dict[date, int] = {}
    for p in proposals:
        if p.status == "pending":
            pending += 1
            continue
        counts = per_action.setdefault(p.action, {"approved": 0, "rejected": 0, "expired": 0, "failed": 0})
        if p.status in APPROVED_STATUSES:
            counts["approved"] += 1
            if p.status == "failed":
                counts["failed"] += 1
        elif p.status in ("rejected", "expired"):
            counts[p.status] += 1
        deciding = _deciding_moment(p)
        if deciding is not None:
            waits.append((deciding - p.created_at).total_seconds())
            per_day[deciding.date()] = per_day.get(deciding.date(), 0) + 1
    rates = [ActionRate(action, **counts) for action, counts in sorted(per_action.items())]
    median = timedelta(seconds=statistics.median(waits)) if waits else None
    return Overview(pending, overdue, median, len(waits), rates, dict(sorted(per_day.items())))


def _deciding_moment(proposal: Proposal) -> datetime | None:
    """When a person's decision settled the proposal (the last decision), or None (automatic, expired)."""
    people = [d for d in proposal.approvals if d.decision in ("approve", "edit", "reject")]
    return people[-1].at if people else None
