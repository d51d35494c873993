"""Figure 2, the approvals inbox with 10,000 pending proposals: the approvals store's indexed query
beside scanning the LangGraph checkpointer for interrupted threads.

How the 10,000 are made, quickly but real:

* one proposal is filed through the product by a chat turn with the offline planner (``order 40
  hex bolts M8 from Fastenal``: search reads, then the proposal): a real ``proposals`` row and a
  real conversation paused in ``await_approval``, with its whole checkpoint history;
* the inbox side: that row is cloned 9,999 times into the store's table (bulk ``INSERT``, new ids,
  threads and keys, creation times a second apart);
* the checkpointer side: every checkpoint of the real thread, with its pending writes, is written
  again for each cloned thread through the saver's own ``put`` / ``put_writes`` (the interrupt's
  value names the clone's proposal), so the saver holds 10,000 genuinely interrupted threads with
  as many checkpoints each as a real one. ``synchronous=OFF`` on the saver's connection while
  filling (the fill is not what is measured).

Measured, after a warm-up:

* ``ProposalStore.list(status="pending", limit=50)``: the inbox's first page (the page size of
  ``ui/views/inbox.py``), two indexed queries (median of 20);
* ``AgentService.inbox_page("bob", limit=50)``: what the inbox page itself calls (outlines of every
  pending proposal filtered, sorted and checked for segregation of duties in Python, the 50 shown
  loaded whole);
* the scan: ``SqliteSaver.list(None)`` over every checkpoint, keeping each thread's newest one and
  those whose pending writes hold an interrupt (what listing "waiting for approval" from LangGraph
  alone takes). The scan finds the 10,000 proposals, checked.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.constants import INTERRUPT
from langgraph.types import Interrupt

from agent.approvals import ProposalStore
from agent.checkpoints import open_sqlite_saver
from agent.db import make_engine
from agent.service import build_service
from bench.common import (
    ConstantModel,
    Outcome,
    Row,
    bench_settings,
    clone_proposals,
    ms,
    say,
    seeded_erp,
    verdict,
)

NAME = "inbox"
REQUEST = "order 40 hex bolts M8 from Fastenal"
PAGE = 50
GOAL_MS = 50.0
GOAL_SPEEDUP = 100.0

_FILLED: dict[int, Path] = {}


def _clone_thread(
    saver: SqliteSaver, history: list[CheckpointTuple], thread_id: str, proposal_id: str
) -> None:
    """Write a thread's checkpoints (oldest first) and pending writes again under another thread."""
    parent: str | None = None
    for item in history:
        ns = item.config["configurable"].get("checkpoint_ns", "")
        config: Any = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
        if parent is not None:
            config["configurable"]["checkpoint_id"] = parent
        saved = saver.put(config, item.checkpoint, item.metadata, {})
        by_task: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for task_id, channel, value in item.pending_writes or []:
            if channel == INTERRUPT:
                value = [
                    dataclasses.replace(i, value={**i.value, "proposal_id": proposal_id})
                    if isinstance(i, Interrupt) and isinstance(i.value, dict)
                    else i
                    for i in value
                ]
            by_task[task_id].append((channel, value))
        for task_id, writes in by_task.items():
            saver.put_writes(saved, writes, task_id)
        parent = item.checkpoint["id"]


def filled_installation(count: int, workdir: Path | None = None) -> Path:
    """A data directory holding ``count`` pending proposals, each with an interrupted thread."""
    if count in _FILLED:
        return _FILLED[count]
    data_dir = (workdir or Path(tempfile.mkdtemp(prefix="countersign-bench-inbox-"))) / "var"
    seeded_erp(data_dir)
    service = build_service(bench_settings(data_dir))  # the offline planner: a real conversation
    try:
        real = service.chat("alice", REQUEST).proposals[0]
    finally:
        service.close()
    engine = make_engine(f"sqlite:///{data_dir / 'countersign.db'}")
    threads = [f"T-bench{n:08d}" for n in range(count - 1)]
    ids = clone_proposals(engine, real, count - 1, prefix="I", thread_ids=threads)
    engine.dispose()
    say(f"inbox: {count:,} pending proposals in the store")
    saver = open_sqlite_saver(data_dir / "checkpoints.db")
    try:
        history = list(saver.list({"configurable": {"thread_id": real.thread_id}}))[::-1]
        saver.conn.execute("PRAGMA synchronous=OFF")
        started = time.perf_counter()
        for n, (thread, proposal_id) in enumerate(zip(threads, ids, strict=True)):
            _clone_thread(saver, history, thread, proposal_id)
            if (n + 1) % 2000 == 0:
                say(f"inbox: {n + 1:,}/{count - 1:,} threads cloned ({time.perf_counter() - started:.0f} s)")
        saver.conn.execute("PRAGMA synchronous=FULL")
        saver.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        saver.conn.close()
    _FILLED[count] = data_dir
    return data_dir


def scan_checkpointer(saver: SqliteSaver) -> set[str]:
    """Proposal ids of every thread whose newest checkpoint waits on an interrupt, from LangGraph alone."""
    seen: set[str] = set()
    waiting: set[str] = set()
    for item in saver.list(None):
        thread = item.config["configurable"]["thread_id"]
        if thread in seen:
            continue  # newest first: an older checkpoint of a thread already seen
        seen.add(thread)
        for _task, channel, value in item.pending_writes or []:
            if channel == INTERRUPT:
                for pending in value:
                    if isinstance(pending.value, dict) and "proposal_id" in pending.value:
                        waiting.add(str(pending.value["proposal_id"]))
    return waiting


def run(count: int, workdir: Path | None = None) -> Outcome:
    data_dir = filled_installation(count, workdir)
    engine = make_engine(f"sqlite:///{data_dir / 'countersign.db'}")
    store = ProposalStore(engine)
    store.list(status="pending", limit=PAGE)  # warm: connection, statement cache
    page_times = []
    for _ in range(20):
        started = time.perf_counter()
        page = store.list(status="pending", limit=PAGE)
        page_times.append(time.perf_counter() - started)
    assert len(page) == PAGE
    page_seconds = statistics.median(page_times)
    engine.dispose()

    service = build_service(bench_settings(data_dir), model=ConstantModel())
    try:
        service.inbox_page("bob", limit=PAGE)
        started = time.perf_counter()
        shown = service.inbox_page("bob", limit=PAGE)
        inbox_seconds = time.perf_counter() - started
    finally:
        service.close()

    saver = open_sqlite_saver(data_dir / "checkpoints.db")
    try:
        checkpoints = saver.conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        scan_times = []
        for _ in range(2):
            started = time.perf_counter()
            waiting = scan_checkpointer(saver)
            scan_times.append(time.perf_counter() - started)
            say(f"inbox: checkpointer scan {scan_times[-1]:.2f} s")
        scan_seconds = min(scan_times)
    finally:
        saver.conn.close()
    if len(waiting) != count:
        raise RuntimeError(f"the checkpointer scan found {len(waiting)} waiting threads, not {count}")

    speedup = scan_seconds / page_seconds
    ok = page_seconds * 1000 < GOAL_MS and speedup >= GOAL_SPEEDUP
    rows = [
        Row(
            "2 inbox, 10k pending",
            f"store: first page of pending ({PAGE} of {count:,})",
            ms(page_seconds),
            f"{speedup:,.0f}x faster than scan",
            f"<{GOAL_MS:.0f} ms and ≥{GOAL_SPEEDUP:.0f}x",
            verdict(ok),
        ),
        Row(
            "",
            f"  checkpointer scan: {checkpoints:,} checkpoints, {count:,} interrupted",
            ms(scan_seconds),
            "1x",
        ),
        Row(
            "",
            f"  inbox page for bob: {len(shown.items)} of {shown.total:,}, filtered, sorted, SoD-checked",
            ms(inbox_seconds),
            f"{scan_seconds / inbox_seconds:,.1f}x faster than scan",
        ),
    ]
    details = {
        "pending": count,
        "page_size": PAGE,
        "first_page_median_seconds": round(page_seconds, 5),
        "first_page_all_seconds": [round(t, 5) for t in page_times],
        "service_inbox_page_seconds": round(inbox_seconds, 4),
        "service_inbox_page_items": len(shown.items),
        "service_inbox_total": shown.total,
        "checkpointer_scan_seconds": round(scan_seconds, 3),
        "checkpoints": checkpoints,
        "checkpoints_per_thread": round(checkpoints / count, 2),
        "speedup_over_scan": round(speedup, 1),
        "goal": f"first page under {GOAL_MS:.0f} ms and at least {GOAL_SPEEDUP:.0f}x faster than the scan",
        "pass": ok,
    }
    return Outcome(NAME, rows, details)
