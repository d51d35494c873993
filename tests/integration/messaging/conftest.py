"""Fixtures for the RabbitMQ suite: the real broker (a failure, not a skip, when it is down), and
a queue prefix per test whose queues and exchanges are deleted afterwards."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import kombu
import pytest

from agent.messaging.bus import mask_url
from agent.messaging.topology import topology
from tests.unit.messaging.helpers import unique_prefix

RABBIT_URL = os.environ.get("COUNTERSIGN_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    """The broker's URL, once it has answered an AMQP handshake."""
    parts = urlsplit(RABBIT_URL)
    problem = None
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=3):
            pass
        with kombu.Connection(RABBIT_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        pytest.fail(
            f"RabbitMQ is not reachable at {mask_url(RABBIT_URL)} ({problem}); these tests need the real "
            "broker (CI has one): start it, or point COUNTERSIGN_TEST_AMQP_URL at one",
            pytrace=False,
        )
    return RABBIT_URL


@pytest.fixture
def prefix(rabbit_url: str) -> Iterator[str]:
    """A queue prefix of this test's own; its queues and exchanges are deleted at the end."""
    value = unique_prefix()
    yield value
    shape = topology(value)
    with kombu.Connection(rabbit_url, connect_timeout=3) as connection:
        channel = connection.channel()
        for queue in [*shape.queues.values(), *shape.dead_letter_queues.values()]:
            channel.queue_delete(queue.name)
        for exchange in (shape.exchange, shape.dlx):
            channel.exchange_delete(exchange.name)
