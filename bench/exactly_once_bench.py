"""Figure 4, exactly once under contention: P proposals, each approved by A threads at the same
instant, must land exactly P documents in the ERP and P rows in its idempotency ledger.

The proposals are filed through the product (``AgentService.call_tool``, each a real interrupted
conversation). For each one, A threads wait on a barrier and then call ``AgentService.decide(…,
"approve")`` together, alternating two approvers (bob, carol), as people clicking at once in the
inbox would. The pipeline runs in background threads, as in the web app (writer, result consumer,
relay), so approvals race with commits in progress. Then the ERP is counted: purchase-order
documents carrying one of the P keys (distinct numbers) and ledger rows for them, and the decisions
that won. PASS only if each count is exactly P.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from agent.approvals import AlreadyDecided, Proposal, decisions
from agent.service import Refused, build_service
from bench.common import PO_ARGS, ConstantModel, Outcome, Row, bench_settings, say, seeded_erp, verdict
from erp_acl.legacy.adapter import legacy_engine
from erp_acl.legacy.schema import SC7, ZCS

NAME = "exactly_once"


def run(proposals: int, approvers: int, workdir: Path | None = None) -> Outcome:
    data_dir = (workdir or Path(tempfile.mkdtemp(prefix="countersign-bench-once-"))) / "var"
    seeded_erp(data_dir)
    service = build_service(bench_settings(data_dir), model=ConstantModel())
    assert service.pipeline is not None
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    try:
        filed = []
        for n in range(proposals):
            proposal = service.call_tool("propose_purchase_order", PO_ARGS, "alice")
            assert isinstance(proposal, Proposal)
            filed.append(proposal)
            if (n + 1) % 25 == 0:
                say(f"exactly-once: {n + 1}/{proposals} proposals filed")
        service.pipeline.start(["all"])

        def approve(proposal_id: str, index: int, barrier: threading.Barrier) -> None:
            barrier.wait()
            try:
                service.decide(proposal_id, "bob" if index % 2 else "carol", "approve")
                outcome = "won"
            except AlreadyDecided:
                outcome = "already decided"
            except Refused as exc:
                outcome = f"refused: {exc}"
            with lock:
                outcomes[outcome] += 1

        started = time.perf_counter()
        for n, proposal in enumerate(filed):
            barrier = threading.Barrier(approvers)
            threads = [
                threading.Thread(target=approve, args=(proposal.id, i, barrier)) for i in range(approvers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if (n + 1) % 10 == 0:
                say(f"exactly-once: {n + 1}/{proposals} proposals × {approvers} approvals")
        decided_seconds = time.perf_counter() - started
        deadline = time.monotonic() + 180
        ids = {p.id for p in filed}
        while time.monotonic() < deadline:
            settled = [p for p in service.store.list(status="committed", limit=proposals * 2) if p.id in ids]
            if len(settled) == proposals:
                break
            time.sleep(0.2)
        total_seconds = time.perf_counter() - started
        statuses = Counter(service.proposal(p.id).status for p in filed)
        with service.engine.connect() as conn:
            approvals_recorded = conn.execute(
                select(func.count())
                .select_from(decisions)
                .where(decisions.c.proposal_id.in_(ids), decisions.c.decision == "approve")
            ).scalar_one()
    finally:
        service.close()

    keys = [p.idempotency_key for p in filed]
    erp = legacy_engine(data_dir / "legacy_erp.db")
    with erp.connect() as conn:
        documents = conn.execute(
            select(func.count(func.distinct(SC7.c.C7_NUM))).where(SC7.c.C7_XREF.in_(keys))
        ).scalar_one()
        ledger = conn.execute(
            select(func.count()).select_from(ZCS).where(ZCS.c.ZCS_CHAVE.in_(keys))
        ).scalar_one()
    erp.dispose()

    ok = documents == proposals and ledger == proposals and outcomes["won"] == proposals
    rows = [
        Row(
            "4 exactly once",
            f"{proposals} proposals × {approvers} concurrent approvals",
            f"{documents} documents, {ledger} ledger rows",
            f"{outcomes['won']} won, {outcomes['already decided']:,} already decided",
            f"exactly {proposals}",
            verdict(ok),
        ),
        Row(
            "", "  time: approvals / until all committed", f"{decided_seconds:.1f} s / {total_seconds:.1f} s"
        ),
    ]
    details = {
        "proposals": proposals,
        "approvals_per_proposal": approvers,
        "erp_documents": documents,
        "erp_ledger_rows": ledger,
        "approve_decisions_recorded": approvals_recorded,
        "outcomes": dict(outcomes),
        "statuses": dict(statuses),
        "approvals_seconds": round(decided_seconds, 2),
        "until_committed_seconds": round(total_seconds, 2),
        "pass": ok,
    }
    return Outcome(NAME, rows, details)
