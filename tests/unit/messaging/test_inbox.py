"""The inbox: recording a processed message is idempotent, also inside a transaction and across processes."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agent.messaging.inbox import Inbox

REPO = Path(__file__).resolve().parents[3]


def test_recording_a_message_twice_is_new_only_the_first_time(inbox: Inbox) -> None:
    assert inbox.seen("writer", "m-1") is False

    assert inbox.record("writer", "m-1", "committed") is True
    assert inbox.record("writer", "m-1", "failed") is False

    assert inbox.seen("writer", "m-1") is True
    assert inbox.outcome("writer", "m-1") == "committed"


def test_each_consumer_has_its_own_records(inbox: Inbox) -> None:
    assert inbox.record("writer", "m-1") is True
    assert inbox.claim("results", "m-1") is True
    assert inbox.seen("agent", "m-1") is False


def test_a_record_made_in_a_rolled_back_transaction_is_forgotten(inbox: Inbox, app_engine: Engine) -> None:
    with pytest.raises(RuntimeError), app_engine.begin() as conn:
        assert inbox.record("results", "m-1", conn=conn) is True
        raise RuntimeError("the effect failed")

    assert inbox.seen("results", "m-1") is False


def test_a_duplicate_inside_the_callers_transaction_leaves_that_transaction_usable(
    inbox: Inbox, app_engine: Engine
) -> None:
    inbox.record("results", "m-1")
    with app_engine.begin() as conn:
        assert inbox.record("results", "m-1", conn=conn) is False
        assert inbox.record("results", "m-2", conn=conn) is True

    assert inbox.seen("results", "m-2") is True


def test_two_processes_recording_the_same_messages_get_each_one_new_exactly_once(
    inbox: Inbox, tmp_path: Path
) -> None:
    database = tmp_path / "app.db"
    command = [sys.executable, "-m", "tests.unit.messaging.record_many", str(database), "writer", "150"]
    workers = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]

    assert all(worker.returncode == 0 for worker in workers)
    assert sum(int(out.strip()) for out in outputs) == 150
    assert all(inbox.seen("writer", f"m-{n}") for n in range(150))


def test_prune_forgets_only_old_records(inbox: Inbox) -> None:
    inbox.record("writer", "m-1")

    assert inbox.prune(timedelta(days=7)) == 0
    assert inbox.prune(timedelta(days=7), now=datetime.now(UTC) + timedelta(days=8)) == 1
    assert inbox.seen("writer", "m-1") is False


@pytest.mark.parametrize(
    ("consumer", "message_id", "outcome", "message"),
    [
        ("", "m-1", None, "consumer must be a non-empty name"),
        ("c" * 33, "m-1", None, "consumer must be a non-empty name"),
        ("writer", "", None, "message_id must be a non-empty string"),
        ("writer", "m" * 129, None, "message_id must be a non-empty string"),
        ("writer", "m-1", "o" * 33, "outcome must be a string of at most 32"),
    ],
)
def test_bad_input_gets_a_clear_one_line_error(
    inbox: Inbox, consumer: str, message_id: str, outcome: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        inbox.record(consumer, message_id, outcome)
    assert "\n" not in str(caught.value)
