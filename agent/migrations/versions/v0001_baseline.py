"""Baseline: the app database as the last release before migrations made it.

Every table of the stores, their indexes, and the audit trail's append-only guards (triggers and
the control row; on PostgreSQL also the revoked privileges). The guards are written out here, not
imported from ``tools.audit``: a revision is history and must not change when the code does.
Over a database an earlier release made, ``create_table``/``create_index`` only fill in what it
lacks (see ``erp_acl.migrating``), and the guards' DDL is idempotent.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erp_acl.migrating import create_index, create_table

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    create_table(
        "audit_records",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("on_behalf_of", sa.String(), nullable=True),
        sa.Column("tool", sa.String(), nullable=True),
        sa.Column("proposal_id", sa.String(), nullable=True),
        sa.Column("thread_id", sa.String(), nullable=True),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("fingerprint", sa.String(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("gate", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    create_index("ix_audit_records_idempotency_key", "audit_records", ["idempotency_key"])
    create_index("ix_audit_records_proposal_id", "audit_records", ["proposal_id"])
    create_index("ix_audit_records_ts", "audit_records", ["ts"])
    create_table(
        "audit_retention",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pruned_through_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pruned_through_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name="audit_retention_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_table(
        "discrepancies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("proposal_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("document_type", sa.String(length=32), nullable=True),
        sa.Column("document_ids", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("compensation_id", sa.String(length=32), nullable=True),
        sa.Column("compensation_note", sa.Text(), nullable=True),
        sa.Column("first_run", sa.Integer(), nullable=False),
        sa.Column("last_run", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity"),
    )
    create_index("ix_discrepancies_idempotency_key", "discrepancies", ["idempotency_key"])
    create_index("ix_discrepancies_kind", "discrepancies", ["kind"])
    create_index("ix_discrepancies_status", "discrepancies", ["status"])
    create_table(
        "event_runs",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    create_index("ix_event_runs_subject", "event_runs", ["subject"])
    create_table(
        "outbox",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_count", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
    )
    create_index("ix_outbox_completed_published", "outbox", ["completed_at", "published_at"])
    create_index("ix_outbox_subject", "outbox", ["subject"])
    create_table(
        "policy_changes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("maker", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checker", sa.String(length=64), nullable=True),
        sa.Column("checker_reason", sa.Text(), nullable=True),
        sa.Column("base_version", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_policy_changes_status", "policy_changes", ["status"])
    create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("consumer", "message_id"),
    )
    create_table(
        "proposals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("tool_call_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("compensates", sa.String(length=32), nullable=True),
        sa.Column("erp_key", sa.String(length=64), nullable=True),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("thread_id", "tool_call_id", name="uq_proposals_thread_call"),
    )
    create_index("ix_proposals_compensates", "proposals", ["compensates"])
    create_index("ix_proposals_requester", "proposals", ["requester"])
    create_index("ix_proposals_status_created", "proposals", ["status", "created_at"])
    create_table(
        "reconciliation_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("intents", sa.Integer(), nullable=False),
        sa.Column("ledger_entries", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("healed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    create_table(
        "threads",
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("thread_id"),
    )
    create_index("ix_threads_owner", "threads", ["owner"])
    create_table(
        "token_uses",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    create_index("ix_token_uses_expires_at", "token_uses", ["expires_at"])
    create_table(
        "write_pace",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("edits", sa.JSON(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ix_decisions_proposal_id", "decisions", ["proposal_id"])
    guards = _SQLITE_GUARDS if op.get_bind().dialect.name == "sqlite" else _POSTGRES_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: drop the database instead")


_SQLITE_GUARDS = (
    f"INSERT OR IGNORE INTO audit_retention (id, pruned_through_seq, pruned_through_hash)"
    f" VALUES (1, 0, '{GENESIS_HASH}')",
    """CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records
    BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: UPDATE is refused'); END""",
    # COALESCE: with the control row gone, nothing may be deleted (a NULL would let everything through).
    """CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
    WHEN OLD.seq > COALESCE((SELECT pruned_through_seq FROM audit_retention WHERE id = 1), 0)
    BEGIN SELECT RAISE(ABORT,
        'audit_records is append-only: DELETE is refused (only pruning below the retention mark)'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_records_append_at_head BEFORE INSERT ON audit_records
    WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM audit_records),
                                 (SELECT pruned_through_seq FROM audit_retention WHERE id = 1), 0) + 1
      OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM audit_records ORDER BY seq DESC LIMIT 1),
                                       (SELECT pruned_through_hash FROM audit_retention WHERE id = 1),
                                       '{GENESIS_HASH}')
    BEGIN SELECT RAISE(ABORT, 'audit_records: a record must extend the chain at its head'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_retention_forward_only BEFORE UPDATE ON audit_retention
    WHEN NEW.pruned_through_seq < OLD.pruned_through_seq OR NEW.id IS NOT OLD.id
    BEGIN SELECT RAISE(ABORT, 'audit_retention: the pruning mark only moves forward'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_retention_no_delete BEFORE DELETE ON audit_retention
    BEGIN SELECT RAISE(ABORT, 'audit_retention: the control row cannot be deleted'); END""",
)

# ``SET search_path FROM CURRENT`` pins the functions to the schema they were created in, so they
# find the tables whatever search_path a later session uses.
_POSTGRES_GUARDS = (
    f"INSERT INTO audit_retention (id, pruned_through_seq, pruned_through_hash)"
    f" VALUES (1, 0, '{GENESIS_HASH}') ON CONFLICT (id) DO NOTHING",
    """CREATE OR REPLACE FUNCTION audit_records_guard() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.seq <= COALESCE((SELECT pruned_through_seq FROM audit_retention WHERE id = 1), 0) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION
                'audit_records is append-only: DELETE is refused (only pruning below the retention mark)';
        END IF;
        RAISE EXCEPTION 'audit_records is append-only: % is refused', TG_OP;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION audit_records_insert_guard() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        head_seq bigint;
        head_hash text;
    BEGIN
        SELECT seq, hash INTO head_seq, head_hash FROM audit_records ORDER BY seq DESC LIMIT 1;
        IF NOT FOUND THEN
            SELECT pruned_through_seq, pruned_through_hash INTO head_seq, head_hash
                FROM audit_retention WHERE id = 1;
        END IF;
        IF NEW.seq IS DISTINCT FROM COALESCE(head_seq, 0) + 1
           OR NEW.prev_hash IS DISTINCT FROM COALESCE(head_hash, '{GENESIS_HASH}') THEN
            RAISE EXCEPTION 'audit_records: a record must extend the chain at its head';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE OR REPLACE FUNCTION audit_retention_guard() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' THEN
            RAISE EXCEPTION 'audit_retention: the control row cannot be removed (% refused)', TG_OP;
        END IF;
        IF NEW.pruned_through_seq < OLD.pruned_through_seq OR NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'audit_retention: the pruning mark only moves forward';
        END IF;
        RETURN NEW;
    END $$""",
    "DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records",
    """CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_guard()""",
    "DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records",
    """CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_guard()""",
    "DROP TRIGGER IF EXISTS audit_records_append_at_head ON audit_records",
    """CREATE TRIGGER audit_records_append_at_head BEFORE INSERT ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_insert_guard()""",
    "DROP TRIGGER IF EXISTS audit_retention_forward_only ON audit_retention",
    """CREATE TRIGGER audit_retention_forward_only BEFORE UPDATE OR DELETE ON audit_retention
    FOR EACH ROW EXECUTE FUNCTION audit_retention_guard()""",
    "DROP TRIGGER IF EXISTS audit_retention_no_truncate ON audit_retention",
    """CREATE TRIGGER audit_retention_no_truncate BEFORE TRUNCATE ON audit_retention
    FOR EACH STATEMENT EXECUTE FUNCTION audit_retention_guard()""",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_records FROM PUBLIC",
    "REVOKE DELETE, TRUNCATE ON audit_retention FROM PUBLIC",
)
