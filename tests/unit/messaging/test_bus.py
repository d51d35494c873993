"""The bus on the embedded transports (memory:// and a SQLite file): delivery, acks, retries, dead letters."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from agent.messaging.bus import Bus, BusUnavailable, Delivery, PoisonMessage, bus_kind, mask_url
from agent.messaging.topology import COMMANDS, EVENTS, RESULTS, dlq_name
from tests.unit.messaging.helpers import drain, unique_prefix

REPO = Path(__file__).resolve().parents[3]


def test_a_published_message_arrives_with_its_id_body_and_headers(bus: Bus) -> None:
    bus.publish(
        COMMANDS, {"proposal_id": "p1", "amount": 12.5}, message_id="m-1", headers={"x-subject": "p1"}
    )

    [delivery] = drain(bus, COMMANDS)

    assert delivery.message_id == "m-1"
    assert delivery.body == {"proposal_id": "p1", "amount": 12.5}
    assert delivery.headers["x-subject"] == "p1"
    assert delivery.attempts == 0
    assert delivery.redelivered is False
    assert delivery.queue == COMMANDS


def test_messages_arrive_in_publish_order_on_their_own_queue(bus: Bus) -> None:
    for n in range(5):
        bus.publish(COMMANDS, {"n": n}, message_id=f"c-{n}")
    bus.publish(RESULTS, {"n": 99}, message_id="r-1")

    assert [d.message_id for d in drain(bus, COMMANDS)] == [f"c-{n}" for n in range(5)]
    assert [d.message_id for d in drain(bus, RESULTS)] == ["r-1"]
    assert drain(bus, EVENTS) == []


def test_a_handled_message_is_acked_and_never_delivered_again(bus: Bus) -> None:
    bus.publish(COMMANDS, {"n": 1}, message_id="once")
    assert bus.size(COMMANDS) == 1

    assert len(drain(bus, COMMANDS)) == 1

    assert bus.size(COMMANDS) == 0
    assert drain(bus, COMMANDS) == []


def test_a_body_that_is_not_json_goes_to_the_dlq_and_the_next_messages_keep_flowing(bus: Bus) -> None:
    bus.publish(COMMANDS, {"n": 1}, message_id="before")
    bus.publish_raw(COMMANDS, b"{not json", message_id="broken")
    bus.publish_raw(COMMANDS, b"[1, 2]", message_id="a-list")
    bus.publish(COMMANDS, {"n": 2}, message_id="after")

    handled = drain(bus, COMMANDS)

    assert [d.message_id for d in handled] == ["before", "after"]
    dead = {d.message_id: d for d in bus.dead_letters(COMMANDS)}
    assert set(dead) == {"broken", "a-list"}
    assert dead["broken"].headers["x-error"].startswith("body is not valid JSON")
    assert dead["broken"].body == {"_raw": "{not json"}
    assert dead["a-list"].headers["x-error"] == "body is a JSON list, not an object"
    assert dead["broken"].headers["x-original-queue"] == COMMANDS
    assert dead["broken"].queue == dlq_name(COMMANDS)


def test_a_poison_message_is_dead_lettered_once_with_the_handlers_reason(bus: Bus) -> None:
    bus.publish(COMMANDS, {"proposal_id": "ghost"}, message_id="poison")
    bus.publish(COMMANDS, {"proposal_id": "p2"}, message_id="fine")
    calls: list[str] = []

    def handler(delivery: Delivery) -> None:
        calls.append(delivery.message_id)
        if delivery.body["proposal_id"] == "ghost":
            raise PoisonMessage("no proposal ghost in the approvals store\n(looked twice)")

    drain(bus, COMMANDS, handler)

    assert calls == ["poison", "fine"]
    [dead] = bus.dead_letters(COMMANDS)
    assert dead.message_id == "poison"
    assert dead.body == {"proposal_id": "ghost"}
    assert dead.headers["x-error"] == "no proposal ghost in the approvals store (looked twice)"
    assert dead.headers["x-attempts"] == 1
    assert datetime.fromisoformat(dead.headers["x-failed-at"]).tzinfo is not None


def test_a_failing_handler_is_retried_up_to_max_attempts_then_dead_lettered(bus: Bus) -> None:
    bus.publish(COMMANDS, {"n": 1}, message_id="flaky", headers={"x-subject": "p1"})
    attempts: list[int] = []

    def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempts)
        raise ConnectionError("ERP timed out\nafter 30 s")

    drain(bus, COMMANDS, handler)

    assert attempts == [0, 1, 2]  # max_attempts=3 handlings in all
    [dead] = bus.dead_letters(COMMANDS)
    assert dead.message_id == "flaky"
    assert dead.headers["x-error"] == "ConnectionError: ERP timed out after 30 s"
    assert dead.headers["x-attempts"] == 3
    assert dead.headers["x-subject"] == "p1"
    assert bus.size(COMMANDS) == 0


def test_a_handler_that_fails_once_succeeds_on_the_retry_and_nothing_is_dead_lettered(bus: Bus) -> None:
    bus.publish(COMMANDS, {"n": 1}, message_id="transient")
    seen: list[Delivery] = []

    def handler(delivery: Delivery) -> None:
        seen.append(delivery)
        if delivery.attempts == 0:
            raise TimeoutError("ERP busy")

    drain(bus, COMMANDS, handler)

    assert [d.attempts for d in seen] == [0, 1]
    assert seen[1].message_id == "transient"
    assert seen[1].headers["x-last-error"] == "TimeoutError: ERP busy"
    assert bus.dead_letters(COMMANDS) == []


def test_a_retry_waits_the_retry_delay_without_stalling_the_consumer_longer(tmp_path: Path) -> None:
    with Bus("memory://", prefix=unique_prefix(), retry_delay_seconds=0.3, max_attempts=2) as slow_bus:
        slow_bus.publish(COMMANDS, {"n": 1}, message_id="slow")
        moments: list[float] = []

        def handler(delivery: Delivery) -> None:
            moments.append(time.monotonic())
            if delivery.attempts == 0:
                raise RuntimeError("later")

        drain(slow_bus, COMMANDS, handler, quiet_seconds=0.5)

    assert len(moments) == 2
    assert 0.3 <= moments[1] - moments[0] < 1.0


def test_reading_dead_letters_leaves_them_in_place(bus: Bus) -> None:
    for n in range(3):
        bus.publish_raw(COMMANDS, b"oops", message_id=f"bad-{n}")
    drain(bus, COMMANDS)

    first = [d.message_id for d in bus.dead_letters(COMMANDS)]
    second = [d.message_id for d in bus.dead_letters(COMMANDS)]

    assert first == second == ["bad-0", "bad-1", "bad-2"]
    assert [d.message_id for d in bus.dead_letters(COMMANDS, limit=2)] == ["bad-0", "bad-1"]
    assert bus.size(dlq_name(COMMANDS)) == 3


def test_purge_empties_a_queue_and_says_how_many_went(bus: Bus) -> None:
    for n in range(4):
        bus.publish(EVENTS, {"n": n}, message_id=f"e-{n}")

    assert bus.purge(EVENTS) == 4
    assert bus.size(EVENTS) == 0


def test_idle_runs_when_no_message_arrives_within_poll_seconds(bus: Bus) -> None:
    stop = threading.Event()
    idles: list[float] = []

    def idle() -> None:
        idles.append(time.monotonic())
        if len(idles) == 3:
            stop.set()

    started = time.monotonic()
    bus.consume(COMMANDS, lambda _d: None, stop=stop, idle=idle, poll_seconds=0.1)

    assert len(idles) == 3
    assert time.monotonic() - started < 3


def test_a_failing_idle_job_does_not_stop_the_consumer(bus: Bus) -> None:
    stop = threading.Event()
    calls: list[int] = []

    def idle() -> None:
        calls.append(1)
        if len(calls) == 2:
            stop.set()
        raise RuntimeError("periodic job broke")

    bus.consume(COMMANDS, lambda _d: None, stop=stop, idle=idle, poll_seconds=0.05)

    assert len(calls) == 2


def test_a_consumer_in_another_thread_stops_when_asked(bus: Bus) -> None:
    stop = threading.Event()
    got: list[str] = []
    worker = threading.Thread(
        target=bus.consume, args=(RESULTS, lambda d: got.append(d.message_id)), kwargs={"stop": stop}
    )
    worker.start()
    bus.publish(RESULTS, {"ok": True}, message_id="r-1")
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    worker.join(timeout=5)

    assert got == ["r-1"]
    assert not worker.is_alive()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda b: b.publish("countersign.nowhere", {}, message_id="m"),
            "unknown queue 'countersign.nowhere'",
        ),
        (lambda b: b.publish(COMMANDS, ["not", "a", "dict"], message_id="m"), "must be a JSON object"),
        (lambda b: b.publish(COMMANDS, {"when": object()}, message_id="m"), "not JSON-serialisable"),
        (lambda b: b.publish(COMMANDS, {}, message_id=""), "message_id must be a non-empty string"),
        (lambda b: b.publish(COMMANDS, {}, message_id="m", headers={"h": [1]}), "header 'h' must be"),
        (lambda b: b.size("other"), "unknown queue 'other'"),
        (lambda b: b.dead_letters(COMMANDS, limit=0), "limit must be a whole number"),
        (lambda b: b.prune_delivered(3600), "older_than must be a non-negative timedelta"),
    ],
)
def test_bad_input_gets_a_clear_one_line_error(bus: Bus, call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=message) as caught:
        call(bus)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost:6379/0", "unsupported bus URL"),
        ("sqla://nothing", "unsupported bus URL"),
        ("queue.db", "bad bus URL"),
        ("sqla+sqlite://", "needs a file"),
        ("sqla+sqlite:///:memory:", "needs a file"),
    ],
)
def test_an_unusable_bus_url_is_refused_with_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        Bus(url)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_attempts", 0, "max_attempts must be a whole number of at least 1"),
        ("retry_delay_seconds", -1, "retry_delay_seconds must be zero or more"),
        ("connect_timeout", 0, "connect_timeout must be a positive number"),
        ("prefix", "bad prefix!", "bad queue prefix"),
    ],
)
def test_bad_bus_options_are_refused_with_a_clear_error(option: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Bus("memory://", **{option: value})  # type: ignore[arg-type]


def test_an_unreachable_broker_raises_bus_unavailable_without_showing_the_password() -> None:
    port = _closed_port()
    bus = Bus(f"amqp://countersign:s3cret-pw@127.0.0.1:{port}//", connect_retries=1, connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(BusUnavailable) as caught:
        bus.publish(COMMANDS, {"n": 1}, message_id="m")

    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert f"amqp://countersign:***@127.0.0.1:{port}//" in message
    assert "\n" not in message
    assert time.monotonic() - started < 10


def test_a_consumer_raises_bus_unavailable_when_the_broker_never_answers() -> None:
    bus = Bus(
        f"amqp://u:pw@127.0.0.1:{_closed_port()}//", connect_retries=0, connect_timeout=1, reconnect_rounds=1
    )
    with pytest.raises(BusUnavailable, match=r"cannot consume from countersign\.commands") as caught:
        bus.consume(COMMANDS, lambda _d: None, stop=threading.Event())
    assert ":pw@" not in str(caught.value)


def test_urls_are_masked_and_classified() -> None:
    assert mask_url("amqp://guest:guest@127.0.0.1:5672//") == "amqp://guest:***@127.0.0.1:5672//"
    assert mask_url("sqla+postgresql://app:pw@db/app") == "sqla+postgresql://app:***@db/app"
    assert mask_url("sqla+sqlite:////var/q.db") == "sqla+sqlite:////var/q.db"
    assert bus_kind("sqla+postgresql://app:pw@db/app") == "sqla"
    assert bus_kind("memory://") == "memory"
    assert bus_kind("amqp://guest:guest@localhost//") == "amqp"


def test_prune_delivered_deletes_only_old_delivered_rows_of_the_sql_transport(tmp_path: Path) -> None:
    url = f"sqla+sqlite:///{tmp_path / 'q.db'}"
    with Bus(url, prefix=unique_prefix(), polling_interval=0.02) as bus:
        for n in range(3):
            bus.publish(COMMANDS, {"n": n}, message_id=f"m-{n}")
        drain(bus, COMMANDS)
        bus.publish(COMMANDS, {"n": 9}, message_id="waiting")

        assert bus.prune_delivered(timedelta(hours=1)) == 0  # delivered just now
        assert bus.prune_delivered(timedelta(0)) == 3

        assert bus.size(COMMANDS) == 1
        assert [d.message_id for d in drain(bus, COMMANDS)] == ["waiting"]
    rows = (
        create_engine(f"sqlite:///{tmp_path / 'q.db'}")
        .connect()
        .execute(text("select count(*) from kombu_message"))
    )
    assert rows.scalar_one() == 1  # the one delivered after the prune


def test_prune_delivered_is_a_no_op_off_the_sql_transport() -> None:
    with Bus("memory://", prefix=unique_prefix()) as bus:
        assert bus.prune_delivered(timedelta(0)) == 0


def test_two_processes_share_a_sqlite_queue(tmp_path: Path) -> None:
    url = f"sqla+sqlite:///{tmp_path / 'shared.db'}"
    prefix = unique_prefix()
    code = (
        "import sys\n"
        "from agent.messaging.bus import Bus\n"
        "from agent.messaging.topology import COMMANDS\n"
        "with Bus(sys.argv[1], prefix=sys.argv[2]) as bus:\n"
        "    for n in range(20):\n"
        "        bus.publish(COMMANDS, {'n': n}, message_id=f'x-{n}')\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, url, prefix],
        cwd=REPO,
        check=True,
        timeout=60,
    )

    with Bus(url, prefix=prefix, polling_interval=0.02) as bus:
        assert [d.message_id for d in drain(bus, COMMANDS)] == [f"x-{n}" for n in range(20)]


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_consumers_on_one_queue_share_the_messages_without_duplicates(bus: Bus) -> None:
    ids = [f"m-{n:02d}" for n in range(40)]
    for message_id in ids:
        bus.publish(COMMANDS, {"id": message_id}, message_id=message_id)
    got: dict[str, list[str]] = {"a": [], "b": []}
    stop = threading.Event()

    def consumer(name: str) -> None:
        def handle(delivery: Delivery) -> None:
            got[name].append(delivery.message_id)
            time.sleep(0.005)  # long enough for the other consumer to take its turn
            if len(got["a"]) + len(got["b"]) >= len(ids):
                stop.set()

        bus.consume(COMMANDS, handle, stop=stop, poll_seconds=0.1)

    threads = [threading.Thread(target=consumer, args=(name,)) for name in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(got["a"] + got["b"]) == ids
    assert got["a"]
    assert got["b"]
