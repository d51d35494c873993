"""Checkpoint retention: remove the LangGraph checkpoints of conversations that are over.

Checkpoint tables grow with every step of every run and nothing ever reads an old one again
once its conversation is finished. ``prune`` deletes every checkpoint row, pending write and blob
of a thread only when the thread is *terminal*:

- every proposal it filed is finished (``TERMINAL_STATUSES``: committed, rejected, expired,
  failed); a pending proposal, or an approved one whose write has not committed yet, keeps it;
- its run is not paused at an interrupt (a decision, or an outcome nobody has told it yet) and
  has not stopped between two nodes (``countersign recover`` continues those);
- optionally, it has been quiet for a while (``older_than``).

The approvals store and the audit trail are not touched: proposals, decisions and the audit
trail (with its own retention, ``countersign audit prune``) stay whole. A pruned conversation
stays in its owner's list; its history is replaced by one assistant note (``pruned_note``)
saying when and why it went and which proposals it filed, so ``threads show`` and the web
app show that instead of an empty or broken chat. The note is a checkpoint of its own, marked in
its metadata, so a later prune recognises the thread as already pruned; if the owner carries on
in that conversation, the new turns are pruned like any others once they are over.

The deletion is plain SQL over the saver's own DB-API connection, written once for both
checkpointers: ``SqliteSaver`` (tables ``checkpoints`` and ``writes``) and ``PostgresSaver``
(``checkpoints``, ``checkpoint_writes``, ``checkpoint_blobs``); only the placeholder style, the
table names and the byte-size function differ (``Layout``). Each batch is one transaction that
first locks out writers (``BEGIN IMMEDIATE`` on SQLite, ``LOCK TABLE`` on PostgreSQL), checks
that no thread gained a checkpoint since it was examined (``changed_during_prune`` otherwise),
counts what it deletes, and deletes it. What that check cannot see is a new turn that read
the thread's state just before the batch and writes just after it (milliseconds, and only on a
finished conversation its owner picks up again at that moment); run it with ``older_than`` on a
live installation. The bytes reported are the payload sizes of the deleted rows: SQLite keeps the
file's size and reuses the pages (``VACUUM`` shrinks it), PostgreSQL's autovacuum reclaims them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from sqlalchemy import Engine, select

from agent.approvals import Proposal, ProposalStatus, ProposalStore, proposals
from agent.conversations import threads

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage
    from langgraph.pregel import Pregel

    from agent.service import AgentService

TERMINAL_STATUSES: Final[frozenset[ProposalStatus]] = frozenset(
    {"committed", "rejected", "expired", "failed"}
)
IN_FLIGHT_STATUSES: Final[frozenset[ProposalStatus]] = frozenset({"approved", "committing"})

# Why a thread was kept, in the order they are checked (the first that applies is reported).
PENDING_APPROVAL: Final = "pending_approval"
WRITE_NOT_COMMITTED: Final = "write_not_committed"
UNKNOWN_STATUS: Final = "unknown_status"
PAUSED_AT_INTERRUPT: Final = "paused_at_interrupt"
RUN_UNFINISHED: Final = "run_unfinished"
ALREADY_PRUNED: Final = "already_pruned"
RECENTLY_ACTIVE: Final = "recently_active"
CHANGED_DURING_PRUNE: Final = "changed_during_prune"
KEEP_REASONS: Final[dict[str, str]] = {
    PENDING_APPROVAL: "waiting for a decision on a pending proposal",
    WRITE_NOT_COMMITTED: "its write is approved but not committed yet",
    UNKNOWN_STATUS: "a proposal is in a status this release does not know",
    PAUSED_AT_INTERRUPT: "its run is paused at an interrupt (`countersign recover` tells it the outcome)",
    RUN_UNFINISHED: "its run stopped between two steps (`countersign recover` continues it)",
    ALREADY_PRUNED: "only the note of an earlier prune is left",
    RECENTLY_ACTIVE: "active more recently than --older-than",
    CHANGED_DURING_PRUNE: "it changed while being pruned (try again later)",
}

# The checkpoint metadata key that marks the note a prune leaves behind.
PRUNED_MARK: Final = "countersign_pruned"
NOTE_NODE: Final = "respond"
BATCH: Final = 200


# ---- the tables -----------------------------------------------------------------------------------


class Cursor(Protocol):
    """The part of a DB-API cursor the deletion uses (sqlite3 and psycopg both fit)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Layout:
    """How one checkpointer names its tables and how its SQL dialect spells what we need."""

    backend: Literal["sqlite", "postgres"]
    placeholder: str  # "?" (qmark) or "%s" (format)
    writes: str
    write_payload: str
    blobs: str | None
    byte_size: str  # a SQL expression with one {} for a column: its size in bytes
    checkpoints: str = "checkpoints"

    def size(self, *columns: str) -> str:
        return " + ".join(f"COALESCE({self.byte_size.format(c)}, 0)" for c in columns)

    def marks(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)


SQLITE_LAYOUT: Final = Layout(
    backend="sqlite",
    placeholder="?",
    writes="writes",
    write_payload="value",
    blobs=None,
    byte_size="length(CAST({} AS BLOB))",
)
# Conflicts with the ROW EXCLUSIVE lock every INSERT takes (and with another prune), not with
# readers: no run can add a checkpoint between the check and the delete of a batch.
PG_WRITE_LOCK: Final = "LOCK TABLE checkpoints IN SHARE ROW EXCLUSIVE MODE"
POSTGRES_LAYOUT: Final = Layout(
    backend="postgres",
    placeholder="%s",
    writes="checkpoint_writes",
    write_payload="blob",
    blobs="checkpoint_blobs",
    byte_size="pg_column_size({})",
)


@dataclass
class Freed:
    """What a prune deleted (or, in a dry run, would delete)."""

    checkpoints: int = 0
    writes: int = 0
    blobs: int = 0
    bytes: int = 0

    def add(self, other: Freed) -> None:
        self.checkpoints += other.checkpoints
        self.writes += other.writes
        self.blobs += other.blobs
        self.bytes += other.bytes


def _row(row: Any) -> tuple[Any, ...]:
    # PostgresSaver's connections hand rows back as dicts (dict_row); sqlite3 as tuples.
    return tuple(row.values()) if isinstance(row, Mapping) else tuple(row)


class CheckpointTables:
    """Counting and deleting whole threads in a checkpointer's tables, in batches."""

    def __init__(self, layout: Layout, transaction: Callable[[bool], AbstractContextManager[Cursor]]) -> None:
        self.layout = layout
        # transaction(True) keeps other writers out until it ends; transaction(False) only reads.
        self._transaction = transaction

    def thread_ids(self) -> list[str]:
        with self._transaction(False) as cur:
            cur.execute(f"SELECT DISTINCT thread_id FROM {self.layout.checkpoints} ORDER BY thread_id", ())
            return [str(_row(r)[0]) for r in cur.fetchall()]

    def measure(self, thread_ids: Sequence[str]) -> Freed:
        """What deleting these threads would free, without deleting."""
        with self._transaction(False) as cur:
            return self._measure(cur, thread_ids)

    def delete(self, expected: Mapping[str, str | None]) -> tuple[Freed, list[str], list[str]]:
        """Delete every row of each thread whose latest root checkpoint is still the expected one.

        Returns what was freed, the threads deleted and the threads that changed meanwhile (kept)."""
        if not expected:
            return Freed(), [], []
        lay = self.layout
        with self._transaction(True) as cur:
            ids = list(expected)
            cur.execute(
                f"SELECT thread_id, MAX(checkpoint_id) FROM {lay.checkpoints} "
                f"WHERE checkpoint_ns = '' AND thread_id IN ({lay.marks(len(ids))}) GROUP BY thread_id",
                ids,
            )
            latest = {str(t): (str(c) if c is not None else None) for t, c in map(_row, cur.fetchall())}
            changed = [t for t in ids if latest.get(t) != expected[t]]
            doomed = [t for t in ids if t not in set(changed)]
            if not doomed:
                return Freed(), [], changed
            freed = self._measure(cur, doomed)
            marks = lay.marks(len(doomed))
            for table in (lay.writes, lay.blobs, lay.checkpoints):
                if table is not None:
                    cur.execute(f"DELETE FROM {table} WHERE thread_id IN ({marks})", doomed)
        return freed, doomed, changed

    def _measure(self, cur: Cursor, thread_ids: Sequence[str]) -> Freed:
        lay, ids = self.layout, list(thread_ids)
        freed = Freed()
        if not ids:
            return freed
        where = f"WHERE thread_id IN ({lay.marks(len(ids))})"
        cur.execute(
            f"SELECT COUNT(*), SUM({lay.size('checkpoint', 'metadata')}) FROM {lay.checkpoints} {where}", ids
        )
        count, size = _row(cur.fetchall()[0])
        freed.checkpoints, freed.bytes = int(count), int(size or 0)
        cur.execute(f"SELECT COUNT(*), SUM({lay.size(lay.write_payload)}) FROM {lay.writes} {where}", ids)
        count, size = _row(cur.fetchall()[0])
        freed.writes, freed.bytes = int(count), freed.bytes + int(size or 0)
        if lay.blobs is not None:
            cur.execute(f"SELECT COUNT(*), SUM({lay.size('blob')}) FROM {lay.blobs} {where}", ids)
            count, size = _row(cur.fetchall()[0])
            freed.blobs, freed.bytes = int(count), freed.bytes + int(size or 0)
        return freed


def sqlite_tables(connection: Any, lock: threading.Lock | None = None) -> CheckpointTables:
    """The tables of a ``SqliteSaver`` through its own ``sqlite3`` connection (and its lock, so
    the saver's other users in this process wait rather than interleave)."""

    @contextmanager
    def transaction(write: bool) -> Iterator[Cursor]:
        with lock if lock is not None else threading.Lock():
            cur = connection.cursor()
            try:
                if write and not connection.in_transaction:
                    # Take the write lock now: a reader that later wants to write would deadlock.
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                cur.close()

    return CheckpointTables(SQLITE_LAYOUT, transaction)


def postgres_tables(connection: Any) -> CheckpointTables:
    """The tables of a ``PostgresSaver`` through a psycopg connection or connection pool (the
    saver's ``conn``); each batch runs in ``connection.transaction()``, autocommit or not."""

    @contextmanager
    def transaction(write: bool) -> Iterator[Cursor]:
        with _pg_connection(connection) as conn, conn.transaction(), conn.cursor() as cur:
            if write:
                cur.execute(PG_WRITE_LOCK)
            yield cur

    return CheckpointTables(POSTGRES_LAYOUT, transaction)


@contextmanager
def _pg_connection(connection: Any) -> Iterator[Any]:
    if hasattr(connection, "cursor"):
        yield connection
    else:  # a psycopg_pool.ConnectionPool
        with connection.connection() as conn:
            yield conn


def tables_for(checkpointer: Any) -> CheckpointTables:
    """The tables behind a LangGraph checkpointer this module knows how to prune."""
    kind = type(checkpointer).__name__
    if kind == "SqliteSaver":
        checkpointer.setup()
        return sqlite_tables(checkpointer.conn, checkpointer.lock)
    if kind == "PostgresSaver":
        return postgres_tables(checkpointer.conn)
    from agent.service import Refused

    raise Refused(f"cannot prune checkpoints kept by {kind}: only by SqliteSaver or PostgresSaver")


# ---- which threads may go -----------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadFacts:
    """What decides whether a thread may be pruned, gathered from the stores and the graph."""

    thread_id: str
    statuses: frozenset[str] = frozenset()
    proposal_ids: frozenset[str] = frozenset()
    interrupt_proposals: frozenset[str | None] = frozenset()  # None: an interrupt of another kind
    next_nodes: tuple[str, ...] = ()
    already_pruned: bool = False
    last_activity: datetime | None = None
    latest_checkpoint: str | None = None
    has_conversation: bool = False


def keep_reason(facts: ThreadFacts, cutoff: datetime | None) -> str | None:
    """Why this thread must be kept, or None when it is terminal (and old enough) to prune."""
    if "pending" in facts.statuses:
        return PENDING_APPROVAL
    if facts.statuses & IN_FLIGHT_STATUSES:
        return WRITE_NOT_COMMITTED
    if facts.statuses - TERMINAL_STATUSES:
        return UNKNOWN_STATUS
    if facts.interrupt_proposals:
        # An approval interrupt for a proposal the store does not hold as finished still waits
        # for a decision; one for a finished proposal waits to be told its outcome.
        if any(p is not None and p not in facts.proposal_ids for p in facts.interrupt_proposals):
            return PENDING_APPROVAL
        return PAUSED_AT_INTERRUPT
    if facts.next_nodes:
        return RUN_UNFINISHED
    if facts.already_pruned:
        return ALREADY_PRUNED
    if cutoff is not None and facts.last_activity is not None and facts.last_activity >= cutoff:
        return RECENTLY_ACTIVE
    return None


# ---- the report ----------------------------------------------------------------------------------


@dataclass
class PruneReport:
    dry_run: bool
    backend: str
    older_than_days: float | None
    cutoff: datetime | None
    threads_examined: int = 0
    freed: Freed = field(default_factory=Freed)
    pruned: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)
    notes_failed: list[str] = field(default_factory=list)

    def keep(self, reason: str) -> None:
        self.kept[reason] = self.kept.get(reason, 0) + 1

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "backend": self.backend,
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff.isoformat() if self.cutoff is not None else None,
            "threads_examined": self.threads_examined,
            "threads_pruned": len(self.pruned),
            "checkpoints_deleted": self.freed.checkpoints,
            "writes_deleted": self.freed.writes,
            "blobs_deleted": self.freed.blobs,
            "bytes_freed": self.freed.bytes,
            # The payload bytes of the deleted rows; SQLite reuses the pages, VACUUM shrinks the file.
            "bytes_estimated": True,
            "threads_kept": sum(self.kept.values()),
            "kept": dict(sorted(self.kept.items())),
            "pruned_threads": list(self.pruned),
            "notes_failed": list(self.notes_failed),
        }

    def lines(self) -> list[str]:
        verb = "Would prune" if self.dry_run else "Pruned"
        freed = self.freed
        blobs = f", {freed.blobs} blobs" if freed.blobs else ""
        lines = [
            f"{verb} {len(self.pruned)} of {self.threads_examined} conversation threads: "
            f"{freed.checkpoints} checkpoints, {freed.writes} writes{blobs}, about {_size(freed.bytes)}"
            f"{' to free' if self.dry_run else ' freed'}."
        ]
        kept = sum(self.kept.values())
        lines.append(f"Kept {kept} thread{'' if kept == 1 else 's'}" + (":" if kept else "."))
        lines.extend(
            f"  {n:>6}  {reason}: {KEEP_REASONS.get(reason, reason)}" for reason, n in self.kept.items()
        )
        if self.notes_failed:
            lines.append(f"The pruned-history note could not be written for: {', '.join(self.notes_failed)}")
        if self.dry_run:
            lines.append("Dry run: nothing was deleted.")
        return lines


def _size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


# ---- the note a pruned conversation shows ---------------------------------------------------------


def pruned_note(thread_id: str, filed: Sequence[Proposal], when: datetime) -> AIMessage:
    """The one message a pruned conversation keeps: what happened to its history, and where the
    record of what it did still is (its proposals and the audit trail)."""
    from langchain_core.messages import AIMessage

    text = (
        f"The messages of this conversation were removed on {when:%Y-%m-%d} under checkpoint "
        "retention (`countersign maintenance prune`)."
    )
    if filed:
        done = "; ".join(_outcome(p) for p in sorted(filed, key=lambda p: p.created_at))
        first = filed[0].id
        text += (
            f" What it did is kept: {done}. Each step stays in the audit trail "
            f"(`countersign audit show --proposal {first}`)."
        )
    else:
        text += " It filed no proposals; the ERP reads it made stay in the audit trail."
    return AIMessage(text, id=f"{PRUNED_MARK}-{thread_id}")


def _outcome(proposal: Proposal) -> str:
    receipt = proposal.receipt or {}
    landed = f" as document {receipt['document_id']}" if receipt.get("document_id") else ""
    return f"proposal {proposal.id} ({proposal.action}) {proposal.status}{landed}"


# ---- the prune ------------------------------------------------------------------------------------


Progress = Callable[[int, int], None]


class Pruner:
    """Prunes one installation's checkpoints: the graph (for each thread's state), the app database
    (proposals, conversations) and the checkpointer's tables."""

    def __init__(
        self,
        *,
        graph: Pregel[Any, Any, Any, Any],
        engine: Engine,
        tables: CheckpointTables,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        note_as_node: str = NOTE_NODE,
    ) -> None:
        self._graph = graph
        self._engine = engine
        self._store = ProposalStore(engine)
        self._tables = tables
        self._now = now
        self._note_as_node = note_as_node

    def run(
        self,
        *,
        older_than: timedelta | None = None,
        dry_run: bool = False,
        progress: Progress = lambda done, total: None,
    ) -> PruneReport:
        now = self._now()
        cutoff = now - older_than if older_than is not None else None
        report = PruneReport(
            dry_run=dry_run,
            backend=self._tables.layout.backend,
            older_than_days=older_than / timedelta(days=1) if older_than is not None else None,
            cutoff=cutoff,
        )
        candidates = self._tables.thread_ids()
        progress(0, len(candidates))
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start : start + BATCH]
            facts = self._facts(batch)
            expected: dict[str, str | None] = {}
            for thread in facts:
                reason = keep_reason(thread, cutoff)
                if reason is None:
                    expected[thread.thread_id] = thread.latest_checkpoint
                else:
                    report.keep(reason)
            report.threads_examined += len(batch)
            if dry_run:
                report.freed.add(self._tables.measure(list(expected)))
                report.pruned.extend(expected)
            else:
                freed, deleted, changed = self._tables.delete(expected)
                report.freed.add(freed)
                report.pruned.extend(deleted)
                for _ in changed:
                    report.keep(CHANGED_DURING_PRUNE)
                with_conversation = {f.thread_id for f in facts if f.has_conversation}
                for thread_id in deleted:
                    if thread_id in with_conversation and not self._leave_note(thread_id, now):
                        report.notes_failed.append(thread_id)
            progress(report.threads_examined, len(candidates))
        return report

    def _facts(self, batch: list[str]) -> list[ThreadFacts]:
        statuses: dict[str, set[str]] = {t: set() for t in batch}
        ids: dict[str, set[str]] = {t: set() for t in batch}
        active: dict[str, datetime] = {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    proposals.c.thread_id, proposals.c.id, proposals.c.status, proposals.c.updated_at
                ).where(proposals.c.thread_id.in_(batch))
            )
            for row in rows.mappings():
                statuses[row["thread_id"]].add(row["status"])
                ids[row["thread_id"]].add(row["id"])
                _latest(active, row["thread_id"], row["updated_at"])
            conversations = conn.execute(
                select(threads.c.thread_id, threads.c.updated_at).where(threads.c.thread_id.in_(batch))
            )
            owned: set[str] = set()
            for row in conversations.mappings():
                owned.add(row["thread_id"])
                _latest(active, row["thread_id"], row["updated_at"])
        facts = []
        for thread_id in batch:
            thread = ThreadFacts(
                thread_id=thread_id,
                statuses=frozenset(statuses[thread_id]),
                proposal_ids=frozenset(ids[thread_id]),
                has_conversation=thread_id in owned,
            )
            if keep_reason(thread, None) is None:  # only then is the graph's state worth reading
                thread = self._with_state(thread, active)
            facts.append(thread)
        return facts

    def _with_state(self, thread: ThreadFacts, active: dict[str, datetime]) -> ThreadFacts:
        snapshot = self._graph.get_state({"configurable": {"thread_id": thread.thread_id}})
        waits: set[str | None] = set()
        for pending in snapshot.interrupts:
            value = pending.value
            is_approval = isinstance(value, dict) and value.get("type") == "approval"
            waits.add(str(value.get("proposal_id")) if is_approval else None)
        if snapshot.created_at:
            _latest(active, thread.thread_id, datetime.fromisoformat(snapshot.created_at))
        return ThreadFacts(
            thread_id=thread.thread_id,
            statuses=thread.statuses,
            proposal_ids=thread.proposal_ids,
            interrupt_proposals=frozenset(waits),
            next_nodes=tuple(snapshot.next),
            already_pruned=bool((snapshot.metadata or {}).get(PRUNED_MARK)),
            last_activity=active.get(thread.thread_id),
            latest_checkpoint=snapshot.config.get("configurable", {}).get("checkpoint_id"),
            has_conversation=thread.has_conversation,
        )

    def _leave_note(self, thread_id: str, when: datetime) -> bool:
        from langchain_core.runnables import RunnableConfig

        filed = self._store.list(thread_id=thread_id, limit=1000)
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id},
            "metadata": {PRUNED_MARK: when.isoformat()},
        }
        try:
            self._graph.update_state(
                config, {"messages": [pruned_note(thread_id, filed, when)]}, as_node=self._note_as_node
            )
        except Exception:  # the checkpoints are gone either way; the report names the thread
            return False
        return True


def _latest(into: dict[str, datetime], thread_id: str, moment: datetime | None) -> None:
    if moment is None:
        return
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite drops the zone
    if thread_id not in into or aware > into[thread_id]:
        into[thread_id] = aware


def prune_checkpoints(
    service: AgentService,
    *,
    older_than: timedelta | None = None,
    dry_run: bool = False,
    progress: Progress = lambda done, total: None,
) -> PruneReport:
    """Prune the checkpoints of one installation's terminal conversation threads (see the module)."""
    pruner = Pruner(
        graph=service.graph,
        engine=service.engine,
        tables=tables_for(service.graph.checkpointer),
    )
    return pruner.run(older_than=older_than, dry_run=dry_run, progress=progress)
