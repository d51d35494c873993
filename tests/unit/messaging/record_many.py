"""Run in a separate process by the inbox test: record message ids in a shared SQLite inbox.

Usage: python -m tests.unit.messaging.record_many DB_PATH CONSUMER COUNT; prints how many of the
COUNT records were new for this process.
"""

from __future__ import annotations

import sys

from agent.db import make_engine
from agent.messaging.inbox import Inbox


def main(db_path: str, consumer: str, count: int) -> int:
    inbox = Inbox(make_engine(f"sqlite:///{db_path}"))
    return sum(inbox.record(consumer, f"m-{n}", "done") for n in range(count))


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
