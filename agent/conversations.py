"""Who owns which conversation (LangGraph thread), so nobody continues someone else's chat."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Engine, String, Table, Text, delete, insert, select, update

from agent.approvals import metadata

threads = Table(
    "threads",
    metadata,
    Column("thread_id", String(64), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class ThreadAccessDenied(Exception):
    """The thread belongs to someone else, or does not exist."""


class Conversation(BaseModel):
    thread_id: str
    owner: str
    title: str
    created_at: datetime
    updated_at: datetime


def new_thread_id() -> str:
    return "T-" + uuid.uuid4().hex[:12]


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, owner: str, title: str, thread_id: str | None = None) -> Conversation:
        now = datetime.now(UTC)
        conversation = Conversation(
            thread_id=thread_id or new_thread_id(),
            owner=owner,
            title=title[:120],
            created_at=now,
            updated_at=now,
        )
        with self._engine.begin() as conn:
            conn.execute(insert(threads).values(**conversation.model_dump()))
        return conversation

    def get(self, thread_id: str) -> Conversation | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(threads).where(threads.c.thread_id == thread_id)).mappings().first()
        return Conversation.model_validate(dict(row)) if row is not None else None

    def owned(self, thread_id: str, user: str) -> Conversation:
        conversation = self.get(thread_id)
        # One answer for "not yours" and "does not exist": a guessed id must not reveal its owner.
        if conversation is None or conversation.owner != user:
            raise ThreadAccessDenied(f"no conversation {thread_id!r} of yours")
        return conversation

    def touch(self, thread_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(threads).where(threads.c.thread_id == thread_id).values(updated_at=datetime.now(UTC))
            )

    def discard(self, thread_id: str) -> None:
        """Forget a conversation that never held anything (a refused tool call's)."""
        with self._engine.begin() as conn:
            conn.execute(delete(threads).where(threads.c.thread_id == thread_id))

    def of_user(self, owner: str, limit: int = 50) -> list[Conversation]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(threads)
                .where(threads.c.owner == owner)
                .order_by(threads.c.updated_at.desc())
                .limit(limit)
            ).mappings()
            return [Conversation.model_validate(dict(r)) for r in rows]
