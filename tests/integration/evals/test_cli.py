"""``python -m evals``: selecting cases, repeating them for pass^k, and usage errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.__main__ import run
from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.integration


def test_repeat_runs_each_case_n_times_and_reports_pass_hat_k(tmp_path: Path) -> None:
    code = run(
        cases="read-budget-of-cost-center,out-of-scope-travel",
        repeat=2,
        report=tmp_path,
        workers=2,
        quiet=True,
    )

    assert code == 0
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    names = [r["name"] for r in data["results"]]
    assert sorted(names) == [
        "out-of-scope-travel",
        "out-of-scope-travel#2",
        "read-budget-of-cost-center",
        "read-budget-of-cost-center#2",
    ]
    assert names[1] == names[0] + "#2"  # the runs of one case are reported together
    assert data["summary"]["pass_hat_k"] == {"1": 1.0, "2": 1.0}
    assert data["summary"]["consistency"] == {
        "read-budget-of-cost-center": "2/2",
        "out-of-scope-travel": "2/2",
    }
    assert "## Consistency (pass^k)" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cases="no-such-case-*", report=tmp_path, quiet=True) == 2
    assert "no case matches 'no-such-case-*'" in capsys.readouterr().err
    assert run(model="claude", report=tmp_path, quiet=True) == 2
    assert "--model must be 'offline' or 'openai:<model>'" in capsys.readouterr().err
    broken = tmp_path / "suite.toml"
    broken.write_text('[thresholds]\ntrajectory = "high"\n', encoding="utf-8")
    assert run(suite_file=broken, report=tmp_path, quiet=True) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "thresholds.trajectory" in line


def test_a_real_model_without_an_api_key_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("COUNTERSIGN_OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here

    assert run(model="openai:gpt-4o-mini", report=tmp_path, quiet=True) == 2
    assert "needs OPENAI_API_KEY" in capsys.readouterr().err


def test_the_command_lists_the_selected_cases() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--list", "--cases", "write.*"],
        cwd=REPO,
        env=cli_env(REPO / "var-unused"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 15
    assert all(line.startswith("write.") for line in lines)
