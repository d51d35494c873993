"""The bus against the real RabbitMQ: durability, confirms, dead letters, lost connections, crashes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import kombu
import pytest
from amqp.exceptions import PreconditionFailed

from agent.db import make_engine
from agent.messaging.bus import Bus, Delivery
from agent.messaging.inbox import Inbox
from agent.messaging.topology import COMMANDS, EVENTS, dlq_name, physical_name, topology
from tests.support.tcp_proxy import TcpProxy
from tests.unit.messaging.helpers import drain

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def _get_unacked(connection: kombu.Connection, queue: str) -> kombu.Message:
    """The next message of ``queue`` fetched by hand, as kombu wraps it (not acked)."""
    message = kombu.Queue(queue, no_declare=True)(connection.channel()).get(no_ack=False)
    assert message is not None, f"{queue} is empty"
    return message


def _bus(url: str, prefix: str, **options: object) -> Bus:
    return Bus(url, prefix=prefix, max_attempts=3, retry_delay_seconds=0.01, **options)  # type: ignore[arg-type]


def test_a_message_round_trips_durable_persistent_and_confirmed(rabbit_url: str, prefix: str) -> None:
    with _bus(rabbit_url, prefix) as bus:
        bus.publish(COMMANDS, {"proposal_id": "p1"}, message_id="m-1", headers={"x-subject": "p1"})
        assert bus.confirms is True
        assert bus.size(COMMANDS) == 1

        name = physical_name(COMMANDS, prefix)
        with kombu.Connection(rabbit_url) as raw:
            message = _get_unacked(raw, name)
            assert message.properties["delivery_mode"] == 2
            assert message.properties["message_id"] == "m-1"
            assert message.headers["x-subject"] == "p1"
            message.requeue()
            # Declared durable, with the DLX: declaring it otherwise is refused by the broker.
            with pytest.raises(PreconditionFailed):
                raw.channel().queue_declare(queue=name, durable=False)
            with pytest.raises(PreconditionFailed):
                raw.channel().exchange_declare(
                    exchange=topology(prefix).exchange.name, type="direct", durable=False
                )

        [delivery] = drain(bus, COMMANDS)

    assert (delivery.message_id, delivery.body, delivery.headers["x-subject"]) == (
        "m-1",
        {"proposal_id": "p1"},
        "p1",
    )
    assert delivery.redelivered is True  # it was handed out (to the raw check) and requeued


def test_a_poison_message_goes_to_the_dlq_and_the_next_messages_keep_flowing(
    rabbit_url: str, prefix: str
) -> None:
    with _bus(rabbit_url, prefix) as bus:
        bus.publish(COMMANDS, {"n": 1}, message_id="before")
        bus.publish_raw(COMMANDS, b"\xff\xfe not text", message_id="garbage")
        bus.publish(COMMANDS, {"n": 2}, message_id="after")

        handled = [d.message_id for d in drain(bus, COMMANDS)]
        dead = bus.dead_letters(COMMANDS)
        dead_again = bus.dead_letters(COMMANDS)

    assert handled == ["before", "after"]
    assert [d.message_id for d in dead] == [d.message_id for d in dead_again] == ["garbage"]
    assert dead[0].headers["x-error"].startswith("body is not UTF-8 text")
    assert dead[0].headers["x-original-queue"] == COMMANDS


def test_a_failing_handler_is_retried_then_dead_lettered_on_rabbitmq(rabbit_url: str, prefix: str) -> None:
    with _bus(rabbit_url, prefix) as bus:
        bus.publish(COMMANDS, {"n": 1}, message_id="flaky")

        def handler(_delivery: Delivery) -> None:
            raise RuntimeError("ERP unavailable")

        attempts = [d.attempts for d in drain(bus, COMMANDS, handler)]
        [dead] = bus.dead_letters(COMMANDS)

    assert attempts == [0, 1, 2]
    assert dead.headers["x-error"] == "RuntimeError: ERP unavailable"
    assert dead.headers["x-attempts"] == 3


def test_a_message_the_broker_dead_letters_lands_in_the_dlq_too(rabbit_url: str, prefix: str) -> None:
    with _bus(rabbit_url, prefix) as bus:
        bus.publish(EVENTS, {"kind": "invoice.posted"}, message_id="e-1")
        with kombu.Connection(rabbit_url) as raw:
            _get_unacked(raw, physical_name(EVENTS, prefix)).reject(requeue=False)

        [dead] = bus.dead_letters(EVENTS)

    assert dead.message_id == "e-1"
    assert dead.body == {"kind": "invoice.posted"}
    assert dead.queue == dlq_name(EVENTS)
    assert dead.headers["x-death"][0]["reason"] == "rejected"


def test_a_consumer_keeps_consuming_through_dropped_connections_and_processes_each_message_once(
    rabbit_url: str, prefix: str, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    inbox = Inbox(engine)
    inbox.create_schema()
    ids = [f"m-{n:03d}" for n in range(200)]
    target = urlsplit(rabbit_url)
    deliveries: list[Delivery] = []
    effects: list[str] = []
    stop = threading.Event()

    with (
        TcpProxy(target.hostname or "127.0.0.1", target.port or 5672) as proxy,
        _bus(rabbit_url, prefix) as publisher,
    ):
        proxied = rabbit_url.replace(target.netloc.split("@")[-1], f"127.0.0.1:{proxy.port}")
        consumer = _bus(proxied, prefix)
        for message_id in ids:
            publisher.publish(COMMANDS, {"id": message_id}, message_id=message_id)

        def handler(delivery: Delivery) -> None:
            deliveries.append(delivery)
            with engine.begin() as conn:
                if inbox.record("test", delivery.message_id, conn=conn):
                    effects.append(delivery.message_id)
            if len(deliveries) in (60, 130):
                # Cut mid-stream: this delivery is recorded but its ack will not reach the broker.
                proxy.drop_all()
            if len(effects) == len(ids):
                stop.set()

        worker = threading.Thread(
            target=consumer.consume,
            args=(COMMANDS, handler),
            kwargs={"stop": stop, "prefetch": 10, "poll_seconds": 0.2},
        )
        worker.start()
        worker.join(timeout=45)
        stop.set()
        worker.join(timeout=5)
        consumer.close()
        connections = proxy.connections_accepted

    assert not worker.is_alive()
    assert {d.message_id for d in deliveries} == set(ids)  # none lost
    assert sorted(effects) == ids  # none doubled
    assert connections >= 3  # the consumer came back twice
    assert any(d.redelivered for d in deliveries)  # the broker handed the unacked ones out again


def test_a_message_whose_consumer_dies_before_the_ack_is_redelivered_to_the_next(
    rabbit_url: str, prefix: str
) -> None:
    with _bus(rabbit_url, prefix) as bus:
        bus.publish(COMMANDS, {"proposal_id": "p9"}, message_id="m-crash")

        crashed = subprocess.run(
            [sys.executable, "-m", "tests.integration.messaging.crashing_consumer", rabbit_url, prefix],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert crashed.returncode == 1, crashed.stderr
        assert crashed.stdout.strip() == "m-crash"

        [delivery] = drain(bus, COMMANDS, quiet_seconds=1.0)

    assert delivery.message_id == "m-crash"
    assert delivery.redelivered is True
    assert delivery.attempts == 0
    assert delivery.body == {"proposal_id": "p9"}
