"""Where the gateway records what it refused: missing or bad tokens, ungranted tools, rate limits.

Refusals are security events, kept apart from the structured log so they can be queried (and,
with the audit-trail issue, chained). Each record says who asked, for whom, for which tool, and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, Text, insert, select

metadata = MetaData()

security_events = Table(
    "security_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("kind", String(32), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("on_behalf_of", String(64), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("reason", Text, nullable=False),
)


class SecurityEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    on_behalf_of: str
    tool: str
    reason: str


class SecurityRecorder(Protocol):
    def record(self, kind: str, actor: str, on_behalf_of: str, tool: str, reason: str) -> None: ...


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


class SqlSecurityLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        metadata.create_all(self._engine)

    def record(self, kind: str, actor: str, on_behalf_of: str, tool: str, reason: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(security_events).values(
                    at=datetime.now(UTC),
                    kind=kind,
                    actor=actor,
                    on_behalf_of=on_behalf_of,
                    tool=tool,
                    reason=reason,
                )
            )

    def recent(self, limit: int = 100, kind: str | None = None) -> list[SecurityEvent]:
        query = select(security_events).order_by(security_events.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(security_events.c.kind == kind)
        with self._engine.connect() as conn:
            return [SecurityEvent.model_validate(dict(r)) for r in conn.execute(query).mappings()]
