"""What the gateway records when it refuses a call: missing or bad tokens, ungranted tools,
unknown tools, rate limits.

Each refusal is one record in the audit trail (``tools.audit``), so it is hash-chained with
everything else; ``recent`` reads them back for people and tests. ``InMemorySecurityLog`` serves
unit tests of the gateway.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from tools.audit import AuditEvent, AuditTrail, EventType
from tools.observability import correlation

# Refusal kinds that are not audit event types of their own are recorded under access_denied.
_TYPE_OF_KIND: dict[str, EventType] = {
    "token_refused": "token_refused",
    "access_denied": "access_denied",
    "rate_limited": "rate_limited",
    "unknown_tool": "access_denied",
}
REFUSAL_TYPES: tuple[EventType, ...] = ("token_refused", "access_denied", "rate_limited")


class SecurityEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    on_behalf_of: str
    tool: str
    reason: str


class SecurityRecorder(Protocol):
    def record(self, kind: str, actor: str, on_behalf_of: str, tool: str, reason: str) -> None: ...


class AuditSink(Protocol):
    """Anything that takes audit events (the trail itself, or a test double)."""

    def append(self, event: AuditEvent) -> Any: ...


class InMemorySecurityLog:
    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []

    def record(self, kind: str, actor: str, on_behalf_of: str, tool: str, reason: str) -> None:
        self.events.append(
            SecurityEvent(
                at=datetime.now(UTC),
                kind=kind,
                actor=actor,
                on_behalf_of=on_behalf_of,
                tool=tool,
                reason=reason,
            )
        )


class AuditSecurityLog:
    """Refusals as audit records."""

    def __init__(self, trail: AuditTrail) -> None:
        self._trail = trail

    def record(self, kind: str, actor: str, on_behalf_of: str, tool: str, reason: str) -> None:
        ids = correlation()
        self._trail.append(
            AuditEvent(
                type=_TYPE_OF_KIND.get(kind, "access_denied"),
                actor=actor,
                on_behalf_of=on_behalf_of,
                tool=tool,
                thread_id=ids.get("thread_id"),
                proposal_id=ids.get("proposal_id"),
                idempotency_key=ids.get("idempotency_key"),
                details={"kind": kind, "reason": reason},
            )
        )

    def recent(self, limit: int = 100, kind: str | None = None) -> list[SecurityEvent]:
        """The latest refusals, newest first."""
        found = [
            SecurityEvent(
                at=record.ts,
                kind=str(record.details.get("kind", record.type)),
                actor=record.actor,
                on_behalf_of=record.on_behalf_of or "",
                tool=record.tool or "",
                reason=str(record.details.get("reason", "")),
            )
            for record in self._trail.records(types=list(REFUSAL_TYPES))
        ]
        found.reverse()
        return [event for event in found if kind is None or event.kind == kind][:limit]
