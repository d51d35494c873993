"""Switching a SQLite file to write-ahead logging when several processes open it at once.

``PRAGMA journal_mode=WAL`` on a file still in rollback-journal mode needs an exclusive lock, and
SQLite answers "database is locked" at once, without waiting out the busy timeout, when another
connection holds a lock at that moment (a process creating the tables of a new database while
another connects). Once the file is in WAL mode the pragma takes no lock, so only the first
seconds of a new database can meet this; waiting a little and asking again is all it needs.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

WAL_SWITCH_WAIT_SECONDS = 30.0


def enable_wal(dbapi_connection: Any, *, wait_seconds: float = WAL_SWITCH_WAIT_SECONDS) -> None:
    """Put the connection's database in WAL mode, retrying while another connection locks it."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    cursor = dbapi_connection.cursor()
    try:
        while True:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
    finally:
        cursor.close()
