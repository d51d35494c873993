"""Bad input and damaged files at the command line: one line on stderr naming what is wrong, never
a traceback; an approval whose queue is unreachable is reported as what happened, exit code 0."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import typer

from agent.cli_common import guarded
from agent.service import build_service
from agent.settings import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def only_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_tool_arguments_nested_fifty_thousand_levels_are_refused_in_one_line(data_dir: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000

    result = run_cli(data_dir, "tools", "call", "search_customers", "--user", "alice", "--args", deep)

    assert result.returncode == 2
    assert only_line(result.stderr) == "error: --args is nested too deeply; pass a flat JSON object"


@pytest.mark.parametrize("name", ["countersign.db", "queue.db", "checkpoints.db", "legacy_erp.db"])
def test_a_damaged_database_file_is_named_in_one_line(
    data_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In process (the guard every command runs under), as the CLI would read its settings.
    for variable in [v for v in os.environ if v.startswith(("COUNTERSIGN_", "OPENAI_"))]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(data_dir))
    settings = Settings(data_dir=data_dir, model="offline")
    build_service(settings).close()  # every file exists, as after real use
    damaged = data_dir / name
    damaged.write_bytes(b"this is no database " * 1000)
    for leftover in data_dir.glob(f"{name}-*"):  # its -wal and -shm would be read with it
        leftover.unlink()

    def ask() -> None:
        service = build_service(settings)
        try:
            service.chat("alice", "how many hex bolts M8 do we have?")
        finally:
            service.close()

    with pytest.raises(typer.Exit) as exited:
        guarded(ask)

    assert exited.value.exit_code == 1
    line = only_line(capsys.readouterr().err)
    assert line.startswith(f"error: {damaged} is damaged or is not a SQLite database"), line


def test_approve_reports_a_recorded_approval_when_the_queue_is_unreachable_and_exits_0(
    data_dir: Path,
) -> None:
    service = build_service(Settings(data_dir=data_dir, model="offline"))
    try:
        proposal = service.chat("alice", "order 40 hex bolts M8 from Fastenal").proposals[0]
    finally:
        service.close()
    broker = f"amqp://guest:guest@127.0.0.1:{closed_port()}//"

    result = run_cli(
        data_dir,
        "approve",
        proposal.id,
        "--user",
        "bob",
        "--json",
        env={"COUNTERSIGN_BROKER_URL": broker},
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "approved"
    assert result.stderr.strip().splitlines()[-1] == (
        "approved; the write is queued and lands when the queue is reachable"
    )
