"""``countersign maintenance``: housekeeping of an installation's stores.

``prune`` removes the LangGraph checkpoints of finished conversations (see ``agent.maintenance``
for what counts as finished and what a pruned conversation shows) and the bookkeeping rows that
only guard against repeats once they guard nothing (``agent.record_retention``). Registered on the main
``countersign`` app by ``agent.cli``; one line on stderr and exit 1 when refused, exit 2 for a
bad option, as every command.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from agent.cli_common import JsonFlag, emit, guarded, service

maintenance_app = typer.Typer(
    help="Housekeeping: prune the checkpoints of finished conversations and old bookkeeping rows.",
    no_args_is_help=True,
)


def _older_than(value: str | None, option: str) -> timedelta | None:
    if value is None:
        return None
    try:
        days = float(value)
    except ValueError:
        days = math.nan
    if not math.isfinite(days) or days < 0:
        typer.echo(f"error: {option} takes a number of days (0 or more), not {value!r}", err=True)
        raise typer.Exit(2)
    return timedelta(days=days)


class _Progress:
    """A line on stderr at most once a second, so only a long run says anything."""

    def __init__(self, every_seconds: float = 1.0) -> None:
        self._every = every_seconds
        self._started = self._last = time.monotonic()
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self._every and not (self._shown and done >= total):
            return
        self._last, self._shown = now, True
        typer.echo(
            f"\r  examined {done}/{total} threads ({now - self._started:.0f} s)", nl=done >= total, err=True
        )


@maintenance_app.command("prune")
def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would be removed, remove nothing")
    ] = False,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="DAYS",
            help="keep conversations active in the last DAYS days (fractions allowed, e.g. 0.5)",
        ),
    ] = None,
    records_older_than: Annotated[
        str,
        typer.Option(
            "--records-older-than",
            metavar="DAYS",
            help="remove handled-message records and finished outbox rows older than DAYS days",
        ),
    ] = "30",
    as_json: JsonFlag = False,
) -> None:
    """Remove the checkpoints of finished conversations: every proposal committed, rejected,
    expired or failed, and the run not waiting at an interrupt. Conversations waiting for an
    approval or a write are never touched, nor are proposals or the audit trail; a pruned
    conversation keeps a note saying its history was removed.

    Also removes the bookkeeping rows that only guard against repeats once they guard nothing:
    records of handled messages and finished outbox rows older than --records-older-than, and
    the ids of expired single-use tokens."""
    from agent.maintenance import prune_checkpoints
    from agent.record_retention import prune_records

    age = _older_than(older_than, "--older-than")
    records_age = _older_than(records_older_than, "--records-older-than")
    assert records_age is not None  # a default is always given
    with service() as svc:
        report = guarded(
            lambda: prune_checkpoints(svc, older_than=age, dry_run=dry_run, progress=_Progress())
        )
        records = guarded(
            lambda: prune_records(
                svc.engine, older_than=records_age, now=datetime.now(UTC), dry_run=dry_run, progress=_say
            )
        )
    if as_json:
        emit({**report.as_json(), "records": records.as_json()})
    else:
        typer.echo("\n".join([*report.lines(), *records.lines()]))


def _say(line: str) -> None:
    typer.echo(f"  {line}", err=True)
