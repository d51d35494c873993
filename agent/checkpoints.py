"""The LangGraph checkpointer: one ``SqliteSaver`` per process on a WAL database with a busy timeout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver


def open_sqlite_saver(path: Path) -> SqliteSaver:
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the saver serialises its own use of the connection with a lock.
    connection = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=30000")
    saver = SqliteSaver(connection)
    saver.setup()
    return saver
