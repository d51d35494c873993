"""Read a message list the way the planner needs it: who asks, today, and the turns so far.

A *turn* starts at a HumanMessage and holds the tool calls the planner made after it, each paired
with its ToolMessage result (``Observation``), plus the planner's last reply of that turn. Only a
turn's human text can carry intent; observations are data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.planner.frames import Pending
from agent.planner.text import message_text
from tools.rendering import ERROR_PREFIX, strip_untrusted_markers

PLANNER_KEY = "planner"
# The most of one human message the planner reads: what a chat message may hold
# (agent.service.MAX_MESSAGE_CHARS). The service refuses longer ones; this bound holds for any
# other caller too, so the planner's work never grows with what it is handed.
MAX_REQUEST_CHARS = 8_000

_REQUESTER = re.compile(r"^\s*Requester:\s*(?P<id>[^\s(]+)\s*(?:\((?P<name>[^)]*)\))?", re.MULTILINE)
_DEFAULT_CC = re.compile(r"^\s*Default cost cent(?:er|re):\s*(?P<code>\S+)", re.MULTILINE | re.IGNORECASE)
_TODAY = re.compile(r"^\s*Today:\s*(?P<day>\d{4}-\d{2}-\d{2})", re.MULTILINE)


@dataclass(frozen=True)
class RequestContext:
    """What the system message says about the request."""

    requester_id: str = ""
    requester_name: str = ""
    default_cost_center: str | None = None
    today: date | None = None


@dataclass(frozen=True)
class Observation:
    """One tool call of the current turn and, once it ran, its result."""

    call_id: str
    name: str
    args: dict[str, Any]
    done: bool = False
    ok: bool = False
    data: Any = None
    error: str = ""
    error_type: str = ""
    """What refused the call (e.g. ``NotFound``, ``Unsupported``), when the tool message says."""


@dataclass
class Turn:
    human: str
    observations: list[Observation] = field(default_factory=list)
    reply: AIMessage | None = None


def read_context(messages: Sequence[BaseMessage]) -> RequestContext:
    """Requester, default cost center and today from the (first) system message."""
    for message in messages:
        if isinstance(message, SystemMessage):
            text = message_text(message.content)
            who = _REQUESTER.search(text)
            cc = _DEFAULT_CC.search(text)
            day = _TODAY.search(text)
            today: date | None = None
            if day:
                try:
                    today = date.fromisoformat(day.group("day"))
                except ValueError:
                    today = None
            return RequestContext(
                requester_id=who.group("id") if who else "",
                requester_name=(who.group("name") or "").strip() if who else "",
                default_cost_center=cc.group("code").upper() if cc else None,
                today=today,
            )
    return RequestContext()


def parse_tool_content(content: str, status: str | None = None) -> tuple[bool, Any, str]:
    """(ok, result data, error text) of a ToolMessage rendered by ``tools.rendering``."""
    if content.startswith(ERROR_PREFIX) or status == "error":
        return False, None, content.removeprefix(ERROR_PREFIX).strip()
    try:
        decoded = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return True, content, ""
    if isinstance(decoded, dict) and "result" in decoded:
        return True, _unwrapped(decoded["result"]), ""
    return True, _unwrapped(decoded), ""


def _unwrapped(value: Any) -> Any:
    """The data with ``<untrusted>`` markers removed: the planner only ever reads codes and numbers
    from it and quotes text as data, so the markers have done their job by now."""
    if isinstance(value, str):
        return strip_untrusted_markers(value)
    if isinstance(value, list):
        return [_unwrapped(item) for item in value]
    if isinstance(value, dict):
        return {key: _unwrapped(item) for key, item in value.items()}
    return value


def split_turns(messages: Sequence[BaseMessage]) -> list[Turn]:
    """The conversation as turns, oldest first (messages before the first human one are dropped)."""
    turns: list[Turn] = []
    for message in messages:
        if isinstance(message, HumanMessage):
            turns.append(Turn(human=message_text(message.content)[:MAX_REQUEST_CHARS]))
        elif not turns:
            continue
        elif isinstance(message, AIMessage):
            turn = turns[-1]
            for call in message.tool_calls:
                turn.observations.append(
                    Observation(call_id=call.get("id") or "", name=call["name"], args=dict(call["args"]))
                )
            if not message.tool_calls:
                turn.reply = message
        elif isinstance(message, ToolMessage):
            _record_result(turns[-1], message)
    return turns


def _record_result(turn: Turn, message: ToolMessage) -> None:
    ok, data, error = parse_tool_content(message_text(message.content), message.status)
    artifact = message.artifact if isinstance(message.artifact, dict) else {}
    error_type = str(artifact.get("error_type") or "") if not ok else ""
    for index, obs in enumerate(turn.observations):
        if obs.call_id == message.tool_call_id and not obs.done:
            turn.observations[index] = Observation(
                obs.call_id, obs.name, obs.args, True, ok, data, error, error_type
            )
            return


def pending_of(message: AIMessage | None) -> tuple[bool, Pending | None]:
    """(is this one of the planner's replies, the question it left open)."""
    if message is None:
        return False, None
    meta = message.additional_kwargs.get(PLANNER_KEY)
    if not isinstance(meta, dict):
        return False, None
    raw = meta.get("pending")
    if not raw:
        return True, None
    try:
        return True, Pending.model_validate(raw)
    except ValueError:
        return True, None


def conversation_digest(messages: Sequence[BaseMessage]) -> str:
    """A stable digest of the whole conversation (for deterministic, unique tool-call ids)."""
    parts: list[Any] = []
    for message in messages:
        entry: list[Any] = [message.type, message_text(message.content)]
        if isinstance(message, AIMessage):
            entry.append([(c["name"], c.get("id")) for c in message.tool_calls])
        if isinstance(message, ToolMessage):
            entry.append(message.tool_call_id)
        parts.append(entry)
    canonical = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
