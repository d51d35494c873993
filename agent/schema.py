"""The app database's schema: one alembic environment (``agent/migrations``) and the way to run it.

Every store of the app database (proposals, conversations, policy changes, the outbox and inbox,
the write pacer, reconciliation, event runs, the audit trail, used token ids) declares its tables
in SQLAlchemy; :func:`target_metadata` is their union, and the revisions in
``agent/migrations/versions`` are the one way those tables come to exist. The service upgrades to
head at start; ``countersign db upgrade`` does the same on demand. The version lives in
``countersign_alembic_version``, so the app and the legacy ERP may share one PostgreSQL database.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, MetaData

from erp_acl.migrating import Environment, State, Upgrade, state, upgrade

__all__ = [
    "APP_DATABASE",
    "State",
    "Upgrade",
    "app_database_revision",
    "app_database_state",
    "target_metadata",
    "upgrade_app_database",
]

# The tables of the baseline revision: one of them without a version table means a data
# directory from a release before migrations, adopted (not re-created) by the baseline.
BASELINE_TABLES = frozenset(
    {
        "audit_records",
        "audit_retention",
        "decisions",
        "discrepancies",
        "event_runs",
        "outbox",
        "policy_changes",
        "processed_messages",
        "proposals",
        "reconciliation_runs",
        "threads",
        "token_uses",
        "write_pace",
    }
)

APP_DATABASE = Environment(
    label="app database",
    directory=Path(__file__).resolve().parent / "migrations",
    version_table="countersign_alembic_version",
    lock_key=int.from_bytes(b"cs-appdb"),
    known_tables=BASELINE_TABLES,
)


@lru_cache(maxsize=1)
def target_metadata() -> MetaData:
    """Every table of the app database, copied from the stores that declare them into one MetaData."""
    # Some stores add their tables to agent.approvals.metadata when imported: import them all.
    for module in (
        "agent.conversations",
        "agent.pipeline.agent_worker",
        "agent.policy_changes",
        "agent.reconcile",
    ):
        importlib.import_module(module)
    from agent.approvals import metadata as approvals
    from agent.messaging.inbox import metadata as inbox
    from agent.messaging.outbox import metadata as outbox
    from agent.messaging.pacer import metadata as pacer
    from tools.audit import metadata as audit
    from tools.tokens import metadata as tokens

    union = MetaData()
    for part in (approvals, inbox, outbox, pacer, audit, tokens):
        for table in part.sorted_tables:
            table.to_metadata(union)
    return union


def upgrade_app_database(engine: Engine) -> Upgrade:
    """Bring the app database to the head revision (adopting one an earlier release made)."""
    return upgrade(engine, APP_DATABASE)


def app_database_state(engine: Engine) -> State:
    """The app database's revision against the code's head (reads only)."""
    return state(engine, APP_DATABASE)


def app_database_revision(engine: Engine) -> str | None:
    """The app database's revision (None: empty, or made by a release before migrations)."""
    return app_database_state(engine).revision
