"""A write pacer shared by every writer thread and process through the app database.

The ERP takes at most N writes a second from us, however many writers run. The pacer keeps one
row per paced resource, ``write_pace(name, next_at)``: the earliest moment the next write may
start. :meth:`WritePacer.acquire` takes a slot in one short transaction — slot =
max(now, next_at), next_at = slot + 1/N — and sleeps until its slot.

Guarantee: the slots handed out are at least 1/N s apart, in one total order (the database
serialises the transactions: BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL), so no
half-open window of one second ``[t, t + 1)`` holds more than N slots, across all processes on
machines whose clocks agree. A write starts when ``acquire`` returns: at its slot, or later if
the thread is slow to wake — never earlier. ``writes_per_second = 0`` means unlimited.

Slots are spaced 10 % wider than 1/N: a write reaches the ERP a moment after its slot (thread
wake-up, the interpreter lock), and that jitter differs from write to write. The margin absorbs it,
so that N + 1 writes cannot land inside one second as the ERP sees them either.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

metadata = MetaData()

JITTER_MARGIN = 0.10

write_pace = Table(
    "write_pace",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_at", Float, nullable=False),
)


class WritePacer:
    """At most ``writes_per_second`` slots a second for ``name``, over all threads and processes.

    ``clock`` must be shared by every process (wall-clock seconds, ``time.time``); ``sleeper``
    waits a number of seconds. Both are injectable for tests.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        writes_per_second: float,
        name: str = "erp",
        clock: Callable[[], float] = time.time,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(writes_per_second, bool) or not isinstance(writes_per_second, int | float):
            raise ValueError(f"writes_per_second must be a number, not {writes_per_second!r}")
        if writes_per_second < 0:
            raise ValueError(f"writes_per_second must be zero (unlimited) or more, not {writes_per_second!r}")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValueError(f"pacer name must be a non-empty string of at most 64 characters, not {name!r}")
        self._engine = engine
        self._rate = float(writes_per_second)
        self._name = name
        self._clock = clock
        self._sleeper = sleeper

    @property
    def writes_per_second(self) -> float:
        return self._rate

    def create_schema(self) -> None:
        """Upgrade the app database to the code's revision: every store's tables, not only these."""
        from agent.schema import upgrade_app_database

        upgrade_app_database(self._engine)

    def acquire(self) -> None:
        """Wait for this caller's slot (returns at once when unlimited)."""
        if self._rate == 0:
            return
        slot = self.reserve()
        delay = slot - self._clock()
        if delay > 0:
            self._sleeper(delay)

    def reserve(self) -> float:
        """Take the next slot without waiting for it; its start time on the pacer's clock."""
        if self._rate == 0:
            return self._clock()
        interval = (1.0 + JITTER_MARGIN) / self._rate
        with self._engine.begin() as conn:
            _ensure_row(conn, self._name)
            query = select(write_pace.c.next_at).where(write_pace.c.name == self._name)
            if conn.dialect.name != "sqlite":
                query = query.with_for_update()  # SQLite's BEGIN IMMEDIATE already serialises
            next_at = float(conn.execute(query).scalar_one())
            # The clock is read while holding the lock: a caller that waited for it gets a slot
            # measured from when it holds it, not from when it asked.
            slot = max(self._clock(), next_at)
            conn.execute(
                update(write_pace).where(write_pace.c.name == self._name).values(next_at=slot + interval)
            )
        return slot


def _ensure_row(conn: Connection, name: str) -> None:
    """Create the pacer's row on first use (two first users at once: one insert wins)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(write_pace).values(name=name, next_at=0.0).on_conflict_do_nothing())
