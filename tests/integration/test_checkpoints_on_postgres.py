"""``COUNTERSIGN_CHECKPOINT_URL``: the conversation state in PostgreSQL (``PostgresSaver``).

A fresh database on the real PostgreSQL at 127.0.0.1 per test. The paused run is the proof that
matters: a request filed by one service instance is approved by another (as by another process),
which resumes the interrupted run from the checkpoint in PostgreSQL and commits once.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from agent.approvals import AlreadyDecided
from agent.checkpoints import (
    CheckpointDatabaseUnreachable,
    CheckpointUrlError,
    open_checkpointer,
    postgres_conninfo,
)
from agent.maintenance import prune_checkpoints
from agent.service import build_service
from agent.settings import Settings

pytestmark = pytest.mark.integration

SERVER = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ORDER = "order 40 hex bolts M8 from Fastenal"


@pytest.fixture
def checkpoint_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (dropped afterwards)."""
    name = f"cs_checkpoints_{secrets.token_hex(5)}"
    try:
        admin = psycopg.connect(postgres_conninfo(SERVER), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {SERVER} ({exc}); CI has one: start it", pytrace=False)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield SERVER.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def settings_on(data_dir: Path, checkpoint_url: str) -> Settings:
    return Settings(data_dir=data_dir, model="offline", checkpoint_url=checkpoint_url)


def test_a_request_paused_in_postgresql_is_approved_by_another_instance_and_commits_once(
    data_dir: Path, checkpoint_url: str
) -> None:
    filing = build_service(settings_on(data_dir, checkpoint_url))
    try:
        [proposal] = filing.chat("alice", ORDER).proposals
        thread_id = proposal.thread_id
    finally:
        filing.close()
    assert not (data_dir / "checkpoints.db").exists()

    deciding = build_service(settings_on(data_dir, checkpoint_url))
    try:
        decided = deciding.decide(proposal.id, "bob", "approve")
        assert decided.status == "committed" and decided.receipt is not None
        with pytest.raises(AlreadyDecided):
            deciding.decide(proposal.id, "bob", "approve")
        said = [str(m.content) for m in deciding.messages(thread_id)]
        assert any(decided.receipt["document_id"] in text for text in said)
    finally:
        deciding.close()


def test_a_finished_conversation_in_postgresql_is_pruned_and_a_waiting_one_is_kept(
    data_dir: Path, checkpoint_url: str
) -> None:
    service = build_service(settings_on(data_dir, checkpoint_url))
    try:
        [done] = service.chat("alice", ORDER).proposals
        service.decide(done.id, "bob", "approve")
        [waiting] = service.chat("alice", ORDER).proposals

        report = prune_checkpoints(service)

        assert report.backend == "postgres"
        assert report.pruned == [done.thread_id] and report.freed.checkpoints > 0
        assert service.decide(waiting.id, "bob", "approve").status == "committed"
    finally:
        service.close()


def test_the_checkpointer_is_a_sqlite_file_by_default_and_refuses_other_databases(tmp_path: Path) -> None:
    checkpointer = open_checkpointer(f"sqlite:///{tmp_path / 'cp.db'}")
    try:
        assert checkpointer.kind == "sqlite" and (tmp_path / "cp.db").exists()
    finally:
        checkpointer.close()
    with pytest.raises(CheckpointUrlError, match="checkpoints live in SQLite or PostgreSQL"):
        open_checkpointer("mysql://root@127.0.0.1/test")
    with pytest.raises(CheckpointUrlError, match="is not a database URL"):
        open_checkpointer("not a url")


def test_an_unreachable_checkpoint_database_is_one_line_without_its_password() -> None:
    with pytest.raises(CheckpointDatabaseUnreachable) as refused:
        open_checkpointer("postgresql://postgres:hunter2@127.0.0.1:1/nowhere")
    message = str(refused.value)
    assert message.startswith("the checkpoint database at postgresql://postgres:***@127.0.0.1:1/nowhere")
    assert "hunter2" not in message and "\n" not in message


def test_processes_opening_a_new_checkpoint_database_at_once_create_its_tables_once(
    checkpoint_url: str,
) -> None:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        kinds = pool.map(_open_and_close, [checkpoint_url] * 4)

    assert kinds == ["postgresql"] * 4
    with psycopg.connect(postgres_conninfo(checkpoint_url)) as conn:
        versions = [row[0] for row in conn.execute("SELECT v FROM checkpoint_migrations ORDER BY v")]
    assert versions == list(range(len(versions))) and versions


def _open_and_close(url: str) -> str:
    """In a process of its own: open the checkpointer (creating its tables if need be) and close it."""
    opened = open_checkpointer(url)
    opened.close()
    return opened.kind
