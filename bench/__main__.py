"""``python -m bench`` (``make bench``): every benchmark in one run, one table, one JSON file.

    python -m bench                 # full sizes (several minutes)
    python -m bench --quick         # small sizes, to check the suite works (about a minute)
    python -m bench --only inbox    # one figure (repeatable): gate, inbox, commit, exactly_once,
                                    # reconcile, audit, memory

Each figure measures the product and its baseline side by side in the same run; the table shows
the value, the ratio to the baseline, the goal and PASS/MISS. Progress goes to stderr; the table to
stdout; the figures, with the machine they were measured on, to ``bench/results/bench.json``.
A figure that cannot run (PostgreSQL unreachable, a broken step) is one line in the table, not a
traceback, and the others still run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import Outcome, Row, drop_template, machine, one_line, say, verdict

RESULTS = Path(__file__).resolve().parent / "results" / "bench.json"


@dataclass(frozen=True)
class Sizes:
    gate_loops: int
    inbox_pending: int
    commit_count: int
    commit_writers: tuple[int, ...]
    once_proposals: int
    once_approvers: int
    reconcile_intents: int
    audit_records: int
    audit_single: int
    worker_seconds: float


FULL = Sizes(50, 10_000, 300, (1, 2, 4), 100, 100, 100_000, 1_000_000, 5000, 10.0)
QUICK = Sizes(10, 500, 30, (1, 2), 5, 10, 2000, 20_000, 500, 5.0)


def _gate(sizes: Sizes, work: Path) -> Outcome:
    from bench import gate_bench

    return gate_bench.run(sizes.gate_loops, work / "gate")


def _inbox(sizes: Sizes, work: Path) -> Outcome:
    from bench import inbox_bench

    return inbox_bench.run(sizes.inbox_pending, work / "inbox")


def _commit(sizes: Sizes, work: Path) -> Outcome:
    from bench import commit_bench

    return commit_bench.run(sizes.commit_count, list(sizes.commit_writers), work / "commit")


def _exactly_once(sizes: Sizes, work: Path) -> Outcome:
    from bench import exactly_once_bench

    return exactly_once_bench.run(sizes.once_proposals, sizes.once_approvers, work / "once")


def _reconcile(sizes: Sizes, work: Path) -> Outcome:
    from bench import reconcile_bench

    directory = work / "reconcile"
    directory.mkdir(parents=True, exist_ok=True)
    result = reconcile_bench.measure(sizes.reconcile_intents, directory)
    seconds = result["seconds"]
    first, floor = seconds["reconcile, first pass"], seconds["floor: the raw bulk reads"]
    rows = [
        Row(
            "5 reconciliation",
            f"Reconciler.run() over {sizes.reconcile_intents:,} intents ({result['first_pass_found']} planted found)",
            f"{first:.2f} s",
            f"{first / floor:.1f}x raw bulk reads",
            f"<{reconcile_bench.GOAL_SECONDS:.0f} s",
            verdict(result["goal_met"]),
        ),
        Row("", "  floor: the raw bulk reads", f"{floor:.2f} s", "1.0x"),
        Row("", "  second pass (findings seen again)", f"{seconds['reconcile, findings seen again']:.2f} s"),
    ]
    return Outcome("reconcile", rows, result)


def _audit(sizes: Sizes, work: Path) -> Outcome:
    from bench import audit_bench

    directory = work / "audit"
    directory.mkdir(parents=True, exist_ok=True)
    say(f"audit: appending {sizes.audit_records:,} records")
    result = audit_bench.run(sizes.audit_records, 5000, sizes.audit_single, directory)
    checked = result["verify"]
    base = result["baseline"]
    rows = [
        Row(
            "6 audit verify",
            f"AuditTrail.verify() of {sizes.audit_records:,} records, {checked['checkpoints_checked']} signatures",
            f"{checked['seconds']:.2f} s",
            f"{result['ratios']['verify_over_sha256']:.1f}x raw SHA-256",
            f"<{audit_bench.GOAL_VERIFY_SECONDS:.0f} s",
            verdict(checked["meets_goal"]),
        ),
        Row("", "  raw SHA-256 over the same bytes", f"{base['sha256_seconds']:.2f} s", "1.0x"),
        Row("", "  floor: read rows + canonical bytes", f"{base['read_and_canonicalise_seconds']:.2f} s"),
        Row(
            "",
            "  append_many (5000 a transaction) / append (one each)",
            f"{result['append_batched']['records_per_second'] or 0:,} / "
            f"{result['append_single']['records_per_second']:,} rec/s",
        ),
    ]
    return Outcome("audit", rows, result)


def _memory(sizes: Sizes, work: Path) -> Outcome:
    from bench import memory_bench

    return memory_bench.run(sizes.inbox_pending, sizes.worker_seconds)


BENCHMARKS: dict[str, Callable[[Sizes, Path], Outcome]] = {
    "gate": _gate,
    "inbox": _inbox,
    "commit": _commit,
    "exactly_once": _exactly_once,
    "reconcile": _reconcile,
    "audit": _audit,
    "memory": _memory,
}


def table(rows: list[Row]) -> str:
    header = Row("figure", "measure", "value", "ratio / baseline", "goal", "")
    cells = [[r.figure, r.measure, r.value, r.ratio, r.goal, r.verdict] for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(c)).rstrip())
        if n == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check the suite, not the figures")
    parser.add_argument(
        "--only", action="append", choices=list(BENCHMARKS), help="run only this (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    chosen = args.only or list(BENCHMARKS)
    work = Path(tempfile.mkdtemp(prefix="countersign-bench-"))
    started = time.perf_counter()
    box = machine()
    print(
        f"Countersign benchmarks ({'quick' if args.quick else 'full'} sizes) on {box['cpus']} CPU "
        f"{box['cpu_model']}, Python {box['python']}, SQLite {box['sqlite']}, "
        f"PostgreSQL {box['postgresql'] or 'unreachable'}; load {box['load_average_at_start']}",
        file=sys.stderr,
    )
    rows: list[Row] = []
    results: dict[str, Any] = {}
    try:
        for name in chosen:
            say(f"{name} …")
            began = time.perf_counter()
            try:
                outcome = BENCHMARKS[name](sizes, work)
            except Exception as exc:  # one line in the table; the other figures still run
                rows.append(Row(name, "failed", one_line(exc)))
                results[name] = {"error": one_line(exc)}
                say(f"{name} failed: {one_line(exc)}")
                continue
            rows += outcome.rows
            results[name] = {**outcome.details, "rows": [r.as_json() for r in outcome.rows]}
            say(f"{name} done in {time.perf_counter() - began:.0f} s")
    finally:
        drop_template()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(rows))
    report = {
        "machine": box,
        "sizes": "quick" if args.quick else "full",
        "seconds": round(time.perf_counter() - started, 1),
        "figures": results,
    }
    if args.only and args.out.exists():  # a partial run updates its figures, keeps the others
        previous = json.loads(args.out.read_text())
        if previous.get("sizes") == report["sizes"]:
            report["figures"] = {**previous.get("figures", {}), **results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
