"""A new SQLite file is switched to WAL even while another connection holds it locked for a moment."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from erp_acl.sqlite_wal import enable_wal


def locked_file(path: Path) -> sqlite3.Connection:
    """A connection holding an exclusive lock on a file still in rollback-journal mode."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    return holder


def test_the_switch_waits_for_a_lock_held_briefly_and_then_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    holder = locked_file(path)
    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    with pytest.raises(sqlite3.OperationalError, match="locked"):  # what a plain PRAGMA gets
        other.execute("PRAGMA journal_mode=WAL")
    threading.Timer(0.3, lambda: holder.execute("COMMIT")).start()

    enable_wal(other)

    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_switch_gives_up_after_its_wait_with_the_databases_error(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    holder = locked_file(path)
    other = sqlite3.connect(path, isolation_level=None, timeout=0.01)
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            enable_wal(other, wait_seconds=0.2)
    finally:
        holder.execute("COMMIT")
