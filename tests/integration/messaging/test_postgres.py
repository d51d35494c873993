"""The messaging core on PostgreSQL: the inbox's ON CONFLICT, the pacer's row lock, parallel relays,
and the bus on kombu's SQL transport — each test in a schema of its own."""

from __future__ import annotations

import itertools
import os
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from agent.messaging.bus import Bus
from agent.messaging.inbox import Inbox
from agent.messaging.outbox import Outbox
from agent.messaging.pacer import WritePacer
from agent.messaging.topology import COMMANDS
from tests.unit.messaging.helpers import ThreadClocks, drain, unique_prefix

pytestmark = pytest.mark.integration

POSTGRES_URL = os.environ.get(
    "COUNTERSIGN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh schema, dropped afterwards; a failure (not a skip) when PostgreSQL is down."""
    name = f"msg_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    problem = None
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {name}"))
    except OperationalError as exc:
        problem = str(exc.orig)
    if problem is not None:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}); CI has one: start it", pytrace=False
        )
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.fixture
def pg_engine(schema: str) -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()


def test_the_inbox_records_once_and_a_duplicate_leaves_the_callers_transaction_usable(
    pg_engine: Engine,
) -> None:
    inbox = Inbox(pg_engine)
    inbox.create_schema()

    assert inbox.record("writer", "m-1", "committed") is True
    with pg_engine.begin() as conn:
        assert inbox.record("writer", "m-1", conn=conn) is False
        assert inbox.record("writer", "m-2", conn=conn) is True  # would fail in an aborted transaction

    assert inbox.seen("writer", "m-2") is True
    assert inbox.outcome("writer", "m-1") == "committed"


def test_eight_threads_recording_the_same_messages_get_each_one_new_exactly_once(pg_engine: Engine) -> None:
    inbox = Inbox(pg_engine)
    inbox.create_schema()
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def record_all() -> None:
        barrier.wait()
        wins.append(sum(inbox.record("writer", f"m-{n}") for n in range(50)))

    threads = [threading.Thread(target=record_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(wins) == 50


def test_the_pacer_spaces_slots_across_threads_on_postgresql(pg_engine: Engine) -> None:
    clocks = ThreadClocks()
    pacer = WritePacer(pg_engine, writes_per_second=10, clock=clocks.now, sleeper=clocks.sleep)
    pacer.create_schema()
    starts: list[float] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(10):
            pacer.acquire()
            with lock:
                starts.append(clocks.now())

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    ordered = sorted(starts)
    assert len(ordered) == 40
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(ordered))


def test_two_relays_on_postgresql_publish_each_row_once(pg_engine: Engine) -> None:
    outbox = Outbox(pg_engine)
    outbox.create_schema()
    with pg_engine.begin() as conn:
        for n in range(30):
            outbox.add(conn, queue=COMMANDS, body={"n": n}, subject=f"p-{n}", message_id=f"m-{n:02d}")
    counts: list[int] = []
    barrier = threading.Barrier(2)
    with Bus("memory://", prefix=unique_prefix()) as bus:

        def relay() -> None:
            barrier.wait()
            counts.append(outbox.relay(bus, redeliver_after=timedelta(minutes=5)))

        threads = [threading.Thread(target=relay) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        ids = sorted(d.message_id for d in drain(bus, COMMANDS, quiet_seconds=0.2))

    assert sum(counts) == 30
    assert ids == [f"m-{n:02d}" for n in range(30)]
    assert outbox.stats().published == 30


def test_the_bus_runs_on_kombus_sql_transport_over_postgresql(schema: str) -> None:
    url = f"sqla+{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with Bus(
        url, prefix=unique_prefix(), polling_interval=0.02, max_attempts=2, retry_delay_seconds=0.01
    ) as bus:
        bus.publish(COMMANDS, {"n": 1}, message_id="m-1", headers={"x-subject": "p-1"})
        bus.publish_raw(COMMANDS, b"nope", message_id="m-2")

        [delivery] = drain(bus, COMMANDS)
        [dead] = bus.dead_letters(COMMANDS)

        assert (delivery.message_id, delivery.body, delivery.headers["x-subject"]) == ("m-1", {"n": 1}, "p-1")
        assert dead.message_id == "m-2"
        assert dead.headers["x-error"].startswith("body is not valid JSON")
        assert bus.prune_delivered(timedelta(0)) == 2
