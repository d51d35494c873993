"""The inbox: which messages each consumer has already processed, for exactly-once effects.

The bus delivers at least once, so a consumer records ``(consumer, message_id)`` in the app
database, ideally in the same transaction as the effect, and skips a message it finds there.
Recording is a single INSERT that does nothing on a duplicate key (``ON CONFLICT DO NOTHING`` on
SQLite and PostgreSQL), so two processes recording the same message at once get one True and
one False, and a caller's transaction is never aborted by the duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

processed_messages = Table(
    "processed_messages",
    metadata,
    Column("consumer", String(32), primary_key=True),
    Column("message_id", String(128), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(32), nullable=True),
)


class Inbox:
    """Processed-message records in the app database (safe across threads and processes)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        """Upgrade the app database to the code's revision: every store's tables, not only these."""
        from agent.schema import upgrade_app_database

        upgrade_app_database(self._engine)

    def seen(self, consumer: str, message_id: str) -> bool:
        """True when ``consumer`` has recorded ``message_id``."""
        query = select(processed_messages.c.message_id).where(
            processed_messages.c.consumer == _check_consumer(consumer),
            processed_messages.c.message_id == _check_message_id(message_id),
        )
        with self._engine.connect() as conn:
            return conn.execute(query).first() is not None

    def outcome(self, consumer: str, message_id: str) -> str | None:
        """The outcome recorded with ``message_id`` (None when there is none or no record)."""
        query = select(processed_messages.c.outcome).where(
            processed_messages.c.consumer == _check_consumer(consumer),
            processed_messages.c.message_id == _check_message_id(message_id),
        )
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def record(
        self,
        consumer: str,
        message_id: str,
        outcome: str | None = None,
        *,
        conn: Connection | None = None,
    ) -> bool:
        """Record that ``consumer`` processed ``message_id``: True the first time, False after.

        With ``conn`` the row joins the caller's open transaction (commit or roll back with the
        effect); without it the record is committed at once.
        """
        values = {
            "consumer": _check_consumer(consumer),
            "message_id": _check_message_id(message_id),
            "processed_at": datetime.now(UTC),
            "outcome": _check_outcome(outcome),
        }
        if conn is not None:
            return _insert_once(conn, values)
        with self._engine.begin() as own:
            return _insert_once(own, values)

    # The same operation under the name a worker uses before doing the work.
    claim = record

    def prune(self, older_than: timedelta, *, now: datetime | None = None) -> int:
        """Delete records older than ``older_than`` (keep them longer than any redelivery can take)."""
        cutoff = (now or datetime.now(UTC)) - older_than
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(processed_messages).where(processed_messages.c.processed_at < cutoff)
            )
            return int(result.rowcount or 0)


def _insert_once(conn: Connection, values: dict[str, object]) -> bool:
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that SQLAlchemy 2.1 runs in
        # its insertmanyvalues mode; a returned key is unambiguous on both databases.
        insert_of = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = (
            insert_of(processed_messages)
            .values(values)
            .on_conflict_do_nothing()
            .returning(processed_messages.c.message_id)
        )
        return conn.execute(statement).first() is not None
    # Other databases: a savepoint keeps the caller's transaction alive through the duplicate.
    try:
        with conn.begin_nested():
            conn.execute(insert(processed_messages).values(values))
    except IntegrityError:
        return False
    return True


def _check_consumer(consumer: str) -> str:
    if not isinstance(consumer, str) or not consumer or len(consumer) > 32:
        raise ValueError(f"consumer must be a non-empty name of at most 32 characters, not {consumer!r}")
    return consumer


def _check_message_id(message_id: str) -> str:
    if not isinstance(message_id, str) or not message_id or len(message_id) > 128:
        raise ValueError(
            f"message_id must be a non-empty string of at most 128 characters, not {message_id!r}"
        )
    return message_id


def _check_outcome(outcome: str | None) -> str | None:
    if outcome is not None and (not isinstance(outcome, str) or len(outcome) > 32):
        raise ValueError(f"outcome must be a string of at most 32 characters or None, not {outcome!r}")
    return outcome
