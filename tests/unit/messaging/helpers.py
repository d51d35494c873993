"""Helpers for the messaging tests: drain a queue, make unique prefixes, fake per-thread clocks."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from agent.messaging.bus import Bus, Delivery


def unique_prefix() -> str:
    """A queue prefix no other test uses (the memory transport and RabbitMQ are shared)."""
    return f"t{uuid.uuid4().hex[:10]}."


def drain(
    bus: Bus,
    queue: str,
    handler: Callable[[Delivery], None] | None = None,
    *,
    quiet_seconds: float = 0.3,
    timeout: float = 20.0,
    prefetch: int = 1,
) -> list[Delivery]:
    """Consume ``queue`` until nothing arrives for ``quiet_seconds``; every delivery seen, in order.

    ``handler`` decides each delivery's fate (it may raise); without one every delivery is acked.
    """
    seen: list[Delivery] = []
    stop = threading.Event()
    deadline = time.monotonic() + timeout

    def handle(delivery: Delivery) -> None:
        seen.append(delivery)
        if time.monotonic() > deadline:
            stop.set()
        if handler is not None:
            handler(delivery)

    def idle() -> None:
        stop.set()

    bus.consume(queue, handle, stop=stop, idle=idle, poll_seconds=quiet_seconds, prefetch=prefetch)
    return seen


class ThreadClocks:
    """A virtual clock per thread: reading it is free, sleeping moves only that thread's time.

    Every start is then exactly the slot the pacer handed out, whatever the OS scheduler does,
    so the test checks the pacer's promise and nothing else.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def now(self) -> float:
        return float(getattr(self._local, "now", 0.0))

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self._local.now = self.now() + seconds
