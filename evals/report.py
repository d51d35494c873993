"""The suite's verdict and its reports: ``results.json``, ``junit.xml`` and ``summary.md``.

Scores are means over every run (a case repeated N times counts N times). Consistency over
repeats is pass^k: for each case with c passing runs out of n, C(c, k) / C(n, k) — the chance
that k runs drawn from its n all pass — averaged over cases, for k = 1..n.
"""

from __future__ import annotations

import json
from collections import defaultdict
from math import comb
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from pydantic import BaseModel, Field

from evals.results import CaseResult
from evals.suite import Suite


class Scores(BaseModel):
    """Scores of a group of runs (a category, or the whole suite)."""

    runs: int
    passed: int
    trajectory: float
    proposal_accuracy: float
    outcome: float
    safety: float = Field(description="share of runs with no safety violation")
    violations: int


class ThresholdResult(BaseModel):
    name: str
    value: float
    threshold: float
    ok: bool


class Summary(BaseModel):
    model: str
    cases: int
    repeat: int
    seconds: float
    overall: Scores
    categories: dict[str, Scores]
    thresholds: list[ThresholdResult]
    pass_hat_k: dict[int, float] = Field(description="pass^k over cases, k = 1..repeat")
    consistency: dict[str, str] = Field(description="passing runs per case, e.g. '3/3'")

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.thresholds)


def scores_of(results: list[CaseResult]) -> Scores:
    runs = len(results) or 1
    return Scores(
        runs=len(results),
        passed=sum(r.passed for r in results),
        trajectory=round(sum(r.trajectory for r in results) / runs, 4),
        proposal_accuracy=round(sum(r.proposal_accuracy for r in results) / runs, 4),
        outcome=round(sum(r.outcome for r in results) / runs, 4),
        safety=round(sum(r.safe for r in results) / runs, 4),
        violations=sum(len(r.violations) for r in results),
    )


def pass_hat_k(results: list[CaseResult], repeat: int) -> tuple[dict[int, float], dict[str, str]]:
    by_case: dict[str, list[bool]] = defaultdict(list)
    for result in results:
        by_case[result.case_id].append(result.passed)
    consistency = {case: f"{sum(runs)}/{len(runs)}" for case, runs in by_case.items()}
    values: dict[int, float] = {}
    for k in range(1, repeat + 1):
        per_case = [comb(sum(runs), k) / comb(len(runs), k) for runs in by_case.values() if len(runs) >= k]
        values[k] = round(sum(per_case) / len(per_case), 4) if per_case else 0.0
    return values, consistency


def summarize(results: list[CaseResult], suite: Suite, *, model: str, repeat: int, seconds: float) -> Summary:
    categories: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        categories[result.category].append(result)
    overall = scores_of(results)
    limits = suite.thresholds
    thresholds = [
        ThresholdResult(name=name, value=value, threshold=limit, ok=value >= limit)
        for name, value, limit in (
            ("trajectory", overall.trajectory, limits.trajectory),
            ("proposal_accuracy", overall.proposal_accuracy, limits.proposal_accuracy),
            ("outcome", overall.outcome, limits.outcome),
        )
    ]
    # Safety is not a rate to clear: one violation fails the suite, and so does running nothing.
    thresholds.append(
        ThresholdResult(
            name="safety",
            value=overall.safety,
            threshold=limits.safety,
            ok=bool(results) and overall.violations == 0,
        )
    )
    hat, consistency = pass_hat_k(results, repeat)
    return Summary(
        model=model,
        cases=len({r.case_id for r in results}),
        repeat=repeat,
        seconds=round(seconds, 1),
        overall=overall,
        categories={name: scores_of(runs) for name, runs in sorted(categories.items())},
        thresholds=thresholds,
        pass_hat_k=hat,
        consistency=consistency,
    )


# ---- writers ----------------------------------------------------------------------------------------


def write_reports(summary: Summary, results: list[CaseResult], directory: Path) -> dict[str, Path]:
    """Write the three reports into ``directory``; returns their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "results.json",
        "junit": directory / "junit.xml",
        "markdown": directory / "summary.md",
    }
    paths["json"].write_text(json_report(summary, results), encoding="utf-8")
    paths["junit"].write_bytes(junit_report(summary, results))
    paths["markdown"].write_text(markdown_report(summary, results), encoding="utf-8")
    return paths


def json_report(summary: Summary, results: list[CaseResult]) -> str:
    data: dict[str, Any] = {
        "summary": {**summary.model_dump(mode="json"), "ok": summary.ok},
        "results": [{**r.model_dump(mode="json"), "passed": r.passed, "name": r.name} for r in results],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def failure_text(result: CaseResult) -> str:
    """Every failed score of a run with its expected-vs-actual lines."""
    parts = []
    for name, lines in result.diff.items():
        parts.append(f"[{name}]")
        parts += [f"  {line}" for line in lines]
    return "\n".join(parts)


def _message(result: CaseResult) -> str:
    if result.error:
        return f"crashed: {result.error.splitlines()[0]}"
    failed = [
        f"{name} {value:.2f}"
        for name, value in (
            ("trajectory", result.trajectory),
            ("proposal accuracy", result.proposal_accuracy),
            ("outcome", result.outcome),
        )
        if value < 1.0
    ]
    if result.violations:
        failed.insert(0, f"{len(result.violations)} safety violation(s)")
    return "; ".join(failed)


def junit_report(summary: Summary, results: list[CaseResult]) -> bytes:
    root = ET.Element(
        "testsuites",
        name="countersign-evals",
        tests=str(len(results)),
        failures=str(sum(not r.passed for r in results)),
        time=f"{summary.seconds:.3f}",
    )
    by_category: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        by_category[result.category].append(result)
    for category, runs in sorted(by_category.items()):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=category,
            tests=str(len(runs)),
            failures=str(sum(not r.passed and not r.error for r in runs)),
            errors=str(sum(bool(r.error) for r in runs)),
            time=f"{sum(r.seconds for r in runs):.3f}",
        )
        for result in runs:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"evals.{category}",
                name=result.name,
                time=f"{result.seconds:.3f}",
            )
            ET.SubElement(
                ET.SubElement(case, "properties"),
                "property",
                name="scores",
                value=f"trajectory={result.trajectory:.2f} proposal={result.proposal_accuracy:.2f} "
                f"outcome={result.outcome:.2f} safety={'ok' if result.safe else 'VIOLATED'}",
            )
            if not result.passed:
                tag = "error" if result.error else "failure"
                failure = ET.SubElement(case, tag, message=_message(result), type=tag)
                failure.text = failure_text(result)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def markdown_report(summary: Summary, results: list[CaseResult]) -> str:
    verdict = "PASS" if summary.ok else "FAIL"
    lines = [
        f"# Countersign evals: {verdict}",
        "",
        f"Model `{summary.model}` · {summary.cases} cases × {summary.repeat} run(s) = {summary.overall.runs} runs · "
        f"{summary.overall.passed} passed · {summary.seconds:.1f} s",
        "",
        "| score | value | threshold | |",
        "|---|---:|---:|---|",
    ]
    lines += [
        f"| {t.name} | {_pct(t.value)} | {_pct(t.threshold)} | {'ok' if t.ok else '**below**'} |"
        for t in summary.thresholds
    ]
    lines += [
        "",
        "## Per category",
        "",
        "| category | runs | passed | trajectory | proposal accuracy | outcome | safety violations |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in summary.categories.items():
        lines.append(
            f"| {name} | {s.runs} | {s.passed} | {_pct(s.trajectory)} | {_pct(s.proposal_accuracy)} | "
            f"{_pct(s.outcome)} | {s.violations} |"
        )
    if summary.repeat > 1:
        lines += ["", "## Consistency (pass^k)", ""]
        lines += [f"- pass^{k}: {_pct(v)}" for k, v in summary.pass_hat_k.items()]
        flaky = {c: v for c, v in summary.consistency.items() if len(set(v.split("/"))) > 1}
        if flaky:
            lines += ["", "Cases that did not pass every run:", ""]
            lines += [f"- `{case}`: {value}" for case, value in sorted(flaky.items())]
    failed = [r for r in results if not r.passed]
    lines += ["", f"## Failures ({len(failed)})", ""]
    if not failed:
        lines.append("None.")
    for result in failed:
        lines += [
            f"### `{result.name}` ({result.category}) — {_message(result)}",
            "",
            result.description,
            "",
            "```diff" if "trajectory" in result.diff else "```",
            failure_text(result),
            "```",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
