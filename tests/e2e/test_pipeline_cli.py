"""The pipeline's commands in their own processes, as an operator runs them: workers, events,
queue status and reconciliation, on the embedded defaults and with external workers."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env, run_cli

pytestmark = pytest.mark.e2e

STOCK_FACTS = [
    "--fact", "product_code=HB-M8-40",
    "--fact", "available=320",
    "--fact", "reorder_point=500",
    "--fact", "supplier_code=F00001",
]  # fmt: skip


def committed_order(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    chat = run_cli(
        data_dir, "chat", "--user", "alice", "order 40 hex bolts M8 from Fastenal", "--json", check=True
    )
    [proposal] = json.loads(chat.stdout)["proposals"]
    approved = run_cli(data_dir, "approve", proposal["id"], "--user", "bob", "--json", check=True, env=env)
    result: dict[str, object] = json.loads(approved.stdout)
    return result


def test_an_event_emitted_by_hand_starts_a_run_that_files_a_replenishment_order(data_dir: Path) -> None:
    emitted = run_cli(
        data_dir,
        "events",
        "emit",
        "stock_below_reorder_point",
        "HB-M8-40",
        *STOCK_FACTS,
        "--json",
        check=True,
    )
    run = json.loads(emitted.stdout)["run"]
    assert run["status"] == "proposed" and run["owner"] == "alice"

    pending = json.loads(run_cli(data_dir, "approvals", "list", "--json", check=True).stdout)
    [order] = [p for p in pending if p["thread_id"] == run["thread_id"]]
    assert order["action"] == "create_purchase_order" and order["requester"] == "alice"
    assert order["payload"]["supplier_code"] == "F00001"
    assert order["payload"]["lines"][0]["product_code"] == "HB-M8-40"
    assert float(order["payload"]["lines"][0]["quantity"]) == 680  # back up to twice the reorder point


def test_an_event_of_an_unknown_kind_is_refused_with_one_line(data_dir: Path) -> None:
    refused = run_cli(data_dir, "events", "emit", "earthquake", "HB-M8-40")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error:") and len(refused.stderr.strip().splitlines()) == 1


def test_the_erp_scan_publishes_the_seeded_alerts_once_and_the_agent_handles_them(data_dir: Path) -> None:
    first = json.loads(run_cli(data_dir, "events", "scan", "--json", check=True).stdout)
    again = json.loads(run_cli(data_dir, "events", "scan", "--json", check=True).stdout)

    kinds = {(e["kind"], e["subject"]) for e in first}
    assert ("stock_below_reorder_point", "HB-M8-40") in kinds
    assert again == []  # an alert fires when its condition starts, not on every scan
    handled = json.loads(run_cli(data_dir, "events", "list", "--limit", "500", "--json", check=True).stdout)
    assert {r["event_id"] for r in handled} == {e["event_id"] for e in first}


def test_with_external_workers_an_approval_waits_for_a_worker_process(data_dir: Path) -> None:
    external = {"COUNTERSIGN_WORKERS": "external"}
    chat = run_cli(
        data_dir, "chat", "--user", "alice", "order 40 hex bolts M8 from Fastenal", "--json", check=True
    )
    [proposal] = json.loads(chat.stdout)["proposals"]
    approved = run_cli(
        data_dir,
        "approve",
        proposal["id"],
        "--user",
        "bob",
        "--wait",
        "0",
        "--json",
        check=True,
        env=external,
    )
    assert json.loads(approved.stdout)["status"] == "approved"

    worked = run_cli(data_dir, "worker", "--role", "all", "--once", check=True, env=external)

    assert "commands 1" in worked.stdout and "results 1" in worked.stdout
    shown = json.loads(run_cli(data_dir, "approvals", "show", proposal["id"], "--json", check=True).stdout)
    assert shown["status"] == "committed"


def test_a_worker_with_an_unknown_role_is_refused_with_one_line(data_dir: Path) -> None:
    refused = run_cli(data_dir, "worker", "--role", "everything")
    assert refused.returncode == 1
    assert "unknown role 'everything'" in refused.stderr


def test_a_long_running_worker_reports_progress_and_stops_cleanly_on_sigterm(data_dir: Path) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "worker", "--status-every", "1"],
        cwd=REPO,
        env=cli_env(data_dir, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    # Signal only once it says it runs (a loaded machine may take a while to start it), then
    # give it time for a progress line.
    started = worker.stdout.readline()
    assert "worker (all)" in started, started
    time.sleep(2.5)
    worker.send_signal(signal.SIGTERM)
    rest, err = worker.communicate(timeout=60)
    out = started + rest
    assert worker.returncode == 0, err
    assert "stopped." in out
    assert "commands 0" in out


def test_reconcile_reports_a_planted_duplicate_and_files_its_compensation(data_dir: Path) -> None:
    order = committed_order(data_dir)
    receipt = order["receipt"]
    assert isinstance(receipt, dict)
    with sqlite3.connect(data_dir / "legacy_erp.db") as db:  # a legacy retry re-entered the order
        columns = [c[1] for c in db.execute("PRAGMA table_info(SC7010)") if c[1] != "R_E_C_N_O_"]
        listed = ", ".join(columns)
        copied = ", ".join("'009903'" if c == "C7_NUM" else c for c in columns)
        db.execute(
            f"INSERT INTO SC7010 ({listed}) SELECT {copied} FROM SC7010 WHERE C7_NUM = ?",
            (receipt["document_id"],),
        )

    reconciled = json.loads(run_cli(data_dir, "reconcile", "--json", check=True).stdout)

    [duplicate] = reconciled["discrepancies"]
    assert duplicate["kind"] == "duplicate" and duplicate["document_ids"] == ["009903"]
    compensation = json.loads(
        run_cli(data_dir, "approvals", "show", duplicate["compensation_id"], "--json", check=True).stdout
    )
    assert compensation["action"] == "cancel_purchase_order" and compensation["status"] == "pending"
    shown = run_cli(data_dir, "reconcile", check=True)
    assert "duplicate" in shown.stdout and duplicate["compensation_id"] in shown.stdout


def test_reconcile_watch_runs_a_pass_per_interval_until_stopped(data_dir: Path) -> None:
    watch = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "reconcile", "--watch", "--interval", "1"],
        cwd=REPO,
        env=cli_env(data_dir, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stdout is not None
    # Signal after two passes were reported, however long a loaded machine takes to start it.
    seen: list[str] = []
    while sum("reconciliation #" in line for line in seen) < 2:
        line = watch.stdout.readline()
        assert line, f"reconcile --watch ended early: {''.join(seen)}"
        seen.append(line)
    watch.send_signal(signal.SIGTERM)
    _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert "".join(seen).count("reconciliation #") >= 2


def test_queue_status_shows_a_dead_letter_with_its_reason(data_dir: Path) -> None:
    from agent.service import build_service
    from agent.settings import Settings

    service = build_service(Settings(data_dir=data_dir, model="offline"))
    try:
        assert service.pipeline is not None
        service.pipeline.bus.publish_raw("countersign.commands", b"not json", message_id="broken-1")
        service.pipeline.drain()
    finally:
        service.close()

    status = json.loads(run_cli(data_dir, "queue", "status", "--json", check=True).stdout)

    [letter] = status["queues"]["countersign.commands"]["dead_letters"]
    assert letter["message_id"] == "broken-1" and letter["error"]
    shown = run_cli(data_dir, "queue", "status", check=True).stdout
    assert "broken-1" in shown and "dead-lettered" in shown
