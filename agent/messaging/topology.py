"""The names and shapes of Countersign's queues: one direct exchange, one dead-letter exchange.

Every queue is bound to the exchange ``countersign`` under its own name; every queue has a
dead-letter twin ``<name>.dlq`` bound to ``countersign.dlx``. On RabbitMQ the queues carry
``x-dead-letter-exchange``, so a message the broker dead-letters (rejected without requeue) lands
in the twin as well. A ``prefix`` gives a separate, complete set of names (tests isolate with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kombu.entity import Exchange, Queue

COMMANDS = "countersign.commands"
RESULTS = "countersign.results"
EVENTS = "countersign.events"
QUEUES: tuple[str, ...] = (COMMANDS, RESULTS, EVENTS)

EXCHANGE = "countersign"
DLX = "countersign.dlx"
DLQ_SUFFIX = ".dlq"

# Names travel as AMQP short strings and as SQL values: keep them plain and bounded.
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,64}")


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is usable in queue and exchange names; a one-line ValueError otherwise."""
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(f"bad queue prefix {prefix!r}: use at most 64 letters, digits, '.', '_' or '-'")
    return prefix


def check_queue(queue: str) -> str:
    """``queue`` if it is one of Countersign's queues; a one-line ValueError otherwise."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}: expected one of {', '.join(QUEUES)}")
    return queue


def dlq_name(queue: str) -> str:
    """The dead-letter twin of ``queue`` (``countersign.commands`` → ``countersign.commands.dlq``)."""
    return f"{queue}{DLQ_SUFFIX}"


def exchange_name(prefix: str = "") -> str:
    return f"{check_prefix(prefix)}{EXCHANGE}"


def dlx_name(prefix: str = "") -> str:
    return f"{check_prefix(prefix)}{DLX}"


def physical_name(queue: str, prefix: str = "") -> str:
    """The broker's name for ``queue`` or its ``.dlq`` twin under ``prefix`` (also its routing key)."""
    base = queue.removesuffix(DLQ_SUFFIX)
    check_queue(base)
    return f"{check_prefix(prefix)}{queue}"


@dataclass(frozen=True)
class Topology:
    """The kombu entities for one prefix: declare them all on every (re)connection."""

    prefix: str
    exchange: Exchange
    dlx: Exchange
    queues: dict[str, Queue]  # logical name → work queue
    dead_letter_queues: dict[str, Queue]  # logical name of the work queue → its .dlq

    def entities(self) -> list[Exchange | Queue]:
        """Exchanges first, then queues (a queue's binding needs its exchange)."""
        return [self.exchange, self.dlx, *self.queues.values(), *self.dead_letter_queues.values()]


def topology(prefix: str = "") -> Topology:
    """Durable exchanges and queues; work queues dead-letter into their ``.dlq`` through the DLX."""
    # kombu's entity classes carry no annotations, hence the ignores on their constructors.
    exchange = Exchange(exchange_name(prefix), type="direct", durable=True, delivery_mode=2)  # type: ignore[no-untyped-call]
    dlx = Exchange(dlx_name(prefix), type="direct", durable=True, delivery_mode=2)  # type: ignore[no-untyped-call]
    queues: dict[str, Queue] = {}
    dead: dict[str, Queue] = {}
    for queue in QUEUES:
        name = physical_name(queue, prefix)
        dead_name = physical_name(dlq_name(queue), prefix)
        queues[queue] = Queue(  # type: ignore[no-untyped-call]
            name,
            exchange=exchange,
            routing_key=name,
            durable=True,
            queue_arguments={"x-dead-letter-exchange": dlx.name, "x-dead-letter-routing-key": dead_name},
        )
        dead[queue] = Queue(dead_name, exchange=dlx, routing_key=dead_name, durable=True)  # type: ignore[no-untyped-call]
    return Topology(prefix=prefix, exchange=exchange, dlx=dlx, queues=queues, dead_letter_queues=dead)
