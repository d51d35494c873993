"""Run by the crash test: take one message from RabbitMQ, print its id, and die before the ack.

Usage: python -m tests.integration.messaging.crashing_consumer AMQP_URL PREFIX
"""

from __future__ import annotations

import os
import sys
import threading

from agent.messaging.bus import Bus, Delivery
from agent.messaging.topology import COMMANDS


def main(url: str, prefix: str) -> None:
    bus = Bus(url, prefix=prefix)

    def handler(delivery: Delivery) -> None:
        print(delivery.message_id, flush=True)
        os._exit(1)  # as a killed process would: no ack, no clean close

    bus.consume(COMMANDS, handler, stop=threading.Event())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
