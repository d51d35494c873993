"""Approver edits: ``field=value`` changes applied to a proposal's payload before it commits.

An edit may change how much, never who or what. Each command declares which of its fields are
*identity* (the counterparty, product, GL account, cost center or document it is about) and which
are *adjustable* (quantities, amounts, prices, dates, memo text) — see ``erp_acl.commands``. Only
adjustable fields can be edited; an identity field is refused with what to do instead (reject
with a reason, so the requester proposes again), because an approver who picks the supplier and
then approves the order has approved their own choice.

Paths are dotted (``lines.0.quantity``); a bare line field (``quantity``) is accepted when the
proposal has exactly one line. ``beyond_tolerance`` says which adjustable figures moved further
than the policy allows from the proposal as first filed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from agent.approvals import Proposal
from erp_acl.commands import COMMAND_TYPES, Command, CommandBase, parse_command
from erp_acl.errors import one_line
from erp_acl.plain_text import plain_text_problem

PROTECTED = CommandBase.SYSTEM_FIELDS


class EditError(ValueError):
    """An edit names a field the proposal does not have, or cannot be parsed."""


class IdentityEdit(EditError):
    """An edit tries to change who or what a proposal is about."""


def parse_edit_pairs(pairs: list[str]) -> dict[str, str]:
    """``["quantity=50", "memo=urgent"]`` → ``{"quantity": "50", "memo": "urgent"}``."""
    edits: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise EditError(f"edit {pair!r} is not of the form field=value")
        edits[key.strip()] = value.strip()
    return edits


def command_type(payload: dict[str, Any]) -> type[CommandBase]:
    action = payload.get("action")
    kind = COMMAND_TYPES.get(action) if isinstance(action, str) else None
    if kind is None:
        raise EditError(f"this proposal's action {action!r} cannot be edited")
    return kind


def _leaf_paths(payload: dict[str, Any]) -> list[str]:
    paths = []
    for key, value in payload.items():
        if isinstance(value, list):
            for index, item in enumerate(value):
                paths += [f"{key}.{index}.{sub}" for sub in (item if isinstance(item, dict) else {})]
        else:
            paths.append(key)
    return paths


def editable_paths(payload: dict[str, Any]) -> list[str]:
    """The adjustable fields of this payload, in its order: the only ones an edit may name."""
    kind = command_type(payload)
    return [path for path in _leaf_paths(payload) if kind.field_role(path) == "adjustable"]


def _resolve(payload: dict[str, Any], path: str) -> str:
    """A bare line field of a one-line proposal stands for that line's field."""
    if "." not in path and path not in payload:
        lines = payload.get("lines")
        if isinstance(lines, list) and len(lines) == 1 and isinstance(lines[0], dict) and path in lines[0]:
            return f"lines.0.{path}"
    return path


def apply_edits(payload: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A new payload with the edits applied; raises EditError (one line, saying what to do)."""
    kind = command_type(payload)
    result = copy.deepcopy(payload)
    for given, value in edits.items():
        path = _resolve(payload, given)
        parts = path.split(".")
        role = kind.field_role(path)
        if role == "system":
            raise EditError(f"{parts[0]} cannot be edited")
        if role == "identity":
            raise IdentityEdit(
                f"{given} says who or what this proposal is about, so it cannot be edited; reject it "
                "with a reason and ask the requester to propose it again"
            )
        target: Any = result
        try:
            if role != "adjustable":
                raise KeyError(path)
            for part in parts[:-1]:
                target = target[int(part)] if isinstance(target, list) else target[part]
            leaf = parts[-1]
            if isinstance(target, list) or leaf not in target:
                raise KeyError(leaf)
        except (KeyError, IndexError, ValueError, TypeError):
            raise EditError(
                f"this proposal has no field {given!r} you may edit; editable: "
                f"{', '.join(editable_paths(payload)) or 'none'}"
            ) from None
        target[leaf] = value
    return result


def _figures(model: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Every leaf value of a command by dotted path, typed (Decimals stay Decimals)."""
    found: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found.update(_figures(item, f"{prefix}{name}.{index}."))
        else:
            found[f"{prefix}{name}"] = value
    return found


def beyond_tolerance(original: dict[str, Any], edited: dict[str, Any], tolerance: Decimal) -> list[str]:
    """The adjustable figures of ``edited`` that moved more than ``tolerance`` (relative) from
    ``original``, the payload as first proposed.

    Measured field by field as well as on the total: moving quantity from one line to another can
    keep an order's total and still buy something else. From zero, any change is beyond it.
    """
    before, after = parse_command(original), parse_command(edited)
    kind = type(after)
    old, new = _figures(before), _figures(after)
    moved = []
    for path, value in new.items():
        was = old.get(path)
        if kind.field_role(path) != "adjustable" or not isinstance(value, Decimal):
            continue
        if not isinstance(was, Decimal) or value == was:
            continue  # a price left to the product's standard is measured on the total instead
        if was == 0 or abs(value - was) / abs(was) > tolerance:
            moved.append(path)
    return moved


@dataclass(frozen=True)
class Revised:
    """An approver's edit, checked: the decision it makes and what the proposal becomes."""

    kind: Literal["edit", "revise"]  # revise: beyond tolerance, so it needs approving afresh
    payload: dict[str, Any]
    fingerprint: str
    gate: dict[str, Any]
    summary: str


def proposed_terms(proposal: Proposal) -> dict[str, Any]:
    """The payload and amount as first proposed, which every edit is measured against.

    The first edit stores them in the gate (``proposed``) and each later one carries them on;
    before any edit the payload and the gate's amount as they stand are the ones proposed.
    """
    proposed = proposal.gate.get("proposed")
    if isinstance(proposed, dict) and isinstance(proposed.get("payload"), dict) and "amount" in proposed:
        return {"amount": str(proposed["amount"]), "payload": proposed["payload"]}
    return {"amount": str(proposal.gate["amount"]), "payload": proposal.payload}


def summary_after_edit(proposal: Proposal, edited: CommandBase) -> str:
    """The proposal's one-line summary for the edited command: the summary is always read from
    the payload as it stands. A prefix the filer added (a compensation's) is kept."""
    before = parse_command(proposal.payload).summary()
    prefix = proposal.summary[: -len(before)] if proposal.summary.endswith(before) else ""
    return prefix + edited.summary()


def edited_command(payload: dict[str, Any], edits: dict[str, Any]) -> Command:
    """The proposal's command with the edits applied; a value the command cannot take (a control
    character, not a number, too many decimals, too large) raises EditError in one line naming the
    field."""
    for path, value in edits.items():
        # An edited value is typed by a person like a tool's argument: plain one-line text only.
        problem = plain_text_problem(value) if isinstance(value, str) else None
        if problem is not None:
            raise EditError(f"this edit cannot be applied: {path} {problem}")
    try:
        return parse_command(apply_edits(payload, edits))
    except ValidationError as exc:
        # skip=1: the first location part is the command's action tag, not a field.
        raise EditError(one_line(exc, "this edit cannot be applied", skip=1)) from None


@dataclass(frozen=True)
class Amendment:
    """One figure an approver changed: what the agent proposed and what stands now."""

    path: str
    label: str
    proposed: Any
    now: Any

    @property
    def was(self) -> str:
        return _shown(self.proposed, self.path)

    @property
    def is_now(self) -> str:
        return _shown(self.now, self.path)

    def __str__(self) -> str:
        return f"{self.label} from {self.was} to {self.is_now}"


def _shown(value: Any, path: str) -> str:
    """A figure as people read it: money with cents (70,000.00), a quantity as counted (400)."""
    if isinstance(value, Decimal):
        return f"{value:,}" if path.endswith("quantity") else f"{value:,.2f}"
    return "—" if value in (None, "") else str(value)


def _path_label(path: str) -> str:
    parts = path.split(".")
    if len(parts) == 3 and parts[1].isdigit():
        return f"line {int(parts[1]) + 1} {parts[2].replace('_', ' ')}"
    return path.replace("_", " ")


def amendments(proposal: Proposal) -> list[Amendment]:
    """What approvers changed since the agent proposed it (empty when nobody edited it): every
    adjustable field whose value now differs from the payload as first filed."""
    proposed = proposal.gate.get("proposed")
    if not isinstance(proposed, dict) or not isinstance(proposed.get("payload"), dict):
        return []
    try:
        before, after = parse_command(proposed["payload"]), parse_command(proposal.payload)
    except ValueError:  # a payload of an older command shape: say nothing rather than guess
        return []
    kind = type(after)
    old, new = _figures(before), _figures(after)
    return [
        Amendment(path, _path_label(path), old.get(path), value)
        for path, value in new.items()
        if kind.field_role(path) == "adjustable" and old.get(path) != value
    ]


def amended_by(proposal: Proposal) -> list[str]:
    """Who edited the proposal, in order, each once."""
    actors: list[str] = []
    for decision in proposal.approvals:
        if decision.decision in ("edit", "revise") and decision.actor not in actors:
            actors.append(decision.actor)
    return actors


def describe_amendments(proposal: Proposal) -> str | None:
    """For the requester: who changed what since the agent proposed it; None if nobody did."""
    changed = amendments(proposal)
    if not changed:
        return None
    who = " and ".join(amended_by(proposal)) or "an approver"
    return f"{who} changed {', '.join(str(a) for a in changed)}"
