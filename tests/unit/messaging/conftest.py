"""Fixtures for the messaging unit tests: a real bus on ``memory://`` and on a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agent.db import make_engine
from agent.messaging.bus import Bus
from agent.messaging.inbox import Inbox
from agent.messaging.outbox import Outbox
from tests.unit.messaging.helpers import unique_prefix


def bus_url(kind: str, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory://"
    return f"sqla+sqlite:///{tmp_path / 'queue' / 'queue.db'}"


@pytest.fixture(params=["memory", "sqla"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    """A bus with fast retries, on each embedded transport in turn."""
    with Bus(
        bus_url(request.param, tmp_path),
        prefix=unique_prefix(),
        max_attempts=3,
        retry_delay_seconds=0.01,
        polling_interval=0.02,
    ) as instance:
        yield instance


@pytest.fixture
def app_engine(tmp_path: Path) -> Iterator[Engine]:
    """The app database as the product makes it (SQLite, BEGIN IMMEDIATE)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def outbox(app_engine: Engine) -> Outbox:
    box = Outbox(app_engine)
    box.create_schema()
    return box


@pytest.fixture
def inbox(app_engine: Engine) -> Inbox:
    box = Inbox(app_engine)
    box.create_schema()
    return box
