"""Benchmark of reconciliation: one pass over N intents beside the raw bulk reads it is made of.

Not a test (timings depend on the machine); run it by hand and compare *ratios* between runs:

    uv run python -m bench.reconcile_bench                  # 100,000 intents
    uv run python -m bench.reconcile_bench --intents 20000

One run builds, with the product's own engines and row translations, a bundled legacy ERP and an
app database holding N committed intents — half purchase orders, half journal entries, each with
its ledger entry and its keyed ERP document — and plants a few discrepancies of every kind. Then it
measures, side by side:

* ``Reconciler.run()``: the whole pass (bulk reads, parse, hash joins, storing findings) without
  filing compensations, and a second pass that sees the same findings again;
* the floor under it: the three raw ``SELECT`` statements the pass is built on, rows fetched and
  nothing else, so the report can say how far a pass is from reading its data at all.

It prints a table and writes the figures to ``bench/results/reconcile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from agent.approvals import proposals
from agent.db import make_engine
from agent.reconcile import Reconciler
from agent.schema import upgrade_app_database
from erp_acl.commands import (
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
    fingerprint,
)
from erp_acl.domain import JournalEntry, JournalLine, Money, OrderLine, PurchaseOrder, PurchaseOrderStatus
from erp_acl.legacy import translate as tr
from erp_acl.legacy.adapter import LegacyErp, legacy_engine
from erp_acl.legacy.migrations import upgrade_erp_database
from erp_acl.legacy.schema import CT2, SC7, ZCS

RESULTS = Path(__file__).resolve().parent / "results" / "reconcile.json"
GOAL_SECONDS = 10.0
DAY = date(2026, 11, 21)
PLANTED = 10  # of each kind


def brl(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="BRL")


def intent_rows(n: int) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """One committed intent: its proposal row, its ERP document rows and its ledger row."""
    key = str(uuid.uuid4())
    now = datetime.now(UTC)
    number = f"{100000 + n:06d}"
    command: CreatePurchaseOrder | PostJournalEntry
    if n % 2 == 0:
        command = CreatePurchaseOrder(
            supplier_code="F00001",
            cost_center="CC300",
            lines=[
                PurchaseLineSpec(
                    product_code="HB-M8-40", quantity=Decimal(10 + n % 50), unit_price=Decimal("0.85")
                )
            ],
        )
        quantity = Decimal(10 + n % 50)
        order = PurchaseOrder(
            number=number,
            supplier_code="F00001",
            issued_on=DAY,
            cost_center="CC300",
            status=PurchaseOrderStatus.OPEN,
            lines=[
                OrderLine(
                    line_no=1,
                    product_code="HB-M8-40",
                    quantity=quantity,
                    unit_price=brl("0.85"),
                    total=brl(str(quantity * Decimal("0.85"))),
                )
            ],
            total=brl(str(quantity * Decimal("0.85"))),
            reference=key,
        )
        documents = tr.purchase_order_rows(order)
        document_type = "purchase_order"
    else:
        command = PostJournalEntry(
            entry_date=DAY,
            description=f"bench entry {n}",
            lines=[
                JournalLineSpec(account_code="5.1.01.001", debit=Decimal("10.00")),
                JournalLineSpec(account_code="1.1.01.001", credit=Decimal("10.00")),
            ],
        )
        entry = JournalEntry(
            number=number,
            entry_date=DAY,
            description=f"bench entry {n}",
            lines=[
                JournalLine(account_code="5.1.01.001", debit=brl("10.00"), credit=brl("0")),
                JournalLine(account_code="1.1.01.001", debit=brl("0"), credit=brl("10.00")),
            ],
            reference=key,
        )
        documents = tr.journal_rows(entry, tr.COUNTERSIGN_BATCH)
        document_type = "journal_entry"
    print_ = fingerprint(command)
    receipt = {
        "action": command.action,
        "document_type": document_type,
        "document_id": number,
        "summary": command.summary(),
        "idempotency_key": key,
        "fingerprint": print_,
        "committed_at": now.isoformat(),
        "replayed": False,
    }
    proposal = {
        "id": f"P-{n:010d}",
        "thread_id": f"bench-{n}",
        "tool_call_id": "bench",
        "action": command.action,
        "status": "committed",
        "summary": command.summary(),
        "payload": command.model_dump(mode="json"),
        "idempotency_key": key,
        "fingerprint": print_,
        "requester": "alice",
        "on_behalf_of": "alice",
        "evidence": [],
        "gate": {},
        "revision": 0,
        "receipt": receipt,
        "created_at": now,
        "updated_at": now,
    }
    ledger = {
        "ZCS_CHAVE": key,
        "ZCS_HASH": print_,
        "ZCS_ACAO": command.action,
        "ZCS_COMANDO": command.model_dump_json(),
        "ZCS_RECIBO": json.dumps(receipt),
        "ZCS_CRIADO": now.isoformat(),
        "ZCS_ALTERA": now.isoformat(),
    }
    return proposal, documents, ledger


def build(workdir: Path, count: int) -> tuple[Engine, Engine]:
    app = make_engine(f"sqlite:///{workdir / 'countersign.db'}")
    erp = legacy_engine(workdir / "legacy_erp.db")
    upgrade_erp_database(erp)
    upgrade_app_database(app)
    batch = 5000
    for start in range(0, count, batch):
        rows = [intent_rows(n) for n in range(start, min(count, start + batch))]
        with app.begin() as conn:
            conn.execute(insert(proposals), [p for p, _, _ in rows])
        with erp.begin() as conn:
            conn.execute(
                insert(SC7),
                [d for p, docs, _ in rows if p["action"] == "create_purchase_order" for d in docs],
            )
            conn.execute(
                insert(CT2), [d for p, docs, _ in rows if p["action"] == "post_journal_entry" for d in docs]
            )
            conn.execute(insert(ZCS), [ledger for _, _, ledger in rows])
        print(f"  built {min(count, start + batch):,} / {count:,} intents", file=sys.stderr)
    plant(app, erp)
    return app, erp


def plant(app: Engine, erp: Engine) -> None:
    """A few of each kind: duplicates, divergent orders, orphans and writes that never landed."""
    with erp.begin() as conn:
        orders = conn.execute(select(SC7).where(SC7.c.C7_NUM.like("1%")).limit(3 * PLANTED)).mappings().all()
        for n, row in enumerate(orders[:PLANTED]):  # duplicates: a legacy retry under a new number
            copy = {k: v for k, v in row.items() if k != "R_E_C_N_O_"}
            conn.execute(insert(SC7).values(**{**copy, "C7_NUM": f"9{n:05d}"}))
        for row in orders[PLANTED : 2 * PLANTED]:  # divergent: edited after landing
            conn.execute(update(SC7).where(row["R_E_C_N_O_"] == SC7.c.R_E_C_N_O_).values(C7_QUANT=999.0))
        for n, row in enumerate(orders[2 * PLANTED :]):  # orphans: a key no proposal has
            copy = {k: v for k, v in row.items() if k != "R_E_C_N_O_"}
            conn.execute(insert(SC7).values(**{**copy, "C7_NUM": f"8{n:05d}", "C7_XREF": str(uuid.uuid4())}))
    with app.begin() as conn:  # missing: approved long ago, never landed
        old = datetime.now(UTC) - timedelta(days=1)
        for n in range(PLANTED):
            conn.execute(
                insert(proposals).values(
                    id=f"P-missing{n:03d}",
                    thread_id=f"bench-missing-{n}",
                    tool_call_id="bench",
                    action="post_journal_entry",
                    status="approved",
                    summary="missing",
                    payload={},
                    idempotency_key=str(uuid.uuid4()),
                    fingerprint="x",
                    requester="alice",
                    on_behalf_of="alice",
                    evidence=[],
                    gate={},
                    revision=0,
                    created_at=old,
                    updated_at=old,
                )
            )


def floor(app: Engine, erp: Engine) -> float:
    """The three raw bulk reads a pass is built on: rows fetched, nothing else."""
    started = time.perf_counter()
    with app.connect() as conn:
        conn.execute(
            select(proposals.c.id, proposals.c.status, proposals.c.idempotency_key, proposals.c.payload)
        ).all()
    with erp.connect() as conn:
        conn.execute(select(ZCS)).all()
        conn.execute(select(SC7).where(SC7.c.C7_XREF != "")).all()
        conn.execute(select(CT2).where(CT2.c.CT2_XREF != "")).all()
    return time.perf_counter() - started


def measure(intents: int, workdir: Path) -> dict[str, Any]:
    """Build ``intents`` committed intents in ``workdir``, then time the floor and two passes."""
    print(f"building {intents:,} intents in {workdir}", file=sys.stderr)
    app, erp_engine = build(workdir, intents)
    erp = LegacyErp(erp_engine, today=lambda: DAY)
    reconciler = Reconciler(
        engine=app,
        ledger=erp.ledger_entries,
        documents=erp.landed_documents,
        file_compensation=None,
        confirm_landed=lambda *_: None,
        missing_after=timedelta(minutes=10),
    )
    floor_seconds = min(floor(app, erp_engine) for _ in range(2))
    started = time.perf_counter()
    first = reconciler.run()
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = reconciler.run()
    second_seconds = time.perf_counter() - started
    rows = [
        ("floor: the raw bulk reads", floor_seconds),
        ("reconcile, first pass", first_seconds),
        ("reconcile, findings seen again", second_seconds),
    ]
    kinds = {k: 0 for k in ("missing", "duplicate", "divergent", "orphan")}
    for item in reconciler.discrepancies(limit=10_000):
        kinds[item.kind] += 1
    app.dispose()
    erp_engine.dispose()
    return {
        "intents": intents,
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": {name: round(seconds, 4) for name, seconds in rows},
        "x_floor": {name: round(seconds / floor_seconds, 2) for name, seconds in rows},
        "found": kinds,
        "first_pass_found": first.found,
        "second_pass_found": second.found,
        "goal_seconds": GOAL_SECONDS,
        "goal_met": first_seconds < GOAL_SECONDS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the databases here")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.intents < 1000:
        parser.error("--intents must be at least 1000")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="countersign-reconcile-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    result = measure(args.intents, workdir)
    floor_seconds = result["seconds"]["floor: the raw bulk reads"]
    print(f"\n{'measure':<36}{'seconds':>10}{'intents/s':>12}{'x floor':>9}")
    print("-" * 67)
    for name, seconds in result["seconds"].items():
        print(f"{name:<36}{seconds:>10.3f}{args.intents / seconds:>12,.0f}{seconds / floor_seconds:>9.1f}")
    print(
        f"\nfound {result['first_pass_found']} discrepancies ({result['found']}); goal: a pass under"
        f" {GOAL_SECONDS:.0f} s: {'met' if result['goal_met'] else 'NOT met'}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
