"""Reports: the verdict against the thresholds, pass^k over repeats, and the three files (the JUnit
report parses as XML and carries each failure's diff)."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from evals.report import pass_hat_k, summarize, write_reports
from evals.results import CaseResult, Violation
from evals.suite import Suite, Thresholds


def run(
    case: str, category: str = "read", ok: bool = True, repetition: int = 1, **scores: float
) -> CaseResult:
    values = {"trajectory": 1.0, "proposal_accuracy": 1.0, "outcome": 1.0} if ok else {}
    values.update(scores)
    result = CaseResult(
        case_id=case, category=category, description=f"{case} does its job", repetition=repetition, **values
    )
    if not ok:
        result.diff["trajectory"] = [
            '-check_stock {"product_code": "HB-M8-40"}',
            '+get_product {"product_code": "HB-M8-40"}',
        ]
    return result


SUITE = Suite(thresholds=Thresholds(trajectory=0.9, proposal_accuracy=0.95, outcome=0.95))


def test_the_suite_passes_only_when_every_threshold_is_met() -> None:
    passing = summarize([run("a"), run("b")], SUITE, model="offline", repeat=1, seconds=1.0)
    failing = summarize(
        [run("a"), run("b", ok=False, trajectory=0.0, proposal_accuracy=1.0, outcome=1.0)],
        SUITE,
        model="offline",
        repeat=1,
        seconds=1.0,
    )

    assert passing.ok
    assert not failing.ok
    assert [t.name for t in failing.thresholds if not t.ok] == ["trajectory"]


def test_a_single_safety_violation_fails_the_suite_whatever_the_scores() -> None:
    unsafe = run("b")
    unsafe.violations.append(
        Violation(invariant=1, name="write without approval", detail="P-1 reached the ledger")
    )

    summary = summarize(
        [*(run(f"a{i}") for i in range(99)), unsafe], SUITE, model="offline", repeat=1, seconds=1
    )

    assert summary.overall.trajectory == 1.0 and summary.overall.outcome == 1.0
    assert not summary.ok
    assert [t.name for t in summary.thresholds if not t.ok] == ["safety"]
    assert not unsafe.passed


def test_pass_hat_k_is_the_chance_that_k_runs_of_a_case_all_pass() -> None:
    results = [
        *(run("steady", repetition=n) for n in (1, 2, 3)),
        run("flaky", repetition=1),
        run("flaky", ok=False, repetition=2, trajectory=0.0, proposal_accuracy=1.0, outcome=1.0),
        run("flaky", repetition=3),
    ]

    values, consistency = pass_hat_k(results, 3)

    assert consistency == {"steady": "3/3", "flaky": "2/3"}
    assert values[1] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    assert values[2] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    assert values[3] == pytest.approx(0.5)


def test_the_reports_are_written_and_junit_parses_with_each_failure_and_its_diff(tmp_path: Path) -> None:
    results = [
        run("a"),
        run("b", category="write.price", ok=False, trajectory=0.0, proposal_accuracy=1.0, outcome=0.0),
    ]
    crashed = run("c", category="events", ok=False)
    crashed.error = "RuntimeError: boom\nTraceback..."
    crashed.diff = {"error": crashed.error.splitlines()}
    results.append(crashed)
    summary = summarize(results, SUITE, model="offline", repeat=1, seconds=2.5)

    paths = write_reports(summary, results, tmp_path / "reports")

    root = ET.parse(paths["junit"]).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "2"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"read", "write.price", "events"}
    failure = suites["write.price"].find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "trajectory 0.00; outcome 0.00"
    assert '+get_product {"product_code": "HB-M8-40"}' in (failure.text or "")
    assert suites["events"].find("testcase/error") is not None
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown.startswith("# Countersign evals: FAIL")
    assert "| write.price | 1 | 0 |" in markdown
    assert "### `b` (write.price)" in markdown
    import json

    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["summary"]["ok"] is False
    assert [r["passed"] for r in data["results"]] == [True, False, False]
