"""Engines for the app database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

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
