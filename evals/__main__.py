"""``python -m evals``: run the eval suite and write its reports (``countersign eval`` runs this).

    python -m evals [--model offline|openai:<model>] [--cases PATTERN] [--repeat N]
                    [--report DIR] [--workers N] [--suite FILE] [--list] [--keep-data]

Exit codes: 0 every threshold met and no safety violation; 1 below a threshold or any safety
violation; 2 a usage error or a case file that does not validate (one line per problem).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from agent.settings import Settings
from evals.cases import CaseError, load_cases, select
from evals.report import summarize, write_reports
from evals.results import CaseResult
from evals.runner import Harness, RunOptions, run_suite
from evals.suite import SuiteError, load_suite

app = typer.Typer(
    add_completion=False, help="Run Countersign's eval suite and write JSON, JUnit and Markdown reports."
)


def progress_line(done: int, total: int, result: CaseResult) -> None:
    verdict = "PASS" if result.passed else ("ERROR" if result.error else "FAIL")
    width = len(str(total))
    print(
        f"[{done:>{width}}/{total}] {result.category} {result.name} {verdict} ({result.seconds:.1f}s)",
        file=sys.stderr,
        flush=True,
    )


def run(
    *,
    model: str = "offline",
    cases: str | None = None,
    repeat: int = 1,
    report: Path | None = None,
    workers: int | None = None,
    suite_file: Path | None = None,
    keep_data: bool = False,
    harness: Harness | None = None,
    quiet: bool = False,
) -> int:
    """Run the suite as the command line does and return its exit code (also for tests)."""
    try:
        suite = load_suite(suite_file)
        selected = select(load_cases(suite), cases)
    except (SuiteError, CaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not selected:
        print(f"error: no case matches {cases!r}", file=sys.stderr)
        return 2
    if model != "offline" and not (model.startswith("openai:") and len(model) > len("openai:")):
        print(f"error: --model must be 'offline' or 'openai:<model>', not {model!r}", file=sys.stderr)
        return 2
    try:
        configured = Settings()  # the environment and .env, as the product reads them
    except ValidationError as exc:
        print(f"error: invalid settings: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    openai_key = configured.openai_api_key.get_secret_value() if configured.openai_api_key else None
    if model != "offline" and not openai_key:
        print(f"error: --model {model} needs OPENAI_API_KEY (any value for a local server)", file=sys.stderr)
        return 2
    options = RunOptions(
        model=model,
        openai_base_url=configured.openai_base_url,
        openai_api_key=openai_key if model != "offline" else None,
        openai_use_responses_api=configured.openai_use_responses_api,
        defaults=suite.defaults,
        harness=harness or Harness(),
        keep_data=keep_data,
    )
    count = workers if workers is not None else (os.cpu_count() or 1)
    started = time.monotonic()
    if not quiet:
        print(
            f"Running {len(selected)} case(s) x {repeat} on model {model} with {count} worker(s)...",
            file=sys.stderr,
        )
    results = run_suite(
        selected, options, repeat=repeat, workers=count, progress=None if quiet else progress_line
    )
    summary = summarize(results, suite, model=model, repeat=repeat, seconds=time.monotonic() - started)
    out = report if report is not None else Path(suite.defaults.report_dir)
    paths = write_reports(summary, results, out)
    overall = summary.overall
    line = (
        f"{'PASS' if summary.ok else 'FAIL'}: {overall.passed}/{overall.runs} runs passed · "
        f"trajectory {overall.trajectory:.1%} · proposal accuracy {overall.proposal_accuracy:.1%} · "
        f"outcome {overall.outcome:.1%} · safety violations {overall.violations} · {summary.seconds:.1f}s"
    )
    print(line, file=sys.stderr)
    for threshold in summary.thresholds:
        if not threshold.ok:
            print(
                f"  below threshold: {threshold.name} {threshold.value:.1%} < {threshold.threshold:.1%}",
                file=sys.stderr,
            )
    print(f"  reports: {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0 if summary.ok else 1


@app.command()
def main(
    model: Annotated[
        str, typer.Option(help="offline, or openai:<model> (OPENAI_BASE_URL / OPENAI_API_KEY)")
    ] = "offline",
    cases: Annotated[
        str | None, typer.Option(help="glob(s) on case id or category, comma-separated, e.g. 'write.*,po-*'")
    ] = None,
    repeat: Annotated[
        int, typer.Option(min=1, max=100, help="runs per case; reports pass^k consistency")
    ] = 1,
    report: Annotated[
        Path | None, typer.Option(help="report directory [default: the suite's report_dir]")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="parallel worker processes [default: CPU count]")
    ] = None,
    suite: Annotated[
        Path | None, typer.Option(help="suite configuration [default: evals/suite.toml]")
    ] = None,
    list_cases: Annotated[bool, typer.Option("--list", help="list the selected cases and exit")] = False,
    keep_data: Annotated[bool, typer.Option(help="keep each case's data directory (for debugging)")] = False,
) -> None:
    """Run the eval suite; exit 0 when every threshold is met and no safety invariant is broken."""
    if list_cases:
        try:
            selected = select(load_cases(load_suite(suite)), cases)
        except (SuiteError, CaseError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None
        for case in selected:
            print(f"{case.category:32} {case.id:48} {case.description}")
        raise typer.Exit(0)
    raise typer.Exit(
        run(
            model=model,
            cases=cases,
            repeat=repeat,
            report=report,
            workers=workers,
            suite_file=suite,
            keep_data=keep_data,
        )
    )


if __name__ == "__main__":
    app()
