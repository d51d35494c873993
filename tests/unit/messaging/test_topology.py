"""Queue and exchange names: one direct exchange, a DLX, a .dlq twin per queue, isolated by prefix."""

from __future__ import annotations

import pytest

from agent.messaging.topology import (
    COMMANDS,
    EVENTS,
    QUEUES,
    RESULTS,
    dlq_name,
    physical_name,
    topology,
)


def test_there_are_three_queues_each_with_a_dead_letter_twin() -> None:
    assert QUEUES == ("countersign.commands", "countersign.results", "countersign.events")
    assert dlq_name(COMMANDS) == "countersign.commands.dlq"


def test_every_queue_is_durable_and_bound_under_its_own_name() -> None:
    shape = topology()

    assert shape.exchange.name == "countersign"
    assert shape.exchange.type == "direct"
    assert shape.exchange.durable
    assert shape.dlx.name == "countersign.dlx"
    for name in (COMMANDS, RESULTS, EVENTS):
        queue = shape.queues[name]
        assert queue.name == queue.routing_key == name
        assert queue.durable
        assert queue.exchange.name == "countersign"
        assert queue.queue_arguments == {
            "x-dead-letter-exchange": "countersign.dlx",
            "x-dead-letter-routing-key": f"{name}.dlq",
        }
        dead = shape.dead_letter_queues[name]
        assert dead.name == dead.routing_key == f"{name}.dlq"
        assert dead.exchange.name == "countersign.dlx"


def test_a_prefix_renames_every_queue_and_exchange() -> None:
    shape = topology("t1.")

    assert shape.exchange.name == "t1.countersign"
    assert shape.dlx.name == "t1.countersign.dlx"
    assert shape.queues[COMMANDS].name == "t1.countersign.commands"
    assert (
        shape.queues[COMMANDS].queue_arguments["x-dead-letter-routing-key"] == "t1.countersign.commands.dlq"
    )
    assert physical_name(dlq_name(EVENTS), "t1.") == "t1.countersign.events.dlq"


@pytest.mark.parametrize(
    ("queue", "message"), [("orders", "unknown queue 'orders'"), ("orders.dlq", "unknown queue")]
)
def test_an_unknown_queue_name_is_refused_with_a_clear_error(queue: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        physical_name(queue)


@pytest.mark.parametrize("prefix", ["has space", "x" * 65, "semi;colon"])
def test_a_bad_prefix_is_refused_with_a_clear_error(prefix: str) -> None:
    with pytest.raises(ValueError, match="bad queue prefix"):
        topology(prefix)
