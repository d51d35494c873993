"""Benchmark of the audit trail: append rate and ``verify`` beside raw SHA-256 over the same bytes.

Not a test (timings depend on the machine); run it by hand and compare *ratios* between runs:

    uv run python -m bench.audit_bench                 # 1,000,000 records
    uv run python -m bench.audit_bench --records 100000

One run measures, on a fresh SQLite file made by the product's own engine factory (WAL, BEGIN
IMMEDIATE, default synchronous, so every commit is flushed to disk):

* single appends (one transaction each) and batched appends (``append_many``), records/s;
* ``AuditTrail.verify()`` over all N records and every signed checkpoint;
* the floor under it: reading the rows and building their canonical bytes, and raw SHA-256 over
  exactly those bytes, so the report can say how far verification is from hashing alone.

It prints a table and writes the figures to ``bench/results/audit.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.db import make_engine
from agent.schema import upgrade_app_database
from tools.audit import (
    _SELECT,  # the trail's own row query, so the baseline hashes exactly what verify hashes
    AuditEvent,
    AuditTrail,
    CheckpointSigner,
    DirectoryCheckpointStore,
    _canonical_text,
)

RESULTS = Path(__file__).resolve().parent / "results" / "audit.json"
GOAL_VERIFY_SECONDS = 30.0


def sample_events(count: int) -> list[AuditEvent]:
    """A realistic mix: reads with evidence, proposals with a gate, decisions, commits with a receipt."""
    events: list[AuditEvent] = []
    for n in range(count):
        kind = n % 4
        common: dict[str, Any] = {
            "actor": "countersign-agent" if kind != 2 else "bob",
            "on_behalf_of": "alice",
            "thread_id": f"T-{n // 40:06d}",
        }
        if kind == 0:
            events.append(
                AuditEvent(
                    type="read",
                    tool="check_stock",
                    evidence=[hashlib.sha256(f"stock-{n}".encode()).hexdigest()],
                    details={
                        "product": f"P-{n % 500:04d}",
                        "warehouse": "01",
                        "duration_ms": 3,
                        "outcome": "ok",
                    },
                    **common,
                )
            )
        elif kind == 1:
            events.append(
                AuditEvent(
                    type="proposal",
                    tool="propose_purchase_order",
                    proposal_id=f"PR-{n:08d}",
                    idempotency_key=f"idem-{n:08d}",
                    fingerprint=hashlib.sha256(f"payload-{n}".encode()).hexdigest(),
                    evidence=[hashlib.sha256(f"read-{n - 1}".encode()).hexdigest()],
                    gate={
                        "policy_version": 4,
                        "rule": "po_over_1000",
                        "approvers_required": 1,
                        "roles": ["approver"],
                    },
                    details={
                        "supplier": f"S-{n % 90:03d}",
                        "amount": f"{(n % 9000) + 1000}.50",
                        "currency": "EUR",
                    },
                    **common,
                )
            )
        elif kind == 2:
            events.append(
                AuditEvent(
                    type="decision",
                    proposal_id=f"PR-{n - 1:08d}",
                    details={"decision": "approve", "note": "ok per budget"},
                    **common,
                )
            )
        else:
            events.append(
                AuditEvent(
                    type="commit",
                    tool="propose_purchase_order",
                    proposal_id=f"PR-{n - 2:08d}",
                    idempotency_key=f"idem-{n - 2:08d}",
                    fingerprint=hashlib.sha256(f"payload-{n - 2}".encode()).hexdigest(),
                    result={"document_id": f"PO-{n:08d}", "status": "created"},
                    **common,
                )
            )
    return events


def run(records: int, batch: int, single: int, workdir: Path) -> dict[str, Any]:
    db = workdir / "countersign.db"
    engine = make_engine(f"sqlite:///{db}")
    store = DirectoryCheckpointStore(workdir / "checkpoints")
    trail = AuditTrail(engine, signer=CheckpointSigner.generate(), checkpoint_store=store)
    upgrade_app_database(engine)
    events = sample_events(max(batch, 4))
    single = min(single, records)

    started = time.perf_counter()
    for n in range(single):
        trail.append(events[n % len(events)])
    single_seconds = time.perf_counter() - started

    started = time.perf_counter()
    remaining = records - single
    while remaining > 0:
        take = min(batch, remaining)
        trail.append_many(events[:take])
        remaining -= take
    batched_seconds = time.perf_counter() - started
    trail.checkpoint()  # seal the end, as an export would, so verify checks every record against a signature

    started = time.perf_counter()
    report = trail.verify()
    verify_seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"the benchmark trail does not verify: {report.problem}")

    # The floor: the same rows read the same way and turned into the same bytes, then only hashed.
    started = time.perf_counter()
    con = sqlite3.connect(db)
    cursor = con.execute(f"{_SELECT} ORDER BY seq")
    blobs = [_canonical_text(*row).encode("utf-8") for row in cursor]
    con.close()
    canonical_seconds = time.perf_counter() - started
    total_bytes = sum(len(blob) for blob in blobs)
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for blob in blobs:
        sha256(blob).hexdigest()
    sha_seconds = time.perf_counter() - started
    del blobs

    engine.dispose()
    checkpoints = len(store.all())
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "records": records,
        "checkpoints": checkpoints,
        "database_bytes": db.stat().st_size + sum(p.stat().st_size for p in workdir.glob("countersign.db-*")),
        "canonical_bytes_total": total_bytes,
        "canonical_bytes_per_record": round(total_bytes / records, 1),
        "append_single": {
            "records": single,
            "seconds": round(single_seconds, 3),
            "records_per_second": round(single / single_seconds),
        },
        "append_batched": {
            "records": records - single,
            "batch": batch,
            "seconds": round(batched_seconds, 3),
            "records_per_second": round((records - single) / batched_seconds) if records > single else None,
        },
        "verify": {
            "seconds": round(verify_seconds, 3),
            "records_per_second": round(records / verify_seconds),
            "checkpoints_checked": report.checkpoints_checked,
            "goal_seconds": GOAL_VERIFY_SECONDS,
            "meets_goal": verify_seconds < GOAL_VERIFY_SECONDS,
        },
        "baseline": {
            "read_and_canonicalise_seconds": round(canonical_seconds, 3),
            "sha256_seconds": round(sha_seconds, 3),
            "sha256_records_per_second": round(records / sha_seconds),
            "sha256_megabytes_per_second": round(total_bytes / sha_seconds / 1e6, 1),
        },
        "ratios": {
            "verify_over_sha256": round(verify_seconds / sha_seconds, 2),
            "verify_over_read_canonicalise_and_sha256": round(
                verify_seconds / (canonical_seconds + sha_seconds), 2
            ),
            "single_append_over_sha256_per_record": round(
                (single_seconds / single) / (sha_seconds / records), 1
            ),
            "batched_append_over_sha256_per_record": (
                round((batched_seconds / (records - single)) / (sha_seconds / records), 1)
                if records > single
                else None
            ),
        },
    }


def table(result: dict[str, Any]) -> str:
    verify, base, ratios = result["verify"], result["baseline"], result["ratios"]
    single, batched = result["append_single"], result["append_batched"]
    rows = [
        ("measure", "seconds", "records/s", "x raw SHA-256"),
        (
            f"append, one per transaction ({single['records']:,})",
            f"{single['seconds']:.3f}",
            f"{single['records_per_second']:,}",
            f"{ratios['single_append_over_sha256_per_record']}",
        ),
        (
            f"append_many, {batched['batch']} per transaction ({batched['records']:,})",
            f"{batched['seconds']:.3f}",
            f"{batched['records_per_second']:,}" if batched["records_per_second"] else "-",
            f"{ratios['batched_append_over_sha256_per_record']}",
        ),
        (
            f"verify ({result['records']:,} records, {verify['checkpoints_checked']} checkpoints)",
            f"{verify['seconds']:.3f}",
            f"{verify['records_per_second']:,}",
            f"{ratios['verify_over_sha256']}",
        ),
        ("  floor: read rows + canonical bytes", f"{base['read_and_canonicalise_seconds']:.3f}", "", ""),
        (
            f"  raw SHA-256, same bytes ({base['sha256_megabytes_per_second']} MB/s)",
            f"{base['sha256_seconds']:.3f}",
            f"{base['sha256_records_per_second']:,}",
            "1.0",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    goal = "meets" if verify["meets_goal"] else "MISSES"
    lines.append(
        f"\nverify {goal} the goal of {verify['goal_seconds']:.0f} s for this size;"
        f" {result['canonical_bytes_per_record']} canonical bytes per record;"
        f" verify / (read + canonicalise + hash) = {ratios['verify_over_read_canonicalise_and_sha256']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records in the trail (default 1,000,000)"
    )
    parser.add_argument("--batch", type=int, default=1000, help="records per append_many call")
    parser.add_argument("--single", type=int, default=5000, help="records appended one per transaction")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the database goes (default: a temp dir)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.records < 1 or args.batch < 1 or args.single < 0:
        parser.error("--records and --batch must be positive, --single not negative")

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.records, args.batch, args.single, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
            result = run(args.records, args.batch, args.single, Path(tmp))
    print(table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
