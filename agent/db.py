"""Engines for the app database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from erp_acl.sqlite_wal import enable_wal


def make_engine(url: str) -> Engine:
    """An engine on ``url``; for SQLite the file's folder is created and writers serialise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; take control so that
        # every transaction starts with BEGIN IMMEDIATE (writers queue instead of deadlocking).
        dbapi_connection.isolation_level = None
        enable_wal(dbapi_connection)  # a new file: other processes may be creating it too
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class DatabaseUnavailable(ConnectionError):
    """The app database does not answer (one line, never with a password)."""


def unavailable(what: str, url: str, exc: BaseException) -> DatabaseUnavailable:
    """``what`` at ``url`` is unreachable, with the first line of the driver's reason."""
    reason = str(getattr(exc, "orig", None) or exc).strip()
    first = reason.splitlines()[0] if reason else type(exc).__name__
    shown = make_url(url).render_as_string(hide_password=True)
    return DatabaseUnavailable(f"the {what} at {shown} is unreachable: {first}")


# SQLite's words for a file it cannot read as a database (the file, not the connection, is bad).
_DAMAGE = ("file is not a database", "database disk image is malformed", "malformed database schema")


def is_damaged_database(exc: BaseException) -> bool:
    """True for SQLite's "not a database" / "malformed" errors, however they were wrapped."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.DatabaseError) and any(d in str(seen) for d in _DAMAGE):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return any(d in str(exc) for d in _DAMAGE)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (``sqlite:///p``, kombu's ``sqla+sqlite:///p``), else None."""
    try:
        parsed = make_url(url.removeprefix("sqla+"))
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def damaged_files(paths: Iterable[Path]) -> list[Path]:
    """The existing files among ``paths`` that SQLite cannot read whole (opened read-only)."""
    damaged = []
    for path in paths:
        if not path.is_file():
            continue
        try:
            with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
                ok = conn.execute("PRAGMA quick_check(1)").fetchone()
        except sqlite3.Error:
            damaged.append(path)
            continue
        if ok is None or ok[0] != "ok":
            damaged.append(path)
    return damaged


def damaged_message(paths: Sequence[Path], exc: BaseException) -> str:
    """One line naming the damaged file(s), for a "not a database" / "malformed" error."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    if not paths:
        return f"a database file is damaged ({first}); set COUNTERSIGN_DEBUG=1 to see which"
    names = ", ".join(str(p) for p in paths)
    return f"{names} is damaged or is not a SQLite database ({first}): restore it from a backup"
