"""Bookkeeping rows (handled messages, finished outbox rows, used token ids) are removed once they
guard nothing, on SQLite and PostgreSQL; proposals and unfinished work are never touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from agent import record_retention
from agent.approvals import proposals
from agent.db import make_engine
from agent.messaging.inbox import processed_messages
from agent.messaging.outbox import outbox
from agent.record_retention import prune_records
from agent.schema import upgrade_app_database
from tests.support.postgres import schema_engine, scratch_schema
from tools.tokens import token_uses

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=2)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path / 'countersign.db'}")
        upgrade_app_database(made)
        yield made
        made.dispose()
        return
    with scratch_schema("retention_test") as schema:
        made = schema_engine(schema)
        try:
            upgrade_app_database(made)
            yield made
        finally:
            made.dispose()


def proposal(conn: Any, proposal_id: str, status: str) -> None:
    conn.execute(
        insert(proposals).values(
            id=proposal_id,
            thread_id=f"T-{proposal_id}",
            tool_call_id=f"call-{proposal_id}",
            action="create_purchase_order",
            summary="40 hex bolts",
            payload={},
            idempotency_key=f"key-{proposal_id}",
            fingerprint="f" * 64,
            requester="alice",
            on_behalf_of="alice",
            status=status,
            evidence=[],
            gate={},
            created_at=OLD,
            updated_at=OLD,
        )
    )


def message(conn: Any, message_id: str, subject: str | None, completed_at: datetime | None) -> None:
    conn.execute(
        insert(outbox).values(
            message_id=message_id,
            queue="commands",
            body={},
            subject=subject,
            created_at=OLD,
            published_at=OLD,
            publish_count=1,
            completed_at=completed_at,
            outcome="committed" if completed_at else None,
        )
    )


@pytest.fixture
def filled(engine: Engine) -> Engine:
    with engine.begin() as conn:
        proposal(conn, "P-done", "committed")
        proposal(conn, "P-waiting", "pending")
        proposal(conn, "P-stuck", "committing")
        message(conn, "m-done-old", "P-done", OLD)  # goes
        message(conn, "m-nosubject-old", None, OLD)  # goes
        message(conn, "m-done-recent", "P-done", RECENT)  # too recent
        message(conn, "m-stuck-old", "P-stuck", OLD)  # its proposal is not finished
        message(conn, "m-unfinished", "P-waiting", None)  # never finished
        for n in range(5):
            conn.execute(
                insert(processed_messages).values(
                    consumer="writer", message_id=f"old-{n}", processed_at=OLD, outcome="done"
                )
            )
        conn.execute(
            insert(processed_messages).values(
                consumer="writer", message_id="recent", processed_at=RECENT, outcome="done"
            )
        )
        for jti, expires in (("expired", NOW - timedelta(hours=1)), ("live", NOW + timedelta(minutes=5))):
            conn.execute(
                insert(token_uses).values(
                    jti=jti,
                    audience="erp",
                    subject="agent",
                    used_at=NOW.replace(tzinfo=None),
                    expires_at=expires.replace(tzinfo=None),
                )
            )
    return engine


def left(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        return {
            "outbox": set(conn.execute(select(outbox.c.message_id)).scalars()),
            "messages": set(conn.execute(select(processed_messages.c.message_id)).scalars()),
            "tokens": set(conn.execute(select(token_uses.c.jti)).scalars()),
            "proposals": set(conn.execute(select(proposals.c.id)).scalars()),
        }


def test_old_records_go_and_recent_unfinished_or_still_useful_ones_stay(
    filled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_retention, "BATCH", 2)  # several batches of a composite key
    lines: list[str] = []

    report = prune_records(filled, older_than=timedelta(days=30), now=NOW, progress=lines.append)

    assert (report.handled_messages, report.finished_outbox_rows, report.token_ids) == (5, 2, 1)
    assert left(filled) == {
        "outbox": {"m-done-recent", "m-stuck-old", "m-unfinished"},
        "messages": {"recent"},
        "tokens": {"live"},
        "proposals": {"P-done", "P-waiting", "P-stuck"},
    }
    assert lines[-1] == "finished outbox rows: 2 removed"
    assert report.lines() == [
        "Removed 5 handled-message records and 2 finished outbox rows older than 30 days, "
        "and 1 ids of expired tokens"
    ]


def test_a_dry_run_counts_the_same_rows_and_removes_none(filled: Engine) -> None:
    before = left(filled)

    report = prune_records(filled, older_than=timedelta(days=30), now=NOW, dry_run=True)

    assert report.as_json() == {
        "dry_run": True,
        "older_than_days": 30.0,
        "handled_messages_deleted": 5,
        "finished_outbox_rows_deleted": 2,
        "token_ids_deleted": 1,
    }
    assert left(filled) == before


def test_a_shorter_retention_reaches_the_recent_records_too(filled: Engine) -> None:
    report = prune_records(filled, older_than=timedelta(days=1), now=NOW)

    assert (report.handled_messages, report.finished_outbox_rows) == (6, 3)
    with filled.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() == 2


def test_a_negative_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        prune_records(make_engine("sqlite://"), older_than=timedelta(days=-1), now=NOW)
