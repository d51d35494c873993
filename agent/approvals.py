"""The approvals store: one row per proposal, one per decision, in the app database.

It is the authority on who decided what. A decision is *claimed* with a single conditional
UPDATE (``... WHERE id = ? AND status = 'pending'``): of two approvers clicking at once exactly
one wins, the other gets ``AlreadyDecided``. Listing the inbox is an indexed query, never a
scan of checkpoints.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)

from erp_acl.domain import Receipt

ProposalStatus = Literal["pending", "approved", "rejected", "expired", "committing", "committed", "failed"]
TERMINAL: frozenset[str] = frozenset({"rejected", "expired", "committed", "failed"})
DecisionKind = Literal["approve", "reject", "edit"]

metadata = MetaData()

proposals = Table(
    "proposals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("thread_id", String(64), nullable=False),
    Column("tool_call_id", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("requester", String(64), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("receipt", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("thread_id", "tool_call_id", name="uq_proposals_thread_call"),
    Index("ix_proposals_status_created", "status", "created_at"),
    Index("ix_proposals_requester", "requester"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", String(32), ForeignKey("proposals.id"), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("edits", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class ProposalNotFound(Exception):
    """No proposal has this id."""


class AlreadyDecided(Exception):
    """Someone else decided first (or the proposal is no longer pending)."""


class Decision(BaseModel):
    actor: str
    decision: DecisionKind
    reason: str | None = None
    edits: dict[str, Any] | None = None
    at: datetime


class Evidence(BaseModel):
    """One ERP read a proposal relied on: which tool, which arguments, and a digest of what it saw."""

    tool: str
    args: dict[str, Any]
    digest: str


class Proposal(BaseModel):
    id: str
    thread_id: str
    action: str
    status: ProposalStatus
    summary: str
    payload: dict[str, Any]
    idempotency_key: str
    fingerprint: str
    requester: str
    approvals: list[Decision] = Field(default_factory=list)
    receipt: dict[str, Any] | None = None
    error: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @property
    def decided_by(self) -> str | None:
        return self.approvals[-1].actor if self.approvals else None

    def as_json(self) -> dict[str, Any]:
        """The public JSON shape (DESIGN.md): scripts rely on these keys."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


def _now() -> datetime:
    return datetime.now(UTC)


def new_proposal_id() -> str:
    return "P-" + uuid.uuid4().hex[:10]


class ProposalStore:
    """Proposals and decisions over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        metadata.create_all(self._engine)

    def create(
        self,
        *,
        thread_id: str,
        tool_call_id: str,
        action: str,
        summary: str,
        payload: dict[str, Any],
        idempotency_key: str,
        fingerprint: str,
        requester: str,
        evidence: list[Evidence],
    ) -> Proposal:
        """File a pending proposal. Filing the same tool call of a thread again returns the first one,
        so a propose step that is re-run after a crash never makes a second proposal or key."""
        now = _now()
        with self._engine.begin() as conn:
            existing = conn.execute(
                select(proposals.c.id).where(
                    proposals.c.thread_id == thread_id, proposals.c.tool_call_id == tool_call_id
                )
            ).scalar_one_or_none()
            if existing is None:
                existing = new_proposal_id()
                conn.execute(
                    insert(proposals).values(
                        id=existing,
                        thread_id=thread_id,
                        tool_call_id=tool_call_id,
                        action=action,
                        status="pending",
                        summary=summary,
                        payload=payload,
                        idempotency_key=idempotency_key,
                        fingerprint=fingerprint,
                        requester=requester,
                        evidence=[e.model_dump(mode="json") for e in evidence],
                        created_at=now,
                        updated_at=now,
                    )
                )
        return self.get(existing)

    def get(self, proposal_id: str) -> Proposal:
        with self._engine.connect() as conn:
            row = conn.execute(select(proposals).where(proposals.c.id == proposal_id)).mappings().first()
            if row is None:
                raise ProposalNotFound(f"no proposal {proposal_id!r}")
            return self._load(conn, dict(row))

    def list(
        self,
        *,
        status: ProposalStatus | None = None,
        requester: str | None = None,
        thread_id: str | None = None,
        limit: int = 200,
    ) -> list[Proposal]:
        query = select(proposals).order_by(proposals.c.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(proposals.c.status == status)
        if requester is not None:
            query = query.where(proposals.c.requester == requester)
        if thread_id is not None:
            query = query.where(proposals.c.thread_id == thread_id)
        with self._engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            return [self._load(conn, row) for row in rows]

    def claim(
        self,
        proposal_id: str,
        *,
        actor: str,
        decision: DecisionKind,
        reason: str | None = None,
        edits: dict[str, Any] | None = None,
        new_payload: dict[str, Any] | None = None,
        new_fingerprint: str | None = None,
    ) -> Proposal:
        """Atomically move a pending proposal to approved/rejected and record the decision.

        Exactly one concurrent caller succeeds; every other one gets ``AlreadyDecided``.
        An edit stores the approver's payload and its new fingerprint in the same UPDATE.
        """
        values: dict[str, Any] = {
            "status": "rejected" if decision == "reject" else "approved",
            "updated_at": _now(),
        }
        if new_payload is not None:
            values["payload"] = new_payload
            values["fingerprint"] = new_fingerprint
        with self._engine.begin() as conn:
            claimed = conn.execute(
                update(proposals)
                .where(proposals.c.id == proposal_id, proposals.c.status == "pending")
                .values(**values)
            ).rowcount
            if claimed != 1:
                row = conn.execute(
                    select(proposals.c.status).where(proposals.c.id == proposal_id)
                ).scalar_one_or_none()
                if row is None:
                    raise ProposalNotFound(f"no proposal {proposal_id!r}")
                last = conn.execute(
                    select(decisions.c.actor, decisions.c.decision)
                    .where(decisions.c.proposal_id == proposal_id)
                    .order_by(decisions.c.id.desc())
                ).first()
                by = f" by {last.actor}" if last is not None else ""
                raise AlreadyDecided(f"proposal {proposal_id} was already decided{by} (status {row})")
            conn.execute(
                insert(decisions).values(
                    proposal_id=proposal_id,
                    actor=actor,
                    decision=decision,
                    reason=reason,
                    edits=edits,
                    created_at=_now(),
                )
            )
        return self.get(proposal_id)

    def mark(
        self,
        proposal_id: str,
        status: ProposalStatus,
        *,
        receipt: Receipt | None = None,
        error: str | None = None,
        only_from: tuple[ProposalStatus, ...] | None = None,
    ) -> bool:
        """Move a proposal along its lifecycle (committing, committed, failed, expired)."""
        values: dict[str, Any] = {"status": status, "updated_at": _now()}
        if receipt is not None:
            values["receipt"] = receipt.model_dump(mode="json")
        if error is not None:
            values["error"] = error
        query = update(proposals).where(proposals.c.id == proposal_id)
        if only_from is not None:
            query = query.where(proposals.c.status.in_(only_from))
        with self._engine.begin() as conn:
            return bool(conn.execute(query.values(**values)).rowcount == 1)

    @staticmethod
    def _load(conn: Any, row: dict[str, Any]) -> Proposal:
        decided = conn.execute(
            select(decisions).where(decisions.c.proposal_id == row["id"]).order_by(decisions.c.id)
        ).mappings()
        row["approvals"] = [
            Decision(
                actor=d["actor"],
                decision=d["decision"],
                reason=d["reason"],
                edits=d["edits"],
                at=_aware(d["created_at"]),
            )
            for d in decided
        ]
        row["created_at"] = _aware(row["created_at"])
        row["updated_at"] = _aware(row["updated_at"])
        for key in ("payload", "evidence", "receipt"):
            if isinstance(row[key], str):  # some drivers hand JSON back as text
                row[key] = json.loads(row[key])
        row.pop("tool_call_id", None)
        return Proposal.model_validate(row)


def _aware(value: datetime) -> datetime:
    # SQLite drops the zone; every timestamp we write is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
