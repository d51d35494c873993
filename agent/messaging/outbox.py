"""The transactional outbox: a message is written in the app database with the change it announces.

:meth:`Outbox.add` inserts the row inside the caller's transaction, so the business write and
the message commit or roll back together; nothing is ever published for a change that did not
happen. :meth:`Outbox.relay` then publishes the rows: each row is claimed with a conditional
UPDATE (compare-and-set on ``publish_count``), so several relays in several processes publish a
row once per round. A row stays unfinished until its consumer reports back (:meth:`complete`);
one published longer ago than ``redeliver_after`` is published again (same message id, the
consumers deduplicate). That is what covers a message lost by the transport or a crash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from agent.messaging.bus import BusUnavailable, HeaderValue, encode_body, one_line
from agent.messaging.topology import check_queue
from tools.observability import get_logger

log = get_logger("countersign.outbox")

metadata = MetaData()

outbox = Table(
    "outbox",
    metadata,
    Column("message_id", String(64), primary_key=True),
    Column("queue", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("subject", String(64), nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("publish_count", Integer, nullable=False, default=0),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_outbox_completed_published", "completed_at", "published_at"),
)


class Publisher(Protocol):
    """What the relay needs of a bus (:class:`agent.messaging.bus.Bus` is one)."""

    def publish(
        self,
        queue: str,
        body: dict[str, Any],
        *,
        message_id: str,
        headers: dict[str, HeaderValue] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class OutboxRow:
    message_id: str
    queue: str
    body: dict[str, Any]
    subject: str | None
    created_at: datetime
    published_at: datetime | None
    publish_count: int
    completed_at: datetime | None
    outcome: str | None
    last_error: str | None


@dataclass(frozen=True)
class OutboxStats:
    """Counts for a status command. ``pending`` = not completed = ``unpublished`` + ``published``."""

    pending: int
    unpublished: int
    published: int
    completed: int
    failing: int  # pending rows whose last publish attempt failed
    outcomes: dict[str, int]
    oldest_pending_at: datetime | None


class Outbox:
    """Outgoing messages in the app database, published by :meth:`relay` until completed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        """Upgrade the app database to the code's revision: every store's tables, not only these."""
        from agent.schema import upgrade_app_database

        upgrade_app_database(self._engine)

    def add(
        self,
        conn: Connection,
        *,
        queue: str,
        body: dict[str, Any],
        subject: str | None,
        message_id: str | None = None,
    ) -> str:
        """Insert a message in the caller's transaction on ``conn``; its message id.

        Nothing is published here: the row becomes visible to the relay when (and only if) the
        caller commits.
        """
        check_queue(queue)
        encode_body(body)  # fail now, in the caller's transaction, not later in the relay
        if subject is not None and (not isinstance(subject, str) or len(subject) > 64):
            raise ValueError(f"subject must be a string of at most 64 characters or None, not {subject!r}")
        message_id = uuid.uuid4().hex if message_id is None else message_id
        if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
            raise ValueError(
                f"message_id must be a non-empty string of at most 64 characters, not {message_id!r}"
            )
        conn.execute(
            insert(outbox).values(
                message_id=message_id,
                queue=queue,
                body=body,
                subject=subject,
                created_at=datetime.now(UTC),
                publish_count=0,
            )
        )
        return message_id

    def complete(
        self,
        message_id: str | None = None,
        *,
        subject: str | None = None,
        outcome: str,
        conn: Connection | None = None,
    ) -> int:
        """Mark the message (or every unfinished message about ``subject``) done; how many rows.

        Give exactly one of ``message_id`` and ``subject``. A row completed before keeps its
        first outcome.
        """
        if (message_id is None) == (subject is None):
            raise ValueError("complete() needs exactly one of message_id and subject")
        if not isinstance(outcome, str) or not outcome or len(outcome) > 32:
            raise ValueError(f"outcome must be a non-empty string of at most 32 characters, not {outcome!r}")
        key = outbox.c.message_id == message_id if message_id is not None else outbox.c.subject == subject
        statement = (
            update(outbox)
            .where(key, outbox.c.completed_at.is_(None))
            .values(completed_at=datetime.now(UTC), outcome=outcome)
        )
        if conn is not None:
            return int(conn.execute(statement).rowcount or 0)
        with self._engine.begin() as own:
            return int(own.execute(statement).rowcount or 0)

    def complete_subject(self, subject: str, outcome: str, *, conn: Connection | None = None) -> int:
        """Mark every unfinished message about ``subject`` (e.g. a proposal id) done."""
        return self.complete(subject=subject, outcome=outcome, conn=conn)

    def has_subject(self, subject: str) -> bool:
        """True when any message, finished or not, was ever added about ``subject``."""
        query = select(outbox.c.message_id).where(outbox.c.subject == subject).limit(1)
        with self._engine.connect() as conn:
            return conn.execute(query).first() is not None

    def unsent_about(self, subject: str) -> bool:
        """True when an unfinished message about ``subject`` is not published yet and the relay's
        last attempt failed (the bus was unavailable; a relay stops at its first failure, so the
        failed row may be an older one). The next relay tries them again."""
        unsent = and_(outbox.c.completed_at.is_(None), outbox.c.published_at.is_(None))
        mine = select(outbox.c.message_id).where(unsent, outbox.c.subject == subject).limit(1)
        failing = select(outbox.c.message_id).where(unsent, outbox.c.last_error.is_not(None)).limit(1)
        with self._engine.connect() as conn:
            return conn.execute(mine).first() is not None and conn.execute(failing).first() is not None

    def unpublished_count(self) -> int:
        """Unfinished messages never published yet (what the next relay will send first)."""
        query = select(func.count()).where(outbox.c.completed_at.is_(None), outbox.c.published_at.is_(None))
        with self._engine.connect() as conn:
            return _count(conn.execute(query).scalar_one())

    def get(self, message_id: str) -> OutboxRow | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.message_id == message_id)).first()
        return _to_row(row) if row is not None else None

    def pending(self, limit: int = 100) -> list[OutboxRow]:
        """Unfinished messages, oldest first."""
        _check_limit(limit)
        query = (
            select(outbox).where(outbox.c.completed_at.is_(None)).order_by(outbox.c.created_at).limit(limit)
        )
        with self._engine.connect() as conn:
            return [_to_row(row) for row in conn.execute(query)]

    def relay(
        self,
        bus: Publisher,
        *,
        redeliver_after: timedelta,
        limit: int = 100,
        now: datetime | None = None,
    ) -> int:
        """Publish unfinished rows never published, or published before ``now - redeliver_after``.

        Each row is claimed first (one conditional UPDATE, its own short transaction): only the
        relay whose UPDATE changed the row publishes it. When the bus is unavailable the row gets
        ``last_error``, its claim is undone so the next relay tries it again, and this round
        stops (the next rows would fail the same way). Returns how many rows were published.
        """
        _check_limit(limit)
        if not isinstance(redeliver_after, timedelta) or redeliver_after < timedelta(0):
            raise ValueError(f"redeliver_after must be a non-negative timedelta, not {redeliver_after!r}")
        moment = _utc(now)
        cutoff = moment - redeliver_after
        published = 0
        for row in self._due(cutoff, limit):
            if not self._claim(row, moment, cutoff):
                continue  # another relay took it
            try:
                bus.publish(
                    row.queue,
                    row.body,
                    message_id=row.message_id,
                    headers={"x-subject": row.subject} if row.subject else None,
                )
            except BusUnavailable as exc:
                self._unclaim(row, str(exc))
                log.warning("outbox relay paused: bus unavailable", message_id=row.message_id, error=str(exc))
                break
            published += 1
        return published

    def republish_unfinished(self) -> int:
        """Make every unfinished, already published row due on the next relay; how many."""
        statement = (
            update(outbox)
            .where(outbox.c.completed_at.is_(None), outbox.c.published_at.is_not(None))
            .values(published_at=None)
        )
        with self._engine.begin() as conn:
            return int(conn.execute(statement).rowcount or 0)

    def stats(self) -> OutboxStats:
        unfinished = outbox.c.completed_at.is_(None)
        with self._engine.connect() as conn:
            counts = conn.execute(
                select(
                    func.count().filter(and_(unfinished, outbox.c.published_at.is_(None))),
                    func.count().filter(and_(unfinished, outbox.c.published_at.is_not(None))),
                    func.count().filter(outbox.c.completed_at.is_not(None)),
                    func.count().filter(and_(unfinished, outbox.c.last_error.is_not(None))),
                    func.min(outbox.c.created_at).filter(unfinished),
                )
            ).one()
            outcomes = conn.execute(
                select(outbox.c.outcome, func.count())
                .where(outbox.c.completed_at.is_not(None))
                .group_by(outbox.c.outcome)
            ).all()
        unpublished, published, completed, failing = (_count(value) for value in counts[:4])
        return OutboxStats(
            pending=unpublished + published,
            unpublished=unpublished,
            published=published,
            completed=completed,
            failing=failing,
            outcomes={str(outcome): _count(count) for outcome, count in outcomes},
            oldest_pending_at=_aware(counts[4]),
        )

    # ------------------------------------------------------------------ claiming

    def _due(self, cutoff: datetime, limit: int) -> list[OutboxRow]:
        query = (
            select(outbox)
            .where(
                outbox.c.completed_at.is_(None),
                or_(outbox.c.published_at.is_(None), outbox.c.published_at < cutoff),
            )
            .order_by(outbox.c.created_at)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_to_row(row) for row in conn.execute(query)]

    def _claim(self, row: OutboxRow, moment: datetime, cutoff: datetime) -> bool:
        # publish_count is the version: of two relays that read the same row, one moves it on.
        statement = (
            update(outbox)
            .where(
                outbox.c.message_id == row.message_id,
                outbox.c.completed_at.is_(None),
                outbox.c.publish_count == row.publish_count,
                or_(outbox.c.published_at.is_(None), outbox.c.published_at < cutoff),
            )
            .values(published_at=moment, publish_count=row.publish_count + 1, last_error=None)
        )
        with self._engine.begin() as conn:
            return (conn.execute(statement).rowcount or 0) == 1

    def _unclaim(self, row: OutboxRow, error: str) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.message_id == row.message_id, outbox.c.publish_count == row.publish_count + 1)
            .values(
                published_at=row.published_at, publish_count=row.publish_count, last_error=one_line(error)
            )
        )
        with self._engine.begin() as conn:
            conn.execute(statement)


def _to_row(row: Row[Any]) -> OutboxRow:
    m = row._mapping
    return OutboxRow(
        message_id=m["message_id"],
        queue=m["queue"],
        body=dict(m["body"]),
        subject=m["subject"],
        created_at=_aware(m["created_at"]) or datetime.now(UTC),
        published_at=_aware(m["published_at"]),
        publish_count=int(m["publish_count"]),
        completed_at=_aware(m["completed_at"]),
        outcome=m["outcome"],
        last_error=m["last_error"],
    )


def _count(value: object) -> int:
    """A COUNT(*) as an int (drivers return int; NULL cannot happen but would mean none)."""
    return int(value) if isinstance(value, int) else 0


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; every one stored here is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, datetime):
        raise ValueError(f"now must be a datetime, not {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
