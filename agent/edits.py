"""Approver edits: ``field=value`` changes applied to a proposal's payload before it commits.

Paths are dotted (``lines.0.quantity``); a bare line field (``quantity``) is accepted when the
proposal has exactly one line. ``action`` and ``based_on`` cannot be edited.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from erp_acl.commands import Command, parse_command
from erp_acl.errors import one_line

PROTECTED = frozenset({"action", "based_on"})


class EditError(ValueError):
    """An edit names a field the proposal does not have, or cannot be parsed."""


def parse_edit_pairs(pairs: list[str]) -> dict[str, str]:
    """``["quantity=50", "memo=urgent"]`` → ``{"quantity": "50", "memo": "urgent"}``."""
    edits: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise EditError(f"edit {pair!r} is not of the form field=value")
        edits[key.strip()] = value.strip()
    return edits


def _editable_paths(payload: dict[str, Any]) -> list[str]:
    paths = []
    for key, value in payload.items():
        if key in PROTECTED:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                paths += [f"{key}.{index}.{sub}" for sub in (item if isinstance(item, dict) else {})]
        else:
            paths.append(key)
    return paths


def apply_edits(payload: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A new payload with the edits applied; raises EditError naming what can be edited."""
    result = copy.deepcopy(payload)
    for path, value in edits.items():
        parts = path.split(".")
        if parts[0] in PROTECTED:
            raise EditError(f"{parts[0]} cannot be edited")
        if len(parts) == 1 and parts[0] not in result:
            lines = result.get("lines")
            if isinstance(lines, list) and len(lines) == 1 and parts[0] in lines[0]:
                parts = ["lines", "0", parts[0]]
        target: Any = result
        try:
            for part in parts[:-1]:
                target = target[int(part)] if isinstance(target, list) else target[part]
            leaf = parts[-1]
            if isinstance(target, list) or leaf not in target:
                raise KeyError(leaf)
        except (KeyError, IndexError, ValueError, TypeError):
            raise EditError(
                f"this proposal has no field {path!r}; editable: {', '.join(_editable_paths(payload))}"
            ) from None
        target[leaf] = value
    return result


def edited_command(payload: dict[str, Any], edits: dict[str, Any]) -> Command:
    """The proposal's command with the edits applied; a value the command cannot take (not a
    number, too many decimals, too large) raises EditError in one line naming the field."""
    try:
        return parse_command(apply_edits(payload, edits))
    except ValidationError as exc:
        # skip=1: the first location part is the command's action tag, not a field.
        raise EditError(one_line(exc, "this edit cannot be applied", skip=1)) from None
