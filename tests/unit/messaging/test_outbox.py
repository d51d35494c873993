"""The transactional outbox against a real app database and a real bus."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, insert, select

from agent.messaging.bus import Bus
from agent.messaging.outbox import Outbox
from agent.messaging.topology import COMMANDS, EVENTS
from tests.unit.messaging.helpers import drain, unique_prefix

business = MetaData()
orders = Table("orders", business, Column("id", String(32), primary_key=True))


@pytest.fixture
def shop(app_engine: Engine, outbox: Outbox) -> Engine:
    """The app database with a business table next to the outbox."""
    business.create_all(app_engine)
    return app_engine


def _published_ids(bus: Bus, queue: str = COMMANDS) -> list[str]:
    return [d.message_id for d in drain(bus, queue, quiet_seconds=0.2)]


def test_a_message_added_in_a_rolled_back_transaction_is_never_published(
    shop: Engine, outbox: Outbox, bus: Bus
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), shop.begin() as conn:
        conn.execute(insert(orders).values(id="o-1"))
        outbox.add(conn, queue=COMMANDS, body={"order": "o-1"}, subject="o-1", message_id="m-1")
        raise Boom

    assert outbox.relay(bus, redeliver_after=timedelta(minutes=5)) == 0
    assert outbox.pending() == []
    assert _published_ids(bus) == []
    with shop.connect() as conn:
        assert conn.execute(select(orders)).all() == []


def test_a_message_added_in_a_committed_transaction_is_published_with_its_id(
    shop: Engine, outbox: Outbox, bus: Bus
) -> None:
    with shop.begin() as conn:
        conn.execute(insert(orders).values(id="o-1"))
        message_id = outbox.add(conn, queue=COMMANDS, body={"order": "o-1"}, subject="o-1")

    assert outbox.relay(bus, redeliver_after=timedelta(minutes=5)) == 1

    [delivery] = drain(bus, COMMANDS)
    assert delivery.message_id == message_id
    assert delivery.body == {"order": "o-1"}
    assert delivery.headers["x-subject"] == "o-1"
    row = outbox.get(message_id)
    assert row is not None
    assert row.publish_count == 1
    assert row.published_at is not None
    assert row.completed_at is None


def test_relaying_twice_publishes_once(shop: Engine, outbox: Outbox, bus: Bus) -> None:
    with shop.begin() as conn:
        for n in range(3):
            outbox.add(conn, queue=COMMANDS, body={"n": n}, subject=f"s-{n}", message_id=f"m-{n}")

    assert outbox.relay(bus, redeliver_after=timedelta(minutes=5)) == 3
    assert outbox.relay(bus, redeliver_after=timedelta(minutes=5)) == 0

    assert _published_ids(bus) == ["m-0", "m-1", "m-2"]


def test_an_unfinished_row_is_published_again_after_redeliver_after(
    shop: Engine, outbox: Outbox, bus: Bus
) -> None:
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    with shop.begin() as conn:
        outbox.add(conn, queue=COMMANDS, body={"n": 1}, subject="p-1", message_id="slow")
        outbox.add(conn, queue=COMMANDS, body={"n": 2}, subject="p-2", message_id="done")
    wait = timedelta(minutes=5)
    assert outbox.relay(bus, redeliver_after=wait, now=start) == 2
    assert outbox.complete("done", outcome="committed") == 1

    assert outbox.relay(bus, redeliver_after=wait, now=start + timedelta(minutes=4)) == 0
    assert outbox.relay(bus, redeliver_after=wait, now=start + timedelta(minutes=6)) == 1

    assert _published_ids(bus) == ["slow", "done", "slow"]
    row = outbox.get("slow")
    assert row is not None
    assert row.publish_count == 2


def test_two_relays_in_parallel_threads_publish_each_row_once(shop: Engine, outbox: Outbox, bus: Bus) -> None:
    with shop.begin() as conn:
        for n in range(40):
            outbox.add(conn, queue=EVENTS, body={"n": n}, subject=None, message_id=f"e-{n:02d}")
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def relay() -> None:
        barrier.wait()
        counts.append(outbox.relay(bus, redeliver_after=timedelta(minutes=5)))

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(counts) == 40
    ids = _published_ids(bus, EVENTS)
    assert sorted(ids) == [f"e-{n:02d}" for n in range(40)]
    assert all(row.publish_count == 1 for row in outbox.pending(limit=100))


def test_an_unavailable_bus_leaves_the_row_for_the_next_relay_with_its_error(
    shop: Engine, outbox: Outbox, tmp_path: Path
) -> None:
    with shop.begin() as conn:
        outbox.add(conn, queue=COMMANDS, body={"n": 1}, subject="p-1", message_id="m-1")
        outbox.add(conn, queue=COMMANDS, body={"n": 2}, subject="p-2", message_id="m-2")
    down = Bus("amqp://app:topsecret@127.0.0.1:9//", connect_retries=0, connect_timeout=1)

    assert outbox.relay(down, redeliver_after=timedelta(minutes=5)) == 0

    first, second = outbox.pending()
    assert first.published_at is None
    assert first.publish_count == 0
    assert first.last_error is not None
    assert "cannot publish" in first.last_error
    assert "topsecret" not in first.last_error
    assert second.last_error is None  # the round stopped at the first failure
    assert outbox.stats().failing == 1

    with Bus(f"sqla+sqlite:///{tmp_path / 'q.db'}", prefix=unique_prefix(), polling_interval=0.02) as up:
        assert outbox.relay(up, redeliver_after=timedelta(minutes=5)) == 2
        assert _published_ids(up) == ["m-1", "m-2"]
    assert outbox.stats().failing == 0


def test_republish_unfinished_makes_every_unfinished_row_due_at_once(
    shop: Engine, outbox: Outbox, bus: Bus
) -> None:
    with shop.begin() as conn:
        for n in range(3):
            outbox.add(conn, queue=COMMANDS, body={"n": n}, subject=f"p-{n}", message_id=f"m-{n}")
    outbox.relay(bus, redeliver_after=timedelta(hours=1))
    outbox.complete_subject("p-0", "committed")

    assert outbox.republish_unfinished() == 2
    assert outbox.relay(bus, redeliver_after=timedelta(hours=1)) == 2

    assert _published_ids(bus) == ["m-0", "m-1", "m-2", "m-1", "m-2"]


def test_completing_by_subject_finishes_every_message_about_it_and_keeps_the_first_outcome(
    shop: Engine, outbox: Outbox
) -> None:
    with shop.begin() as conn:
        outbox.add(conn, queue=COMMANDS, body={"n": 1}, subject="p-1", message_id="m-1")
        outbox.add(conn, queue=COMMANDS, body={"n": 2}, subject="p-1", message_id="m-2")
        outbox.add(conn, queue=COMMANDS, body={"n": 3}, subject="p-2", message_id="m-3")

    assert outbox.complete(subject="p-1", outcome="committed") == 2
    assert outbox.complete("m-1", outcome="failed") == 0

    row = outbox.get("m-1")
    assert row is not None
    assert row.outcome == "committed"
    assert [r.message_id for r in outbox.pending()] == ["m-3"]


def test_completing_inside_the_callers_transaction_rolls_back_with_it(shop: Engine, outbox: Outbox) -> None:
    with shop.begin() as conn:
        outbox.add(conn, queue=COMMANDS, body={"n": 1}, subject="p-1", message_id="m-1")
    with pytest.raises(RuntimeError), shop.begin() as conn:
        outbox.complete("m-1", outcome="committed", conn=conn)
        raise RuntimeError("the business write failed")

    assert [r.message_id for r in outbox.pending()] == ["m-1"]


def test_stats_count_unpublished_published_and_completed_rows(shop: Engine, outbox: Outbox, bus: Bus) -> None:
    with shop.begin() as conn:
        for n in range(4):
            outbox.add(conn, queue=COMMANDS, body={"n": n}, subject=f"p-{n}", message_id=f"m-{n}")
    outbox.relay(bus, redeliver_after=timedelta(hours=1), limit=3)
    outbox.complete("m-0", outcome="committed")
    outbox.complete("m-1", outcome="failed")

    stats = outbox.stats()

    assert (stats.pending, stats.unpublished, stats.published, stats.completed) == (2, 1, 1, 2)
    assert stats.outcomes == {"committed": 1, "failed": 1}
    assert stats.oldest_pending_at is not None
    assert stats.oldest_pending_at.tzinfo is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"queue": "countersign.elsewhere", "body": {}, "subject": None}, "unknown queue"),
        ({"queue": COMMANDS, "body": {"at": datetime.now()}, "subject": None}, "not JSON-serialisable"),
        ({"queue": COMMANDS, "body": {}, "subject": "x" * 65}, "subject must be"),
        ({"queue": COMMANDS, "body": {}, "subject": None, "message_id": "m" * 65}, "message_id must be"),
    ],
)
def test_adding_a_bad_message_fails_with_a_clear_error(
    shop: Engine, outbox: Outbox, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught, shop.begin() as conn:
        outbox.add(conn, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_complete_needs_exactly_one_key(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="exactly one of message_id and subject"):
        outbox.complete(outcome="committed")
    with pytest.raises(ValueError, match="exactly one of message_id and subject"):
        outbox.complete("m-1", subject="p-1", outcome="committed")


def test_relay_refuses_a_negative_redeliver_after(outbox: Outbox, bus: Bus) -> None:
    with pytest.raises(ValueError, match="redeliver_after must be a non-negative timedelta"):
        outbox.relay(bus, redeliver_after=timedelta(seconds=-1))


def test_has_subject_and_unpublished_count_tell_what_is_waiting(
    shop: Engine, outbox: Outbox, bus: Bus
) -> None:
    with shop.begin() as conn:
        outbox.add(conn, queue=COMMANDS, body={"n": 1}, subject="p-1", message_id="m-1")
        outbox.add(conn, queue=COMMANDS, body={"n": 2}, subject="p-2", message_id="m-2")
    assert outbox.unpublished_count() == 2

    outbox.relay(bus, redeliver_after=timedelta(hours=1), limit=1)
    outbox.complete_subject("p-1", "committed")

    assert outbox.unpublished_count() == 1
    assert outbox.has_subject("p-1") is True  # finished rows count too
    assert outbox.has_subject("p-3") is False
