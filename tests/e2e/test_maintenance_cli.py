"""``countersign maintenance prune`` as an operator runs it: each command its own process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

ORDER = "order 40 hex bolts M8 from Fastenal"


def chat(data_dir: Path) -> dict[str, object]:
    result = run_cli(data_dir, "chat", "--user", "alice", ORDER, "--json", check=True)
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def first_proposal(answer: dict[str, object]) -> str:
    proposals = answer["proposals"]
    assert isinstance(proposals, list)
    return str(proposals[0]["id"])


def test_prune_removes_a_finished_conversation_keeps_a_waiting_one_and_reports_it_as_json(
    data_dir: Path,
) -> None:
    done, waiting = chat(data_dir), chat(data_dir)
    run_cli(data_dir, "approve", first_proposal(done), "--user", "bob", "--json", check=True)

    dry = run_cli(data_dir, "maintenance", "prune", "--dry-run", check=True)
    assert dry.stdout.startswith("Would prune 1 of 2 conversation threads:")
    assert "pending_approval" in dry.stdout and "Dry run: nothing was deleted." in dry.stdout

    pruned = run_cli(data_dir, "maintenance", "prune", "--json", check=True)
    report = json.loads(pruned.stdout)
    assert report["dry_run"] is False and report["backend"] == "sqlite"
    assert report["pruned_threads"] == [done["thread_id"]]
    assert report["threads_pruned"] == 1 and report["threads_kept"] == 1
    assert report["kept"] == {"pending_approval": 1}
    assert report["checkpoints_deleted"] > 0 and report["writes_deleted"] > 0 and report["bytes_freed"] > 0

    shown = run_cli(
        data_dir, "threads", "show", str(done["thread_id"]), "--user", "alice", "--json", check=True
    )
    [note] = json.loads(shown.stdout)["messages"]
    assert "countersign maintenance prune" in note["content"] and first_proposal(done) in note["content"]

    approved = run_cli(data_dir, "approve", first_proposal(waiting), "--user", "bob", "--json", check=True)
    assert json.loads(approved.stdout)["status"] == "committed"

    assert report["records"]["finished_outbox_rows_deleted"] == 0  # kept 30 days by default

    again = json.loads(
        run_cli(data_dir, "maintenance", "prune", "--records-older-than", "0", "--json", check=True).stdout
    )
    assert again["pruned_threads"] == [waiting["thread_id"]]
    assert again["kept"] == {"already_pruned": 1}
    # Both approved writes are committed: their outbox rows and handled-message records go.
    assert again["records"]["finished_outbox_rows_deleted"] == 2
    assert again["records"]["handled_messages_deleted"] >= 2


@pytest.mark.parametrize("option", ["--older-than", "--records-older-than"])
@pytest.mark.parametrize("value", ["abc", "-1", "nan"])
def test_a_bad_number_of_days_is_a_one_line_usage_error(data_dir: Path, option: str, value: str) -> None:
    result = run_cli(data_dir, "maintenance", "prune", option, value)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith(f"error: {option} takes a number of days")


def test_older_than_keeps_a_conversation_that_was_active_today(data_dir: Path) -> None:
    done = chat(data_dir)
    run_cli(data_dir, "approve", first_proposal(done), "--user", "bob", check=True)

    report = json.loads(
        run_cli(data_dir, "maintenance", "prune", "--older-than", "1", "--json", check=True).stdout
    )

    assert report["pruned_threads"] == [] and report["kept"] == {"recently_active": 1}
    assert report["older_than_days"] == 1
