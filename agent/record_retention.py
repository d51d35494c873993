"""Retention of the app database's bookkeeping rows: the ones that only guard against a repeat.

Three tables grow with every action and are read only to recognise a repeat:

- ``processed_messages`` (the consumers' inbox): a redelivered message is skipped because its
  id is there. A broker redelivers within minutes or hours, never a month later; and should a
  very late copy come (a dead letter replayed by hand), the writer still checks the proposal's
  status and applies under the proposal's idempotency key, so the ERP returns its stored receipt.
- ``outbox`` rows that are finished (``completed_at`` set) about a proposal that is itself
  finished (committed, rejected, expired, failed) or about nothing: the relay never sends them
  again and ``countersign recover`` looks only at unfinished proposals' rows.
- ``token_uses``: the ids of single-use tokens, kept so a token cannot be replayed. Once a token
  has expired past the verifier's leeway it is refused for its expiry anyway.

The first two are removed once older than a retention period (``older_than``, 30 days in
``countersign maintenance prune``); token ids as soon as they guard nothing. Proposals, decisions,
the audit trail and the ERP are never touched. Deletion runs in batches of ``BATCH`` rows so a
large backlog never holds a long lock on the live tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, delete, func, or_, select, tuple_
from sqlalchemy.sql import ColumnElement

from agent.approvals import proposals
from agent.maintenance import TERMINAL_STATUSES
from agent.messaging.inbox import processed_messages
from agent.messaging.outbox import outbox
from tools.tokens import SqlJtiStore

BATCH: Final = 5_000


@dataclass(frozen=True)
class RecordsReport:
    """What a pass removed (or, dry, would remove) from each bookkeeping table."""

    dry_run: bool
    older_than_days: float
    handled_messages: int
    finished_outbox_rows: int
    token_ids: int

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "older_than_days": self.older_than_days,
            "handled_messages_deleted": self.handled_messages,
            "finished_outbox_rows_deleted": self.finished_outbox_rows,
            "token_ids_deleted": self.token_ids,
        }

    def lines(self) -> list[str]:
        verb = "Would remove" if self.dry_run else "Removed"
        return [
            f"{verb} {self.handled_messages} handled-message records and {self.finished_outbox_rows} "
            f"finished outbox rows older than {self.older_than_days:g} days, and {self.token_ids} ids "
            "of expired tokens"
        ]


def prune_records(
    engine: Engine,
    *,
    older_than: timedelta,
    now: datetime,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> RecordsReport:
    """Remove (or count, with ``dry_run``) the bookkeeping rows that no longer guard anything."""
    if older_than < timedelta(0):
        raise ValueError(f"older_than must not be negative, not {older_than}")
    cutoff = now - older_than
    finished = select(proposals.c.id).where(proposals.c.status.in_(sorted(TERMINAL_STATUSES)))
    handled = processed_messages.c
    messages = _prune(
        engine,
        processed_messages,
        (handled.consumer, handled.message_id),
        handled.processed_at < cutoff,
        dry_run,
        progress,
        "handled-message records",
    )
    rows = _prune(
        engine,
        outbox,
        (outbox.c.message_id,),
        (outbox.c.completed_at < cutoff) & or_(outbox.c.subject.is_(None), outbox.c.subject.in_(finished)),
        dry_run,
        progress,
        "finished outbox rows",
    )
    token_ids = SqlJtiStore(engine).prune(now, dry_run=dry_run)
    return RecordsReport(dry_run, older_than / timedelta(days=1), messages, rows, token_ids)


def _prune(
    engine: Engine,
    table: Any,
    key: tuple[Any, ...],
    where: ColumnElement[bool],
    dry_run: bool,
    progress: Callable[[str], None],
    label: str,
) -> int:
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())
    removed = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select(*key).where(where).limit(BATCH)).all()
            if not rows:
                return removed
            conn.execute(delete(table).where(tuple_(*key).in_([tuple(row) for row in rows])))
        removed += len(rows)
        progress(f"{label}: {removed} removed")
