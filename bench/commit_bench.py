"""Figure 3, commit throughput with N writers on SQLite and on PostgreSQL, as a fraction of the raw
transaction rate of the same database with the same N writers.

A *commit* here is what the ERP writer does for one approved proposal, with the product's own
objects (``ErpWriterWorker.handle`` on a command delivery, its result recorded by
``ResultConsumer.record``): skip a message already handled (inbox), load the proposal, claim it
``committing``, mint the just-in-time token bound to proposal, key and fingerprint (a ``jti`` row),
take the ERP pacer's slot (a row), ``LegacyErp.apply`` (the document and its ledger row in one ERP
transaction), the audit trail's commit record, the handled message, then ``committed`` in the
approvals store. Not included: the queue's transport and resuming the conversation (figure 1
has the whole loop). The approved proposals are clones of one filed through the product.

*Raw* is the same number of bare ``INSERT`` + ``COMMIT`` transactions (one small row each) by the
same number of writer threads, on the same database: a SQLite file with the product engine's
settings (WAL, ``BEGIN IMMEDIATE``, default ``synchronous``) or a PostgreSQL database on the same
server. Writers are threads sharing one service, as ``COUNTERSIGN_WRITER_CONCURRENCY`` runs them.
"""

from __future__ import annotations

import queue
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.pool import Pool

from agent.approvals import Proposal, proposals
from agent.messaging.bus import Delivery
from agent.messaging.topology import COMMANDS
from agent.pipeline.messages import CommitCommand, CommitResult
from agent.pipeline.writer import ErpWriterWorker
from agent.service import AgentService, build_service
from bench.common import (
    PO_ARGS,
    ConstantModel,
    Outcome,
    PostgresUnreachable,
    Row,
    bench_settings,
    clone_proposals,
    say,
    scratch_postgres,
    seeded_erp,
    verdict,
)

NAME = "commit"
GOAL_FRACTION = 0.30


class _Counter:
    """Counts COMMITs on every SQLite connection opened while installed (transactions per commit)."""

    def __init__(self) -> None:
        self.commits = 0
        self.on = False
        self._lock = threading.Lock()

    def connected(self, dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(self._trace)

    def _trace(self, statement: str) -> None:
        if self.on and statement.lstrip().upper().startswith("COMMIT"):
            with self._lock:
                self.commits += 1


@contextmanager
def counting_commits() -> Iterator[_Counter]:
    counter = _Counter()
    event.listen(Pool, "connect", counter.connected)
    try:
        yield counter
    finally:
        event.remove(Pool, "connect", counter.connected)


def _threads(writers: int, work: Callable[[], None]) -> float:
    start = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:  # reported after the join, with the figure
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return seconds


class Side:
    """One database: the product service on it and its raw-transaction baseline."""

    def __init__(self, backend: str, service: AgentService, raw: Callable[[int, int], float]) -> None:
        self.backend = backend
        self.service = service
        self.raw = raw
        pipeline = service.pipeline
        assert pipeline is not None

        def publish(result: CommitResult) -> None:
            pipeline.results.record(result)

        # The cloned proposals are "approved" by a bulk insert with no decisions in the audit trail,
        # so the trail's authorization is left out: this measures the write itself.
        self.writer = ErpWriterWorker(
            store=service.store,
            gateway=service.gateway,
            inbox=pipeline.inbox,
            publish=publish,
            authorize=lambda _: None,
        )
        template = service.call_tool("propose_purchase_order", PO_ARGS, "alice")
        assert isinstance(template, Proposal)
        self.template = template
        self._batch = 0

    def approved(self, count: int) -> queue.SimpleQueue[Delivery]:
        self._batch += 1
        ids = clone_proposals(
            self.service.engine, self.template, count, status="approved", prefix=f"C{self._batch:02d}"
        )
        deliveries: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
        actor = self.service.agent.id
        for proposal in self.service.store.list_by_status(["approved"], limit=count + 10):
            if proposal.id in set(ids):
                command = CommitCommand.of(proposal, actor)
                deliveries.put(
                    Delivery(
                        message_id=command.message_id(),
                        body=command.model_dump(mode="json"),
                        headers={},
                        attempts=0,
                        redelivered=False,
                        queue=COMMANDS,
                    )
                )
        return deliveries

    def commits(self, count: int, writers: int) -> float:
        deliveries = self.approved(count)

        def work() -> None:
            while True:
                try:
                    delivery = deliveries.get_nowait()
                except queue.Empty:
                    return
                self.writer.handle(delivery)

        seconds = _threads(writers, work)
        with self.service.engine.connect() as conn:
            left = conn.execute(
                select(func.count())
                .select_from(proposals)
                .where(proposals.c.status != "committed")
                .where(proposals.c.id.like(f"P-C{self._batch:02d}%"))
            ).scalar_one()
        if left:
            raise RuntimeError(f"{left} of {count} approved proposals did not commit")
        return seconds


def sqlite_raw(path: Path) -> Callable[[int, int], float]:
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)")
    setup.commit()
    setup.close()

    def run(count: int, writers: int) -> float:
        remaining = iter(range(count))
        lock = threading.Lock()

        def work() -> None:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            try:
                while True:
                    with lock:
                        n = next(remaining, None)
                    if n is None:
                        return
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("INSERT INTO raw (k, v) VALUES (?, ?)", (str(uuid.uuid4()), f"row {n}"))
                    conn.execute("COMMIT")
            finally:
                conn.close()

        return _threads(writers, work)

    return run


def postgres_raw(url: str) -> Callable[[int, int], float]:
    import psycopg

    from agent.checkpoints import postgres_conninfo

    conninfo = postgres_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute(
            "CREATE TABLE IF NOT EXISTS raw (id bigserial PRIMARY KEY, k text NOT NULL, v text NOT NULL)"
        )

    def run(count: int, writers: int) -> float:
        remaining = iter(range(count))
        lock = threading.Lock()
        connections = [psycopg.connect(conninfo) for _ in range(writers)]
        slots: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for conn in connections:
            slots.put(conn)

        def work() -> None:
            conn = slots.get()
            while True:
                with lock:
                    n = next(remaining, None)
                if n is None:
                    return
                conn.execute("INSERT INTO raw (k, v) VALUES (%s, %s)", (str(uuid.uuid4()), f"row {n}"))
                conn.commit()

        try:
            return _threads(writers, work)  # connections opened beforehand, as the pool has them
        finally:
            for conn in connections:
                conn.close()

    return run


def measure(side: Side, count: int, writer_counts: list[int]) -> list[dict[str, Any]]:
    side.commits(min(10, count), 1)  # warm: pools, statement caches
    side.raw(min(10, count), 1)
    figures = []
    for writers in writer_counts:
        product = side.commits(count, writers)
        raw = side.raw(count, writers)
        fraction = raw / product
        figures.append(
            {
                "writers": writers,
                "commits": count,
                "product_seconds": round(product, 3),
                "commits_per_second": round(count / product, 1),
                "raw_seconds": round(raw, 3),
                "raw_transactions_per_second": round(count / raw, 1),
                "fraction_of_raw": round(fraction, 3),
                "pass": fraction >= GOAL_FRACTION,
            }
        )
        say(
            f"commit {side.backend}: {writers} writer(s) {count / product:,.0f} commits/s, "
            f"raw {count / raw:,.0f} tx/s ({fraction:.0%})"
        )
    return figures


def sqlite_side(root: Path, count: int, writer_counts: list[int]) -> dict[str, Any]:
    data_dir = root / "sqlite"
    seeded_erp(data_dir)
    with counting_commits() as counter:
        service = build_service(bench_settings(data_dir), model=ConstantModel())
        try:
            side = Side("SQLite", service, sqlite_raw(data_dir / "raw.db"))
            side.commits(5, 1)
            counter.on = True
            side.commits(20, 1)
            counter.on = False
            per_commit = counter.commits / 20
            figures = measure(side, count, writer_counts)
        finally:
            service.close()
    return {"runs": figures, "transactions_per_commit": per_commit}


def postgres_side(root: Path, count: int, writer_counts: list[int]) -> dict[str, Any]:
    from erp_acl.legacy.adapter import legacy_engine
    from erp_acl.legacy.seed import seed_legacy_erp

    with scratch_postgres("app", "erp") as (app_url, erp_url):
        engine = legacy_engine(erp_url)
        seed_legacy_erp(engine, scale=1)
        engine.dispose()
        settings = bench_settings(root / "postgres", database_url=app_url, erp_url=erp_url)
        service = build_service(settings, model=ConstantModel())
        try:
            side = Side("PostgreSQL", service, postgres_raw(app_url))
            figures = measure(side, count, writer_counts)
        finally:
            service.close()
    return {"runs": figures}


def run(count: int, writer_counts: list[int], workdir: Path | None = None) -> Outcome:
    root = workdir or Path(tempfile.mkdtemp(prefix="countersign-bench-commit-"))
    rows: list[Row] = []
    details: dict[str, Any] = {"goal": f"at least {GOAL_FRACTION:.0%} of the raw transaction rate"}
    first = True
    for backend, build in (("SQLite", sqlite_side), ("PostgreSQL", postgres_side)):
        try:
            result = build(root, count, writer_counts)
        except PostgresUnreachable as exc:
            rows.append(Row("3 commit throughput" if first else "", f"{backend}", str(exc)))
            details[backend.lower()] = {"skipped": str(exc)}
            first = False
            continue
        details[backend.lower()] = result
        for figure in result["runs"]:
            rows.append(
                Row(
                    "3 commit throughput" if first else "",
                    f"{backend}, {figure['writers']} writer(s): commits/s vs raw tx/s",
                    f"{figure['commits_per_second']:,.0f} vs {figure['raw_transactions_per_second']:,.0f}",
                    f"{figure['fraction_of_raw']:.0%} of raw",
                    f"≥{GOAL_FRACTION:.0%} of raw",
                    verdict(figure["pass"]),
                )
            )
            first = False
    if "transactions_per_commit" in details.get("sqlite", {}):
        details["sqlite_transactions_per_commit"] = details["sqlite"]["transactions_per_commit"]
    return Outcome(NAME, rows, details)
