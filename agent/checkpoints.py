"""The LangGraph checkpointer: ``SqliteSaver`` on a WAL file (embedded) or ``PostgresSaver`` on a pool.

``COUNTERSIGN_CHECKPOINT_URL`` picks it: ``postgresql://…`` (or SQLAlchemy's
``postgresql+psycopg://…``) for PostgreSQL, ``sqlite:///path`` or nothing for the embedded file.
Each process opens one checkpointer and shares it among its threads; ``close`` releases it.
On PostgreSQL the tables are created (``PostgresSaver.setup``) under an advisory lock, so that of
several processes starting at once on a new database one creates them and the others wait.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver

POOL_SIZE = 8
"""Connections per process on PostgreSQL: enough for a worker's threads; the rest wait."""


CONNECT_TIMEOUT = 10

SETUP_LOCK_KEY = int.from_bytes(b"cs-ckpts")
"""The advisory lock serialising ``PostgresSaver.setup`` across processes (signed 64-bit)."""
SETUP_LOCK_SECONDS = 120.0
"""How long a process waits for another one's setup before giving up."""


class CheckpointUrlError(ValueError):
    """A checkpoint URL that names neither SQLite nor PostgreSQL."""


class CheckpointDatabaseUnreachable(ConnectionError):
    """The checkpoint database does not answer."""


@dataclass
class Checkpointer:
    """An open checkpointer and how to release it."""

    saver: BaseCheckpointSaver[str]
    close: Callable[[], None]
    kind: str


def open_sqlite_saver(path: Path) -> SqliteSaver:
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the saver serialises its own use of the connection with a lock.
    connection = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=30000")
    saver = SqliteSaver(connection)
    saver.setup()
    return saver


def postgres_conninfo(url: str) -> str:
    """A libpq connection string from a ``postgresql[+driver]://`` URL (psycopg takes no driver)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def open_checkpointer(url: str) -> Checkpointer:
    """The checkpointer at ``url``, its tables created if missing."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise CheckpointUrlError("COUNTERSIGN_CHECKPOINT_URL is not a database URL") from None
    if backend == "sqlite":
        database = make_url(url).database
        if not database or database == ":memory:":
            raise CheckpointUrlError("COUNTERSIGN_CHECKPOINT_URL must name a SQLite file (sqlite:///path)")
        saver = open_sqlite_saver(Path(database))
        return Checkpointer(saver, saver.conn.close, "sqlite")
    if backend == "postgresql":
        return _open_postgres(url)
    raise CheckpointUrlError(
        f"COUNTERSIGN_CHECKPOINT_URL names {backend!r}: checkpoints live in SQLite or PostgreSQL"
    )


def _open_postgres(url: str) -> Checkpointer:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    conninfo = postgres_conninfo(url)
    # One plain connection first: an unreachable server is then one line, not a pool that
    # retries (and logs) for half a minute.
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg.Error as exc:
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointDatabaseUnreachable(
            f"the checkpoint database at {where} is unreachable: {reason}"
        ) from None
    # PostgresSaver needs autocommit and dict rows; prepared statements break behind pgbouncer.
    pool: ConnectionPool = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=POOL_SIZE,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
        open=True,
    )
    try:
        saver = PostgresSaver(pool)  # type: ignore[arg-type]
        _setup_once(conninfo, saver)
    except Exception:
        pool.close()
        raise
    return Checkpointer(saver, pool.close, "postgresql")


def _setup_once(conninfo: str, saver: PostgresSaver) -> None:
    """``saver.setup()`` while holding an advisory lock: only one process at a time migrates.

    ``PostgresSaver.setup`` reads the latest migration and then applies and records the later
    ones; two processes doing so at once on a new database both insert the same version into
    ``checkpoint_migrations`` and one fails. The lock is taken with ``pg_try_advisory_lock`` in
    short polls rather than a blocking ``pg_advisory_lock``: ``setup`` runs ``CREATE INDEX
    CONCURRENTLY``, which waits for every statement in progress in the database, so a waiter
    blocked inside one statement would deadlock with it.
    """
    import psycopg

    with psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT) as lock:
        deadline = time.monotonic() + SETUP_LOCK_SECONDS
        while not _try_lock(lock):
            if time.monotonic() > deadline:
                raise CheckpointDatabaseUnreachable(
                    f"another process has held the checkpoint tables' setup lock for {SETUP_LOCK_SECONDS:g} s"
                )
            time.sleep(0.1)
        try:
            saver.setup()
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))


def _try_lock(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (SETUP_LOCK_KEY,)).fetchone()
    return bool(row is not None and row[0])
