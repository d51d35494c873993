"""Checkpoint retention (``agent.maintenance``): terminal threads go, threads waiting never do.

Real threads are built through the service with the offline planner, on the real SQLite
checkpointer. The table-level deletion is also run against the real PostgreSQL at 127.0.0.1
(the PostgresSaver tables, in a schema of their own), and a whole prune runs on a
``PostgresSaver``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph.message import add_messages

from agent.maintenance import (
    PENDING_APPROVAL,
    PRUNED_MARK,
    Pruner,
    PruneReport,
    postgres_tables,
    prune_checkpoints,
    tables_for,
)
from agent.service import AgentService, ChatResult

pytestmark = pytest.mark.integration

ORDER = "order 40 hex bolts M8 from Fastenal"


def rows(service: AgentService, thread_id: str) -> tuple[int, int]:
    """(checkpoints, writes) the SQLite checkpointer holds for one thread."""
    conn = service.graph.checkpointer.conn  # type: ignore[union-attr]
    checkpoints = conn.execute(
        "SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)
    ).fetchone()
    writes = conn.execute("SELECT COUNT(*) FROM writes WHERE thread_id = ?", (thread_id,)).fetchone()
    return int(checkpoints[0]), int(writes[0])


def committed_thread(service: AgentService) -> ChatResult:
    result = service.chat("alice", ORDER)
    assert service.decide(result.proposals[0].id, "bob", "approve").status == "committed"
    return result


def pending_thread(service: AgentService) -> ChatResult:
    result = service.chat("alice", ORDER)
    assert result.proposals[0].status == "pending"
    return result


def test_a_committed_thread_is_pruned_and_a_pending_one_is_kept(service: AgentService) -> None:
    done, waiting = committed_thread(service), pending_thread(service)
    waiting_rows = rows(service, waiting.thread_id)
    done_rows = rows(service, done.thread_id)

    report = prune_checkpoints(service)

    assert report.pruned == [done.thread_id]
    assert report.kept == {PENDING_APPROVAL: 1}
    assert report.freed.checkpoints == done_rows[0]
    assert report.freed.writes == done_rows[1]
    assert report.freed.bytes > 0
    assert rows(service, waiting.thread_id) == waiting_rows
    assert rows(service, done.thread_id) == (1, 0)  # only the note saying the history was pruned
    assert service.proposal(done.proposals[0].id).status == "committed"


def test_a_rejected_thread_and_a_conversation_without_proposals_are_pruned_too(service: AgentService) -> None:
    rejected = service.chat("alice", ORDER)
    service.decide(rejected.proposals[0].id, "bob", "reject", reason="not this week")
    question = service.chat("alice", "how many hex bolts M8 do we have?")

    report = prune_checkpoints(service)

    assert sorted(report.pruned) == sorted([rejected.thread_id, question.thread_id])
    assert report.kept == {}


def test_a_pruned_conversation_shows_a_note_and_keeps_its_proposals_and_audit_trail(
    service: AgentService,
) -> None:
    done = committed_thread(service)
    proposal = service.proposal(done.proposals[0].id)
    story_before = [r.seq for r in service.story(proposal.id)]

    prune_checkpoints(service)

    [note] = service.transcript(done.thread_id, "alice")
    assert note["role"] == "assistant"
    assert "removed" in note["content"] and "countersign maintenance prune" in note["content"]
    assert proposal.id in note["content"] and "committed" in note["content"]
    assert proposal.receipt is not None and proposal.receipt["document_id"] in note["content"]
    assert done.thread_id in [c.thread_id for c in service.conversations_of("alice")]
    assert service.waiting_for(done.thread_id, "alice") is None
    assert [r.seq for r in service.story(proposal.id)] == story_before
    assert service.verify_audit().ok


def test_a_pruned_conversation_can_be_continued_and_is_not_pruned_twice(service: AgentService) -> None:
    done = committed_thread(service)
    prune_checkpoints(service)

    again = prune_checkpoints(service)
    assert again.pruned == [] and again.kept == {"already_pruned": 1}

    reply = service.chat("alice", "how many hex bolts M8 do we have?", done.thread_id)
    assert "HB-M8-40" in reply.reply
    roles = [m["role"] for m in service.transcript(done.thread_id, "alice")]
    assert roles[:2] == ["assistant", "user"]
    assert prune_checkpoints(service).pruned == [done.thread_id]  # the new turn is over too


def test_a_dry_run_deletes_nothing(service: AgentService) -> None:
    done, waiting = committed_thread(service), pending_thread(service)
    before = {t: rows(service, t) for t in (done.thread_id, waiting.thread_id)}

    dry = prune_checkpoints(service, dry_run=True)

    assert dry.dry_run is True
    assert dry.pruned == [done.thread_id]
    assert {t: rows(service, t) for t in before} == before
    assert len(service.transcript(done.thread_id, "alice")) > 1
    real = prune_checkpoints(service)
    assert (real.freed, real.pruned, real.kept) == (dry.freed, dry.pruned, dry.kept)


def test_older_than_keeps_recently_active_threads(service: AgentService) -> None:
    done = committed_thread(service)
    tables = tables_for(service.graph.checkpointer)

    recent = prune_checkpoints(service, older_than=timedelta(days=7))
    assert recent.pruned == [] and recent.kept == {"recently_active": 1}
    assert rows(service, done.thread_id)[0] > 1

    eight_days_on = datetime.now(UTC) + timedelta(days=8)
    later = Pruner(graph=service.graph, engine=service.engine, tables=tables, now=lambda: eight_days_on)
    report = later.run(older_than=timedelta(days=7))
    assert report.pruned == [done.thread_id]
    assert report.older_than_days == 7


def test_a_kept_pending_thread_can_still_be_approved_after_a_prune(service: AgentService) -> None:
    committed_thread(service)
    waiting = pending_thread(service)

    prune_checkpoints(service)
    committed = service.decide(waiting.proposals[0].id, "bob", "approve")

    assert committed.status == "committed" and committed.receipt is not None
    last = service.messages(waiting.thread_id)[-1]
    assert isinstance(last, AIMessage) and committed.receipt["document_id"] in str(last.content)
    assert prune_checkpoints(service).pruned == [waiting.thread_id]


def test_a_kept_pending_thread_can_still_be_rejected_after_a_prune(service: AgentService) -> None:
    waiting = pending_thread(service)
    prune_checkpoints(service)

    rejected = service.decide(waiting.proposals[0].id, "bob", "reject", reason="too many")

    assert rejected.status == "rejected"
    assert "too many" in " ".join(str(m.content) for m in service.messages(waiting.thread_id))


def test_a_thread_whose_write_is_approved_but_not_committed_is_kept(service: AgentService) -> None:
    waiting = pending_thread(service)
    kick = service.on_enqueued
    service.on_enqueued = lambda: None  # the writer is down: the approved write stays queued
    assert service.decide(waiting.proposals[0].id, "bob", "approve").status == "approved"

    report = prune_checkpoints(service)
    assert report.pruned == [] and report.kept == {"write_not_committed": 1}

    service.on_enqueued = kick
    service.recover()  # the writer is back: the write lands and the run is told
    assert service.proposal(waiting.proposals[0].id).status == "committed"
    assert prune_checkpoints(service).pruned == [waiting.thread_id]


def test_a_thread_paused_at_an_interrupt_is_kept_even_when_its_proposal_is_finished(
    service: AgentService,
) -> None:
    waiting = pending_thread(service)
    # The writer recorded the outcome but the run has not been told yet (a crash in between).
    service.store.mark(waiting.proposals[0].id, "failed", error="the ERP refused it")

    report = prune_checkpoints(service)

    assert report.pruned == [] and report.kept == {"paused_at_interrupt": 1}
    assert service.graph.get_state({"configurable": {"thread_id": waiting.thread_id}}).interrupts


def test_a_thread_that_changes_between_the_check_and_the_delete_is_kept(service: AgentService) -> None:
    done = committed_thread(service)
    before = rows(service, done.thread_id)
    tables = tables_for(service.graph.checkpointer)

    freed, deleted, changed = tables.delete({done.thread_id: "an-older-checkpoint"})

    assert (deleted, changed) == ([], [done.thread_id])
    assert freed.checkpoints == 0
    assert rows(service, done.thread_id) == before


def test_the_report_reads_as_a_summary_with_reasons(service: AgentService) -> None:
    committed_thread(service)
    pending_thread(service)

    report = prune_checkpoints(service, dry_run=True)
    text = "\n".join(report.lines())

    assert text.startswith("Would prune 1 of 2 conversation threads:")
    assert "pending_approval: waiting for a decision" in text
    assert "Dry run: nothing was deleted." in text
    shape = report.as_json()
    assert shape["threads_pruned"] == 1 and shape["threads_kept"] == 1
    assert shape["bytes_freed"] == report.freed.bytes > 0


# ---- PostgreSQL -----------------------------------------------------------------------------------

POSTGRES_URL = os.environ.get(
    "COUNTERSIGN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
).replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def pg_conn() -> Iterator[Any]:
    """A psycopg connection as PostgresSaver wants one (autocommit, dict rows), in a fresh schema
    holding PostgresSaver's tables; the schema is dropped afterwards."""
    import psycopg
    from psycopg.rows import dict_row

    schema = f"ckpt_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}); CI has one: start it", pytrace=False
        )
    admin.execute(f"CREATE SCHEMA {schema}")
    conn = psycopg.connect(
        POSTGRES_URL, autocommit=True, row_factory=dict_row, options=f"-csearch_path={schema}"
    )
    try:
        PostgresSaver(conn).setup()
        yield conn
    finally:
        conn.close()
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def fill_thread(conn: Any, thread_id: str, checkpoints: int = 3) -> None:
    """Rows shaped like PostgresSaver's: checkpoints (root and a subgraph), blobs, writes."""
    from psycopg.types.json import Jsonb

    for n in range(checkpoints):
        for ns in ("", "child:1"):
            conn.execute(
                "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata)"
                " VALUES (%s, %s, %s, %s, %s)",
                (thread_id, ns, f"cp-{n}", Jsonb({"v": 4, "id": f"cp-{n}"}), Jsonb({"step": n})),
            )
            conn.execute(
                "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)"
                " VALUES (%s, %s, 'messages', %s, 'msgpack', %s)",
                (thread_id, ns, str(n), b"x" * 100),
            )
            conn.execute(
                "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx,"
                " channel, type, blob) VALUES (%s, %s, %s, 't', 0, 'messages', 'msgpack', %s)",
                (thread_id, ns, f"cp-{n}", b"y" * 50),
            )


def pg_counts(conn: Any, thread_id: str) -> tuple[int, int, int]:
    found = []
    for table in ("checkpoints", "checkpoint_writes", "checkpoint_blobs"):
        row = conn.execute(f"SELECT COUNT(*) AS n FROM {table} WHERE thread_id = %s", (thread_id,)).fetchone()
        found.append(int(row["n"]))
    return found[0], found[1], found[2]


def test_on_postgresql_a_whole_thread_goes_from_all_three_tables_and_others_stay(pg_conn: Any) -> None:
    fill_thread(pg_conn, "T-done")
    fill_thread(pg_conn, "T-waiting")
    tables = postgres_tables(pg_conn)
    assert tables.thread_ids() == ["T-done", "T-waiting"]

    measured = tables.measure(["T-done"])
    freed, deleted, changed = tables.delete({"T-done": "cp-2"})

    assert (deleted, changed) == (["T-done"], [])
    assert (freed.checkpoints, freed.writes, freed.blobs) == (6, 6, 6)
    assert freed == measured and freed.bytes >= 6 * 150
    assert pg_counts(pg_conn, "T-done") == (0, 0, 0)
    assert pg_counts(pg_conn, "T-waiting") == (6, 6, 6)


def test_on_postgresql_a_thread_with_a_newer_checkpoint_than_examined_is_kept(pg_conn: Any) -> None:
    fill_thread(pg_conn, "T-busy")

    freed, deleted, changed = postgres_tables(pg_conn).delete({"T-busy": "cp-1"})

    assert (deleted, changed, freed.checkpoints) == ([], ["T-busy"], 0)
    assert pg_counts(pg_conn, "T-busy") == (6, 6, 6)


class TinyState(TypedDict, total=False):
    messages: Annotated[list[Any], add_messages]


def test_on_a_postgres_saver_a_finished_run_is_pruned_and_a_paused_one_still_resumes(
    pg_conn: Any, tmp_path: Any
) -> None:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    from agent.approvals import ProposalStore
    from agent.conversations import ConversationStore
    from agent.db import make_engine

    def ask(state: TinyState) -> dict[str, Any]:
        if "approve" not in str(state["messages"][-1].content):
            return {}
        answer = interrupt({"type": "approval", "proposal_id": "P-waiting"})
        return {"messages": [AIMessage(f"decided: {answer}")]}

    def respond(state: TinyState) -> dict[str, Any]:
        return {"messages": [AIMessage("done")]}

    builder = StateGraph(TinyState)
    builder.add_node("ask", ask)
    builder.add_node("respond", respond)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "respond")
    builder.add_edge("respond", END)
    graph = builder.compile(checkpointer=PostgresSaver(pg_conn))
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    store = ProposalStore(engine)
    store.create_schema()
    conversations = ConversationStore(engine)
    for thread_id in ("T-finished", "T-paused"):
        conversations.start("alice", "a chat", thread_id)
    store.create(
        thread_id="T-paused",
        tool_call_id="c1",
        action="create_purchase_order",
        summary="PO",
        payload={},
        idempotency_key="k1",
        fingerprint="f1",
        requester="alice",
        evidence=[],
        gate={},
    )

    def cfg(thread_id: str) -> Any:
        return {"configurable": {"thread_id": thread_id}}

    graph.invoke({"messages": [("user", "hello")]}, cfg("T-finished"))
    graph.invoke({"messages": [("user", "please approve")]}, cfg("T-paused"))
    paused_rows = pg_counts(pg_conn, "T-paused")

    report: PruneReport = Pruner(graph=graph, engine=engine, tables=postgres_tables(pg_conn)).run()

    assert report.backend == "postgres"
    assert report.pruned == ["T-finished"] and report.kept == {PENDING_APPROVAL: 1}
    assert report.freed.checkpoints > 0 and report.freed.blobs > 0 and report.freed.bytes > 0
    finished = graph.get_state(cfg("T-finished"))
    assert [m.type for m in finished.values["messages"]] == ["ai"]
    assert finished.metadata is not None and PRUNED_MARK in finished.metadata
    assert pg_counts(pg_conn, "T-paused") == paused_rows
    resumed = graph.invoke(Command(resume="approve"), cfg("T-paused"))
    assert [m.content for m in resumed["messages"][-2:]] == ["decided: approve", "done"]
    engine.dispose()
