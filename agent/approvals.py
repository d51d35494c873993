"""The approvals store: one row per proposal, one per decision, in the app database.

It is the authority on who decided what. A decision is *claimed* with a single conditional
UPDATE (``... WHERE id = ? AND status = 'pending'``): of two approvers clicking at once exactly
one wins, the other gets ``AlreadyDecided``. Listing the inbox is an indexed query, never a
scan of checkpoints.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Callable, Sequence
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
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from erp_acl.domain import Receipt

ProposalStatus = Literal["pending", "approved", "rejected", "expired", "committing", "committed", "failed"]
# edit: changes the payload within the policy's tolerance and approves it; revise: changes it
# beyond the tolerance, so the new payload needs the gate's approvals afresh (not counted).
# Either starts a new revision: approvals given to the payload before it no longer count.
DecisionKind = Literal["approve", "reject", "edit", "revise", "expire"]

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
    Column("on_behalf_of", String(64), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("gate", JSON, nullable=False),
    Column("revision", Integer, nullable=False, default=0),
    Column("receipt", JSON, nullable=True),
    Column("error", Text, nullable=True),
    # A compensating proposal names the discrepancy it settles; a re-send of a missing write
    # carries the original write's key, so the ERP can never land that intent twice.
    Column("compensates", String(32), nullable=True, index=True),
    Column("erp_key", String(64), nullable=True),
    # When the run that filed it was told the outcome (None: nobody has been told yet).
    Column("told_at", DateTime(timezone=True), nullable=True),
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
    Column("revision", Integer, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class ProposalNotFound(Exception):
    """No proposal has this id."""


class AlreadyDecided(Exception):
    """Someone else decided first (or the proposal is no longer pending)."""


class ProposalChanged(AlreadyDecided):
    """Someone edited the proposal after the decider looked at it: they must look again."""


class Decision(BaseModel):
    actor: str
    decision: DecisionKind
    reason: str | None = None
    edits: dict[str, Any] | None = None
    revision: int = 0
    policy_version: str = ""
    rule: str = ""
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
    on_behalf_of: str
    gate: dict[str, Any] = Field(default_factory=dict)
    revision: int = 0
    approvals: list[Decision] = Field(default_factory=list)
    receipt: dict[str, Any] | None = None
    error: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    compensates: str | None = None
    erp_key: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def write_key(self) -> str:
        """The idempotency key the ERP sees: the proposal's own, or the original's for a re-send."""
        return self.erp_key or self.idempotency_key

    @property
    def decided_by(self) -> str | None:
        return self.approvals[-1].actor if self.approvals else None

    def current_approvals(self) -> list[Decision]:
        """Approvals (and approving edits) given to the payload as it stands now."""
        return [
            d for d in self.approvals if d.decision in ("approve", "edit") and d.revision == self.revision
        ]

    def as_json(self) -> dict[str, Any]:
        """The public JSON shape (DESIGN.md): scripts rely on these keys."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


def already_decided(proposal: Proposal) -> str:
    """One line saying who settled a proposal that is no longer pending: "already approved by carol"."""
    deciders = [d for d in proposal.approvals if d.decision in ("approve", "edit", "reject", "revise")]
    if proposal.status == "rejected" and deciders:
        return f"proposal {proposal.id} was already rejected by {deciders[-1].actor}"
    if proposal.status == "expired":
        return f"proposal {proposal.id} expired before anyone decided it"
    approvers = sorted({d.actor for d in proposal.current_approvals()}) or [d.actor for d in deciders[-1:]]
    if approvers:
        return f"proposal {proposal.id} was already approved by {' and '.join(approvers)} (now {proposal.status})"
    return f"proposal {proposal.id} was already decided (now {proposal.status})"


def _now() -> datetime:
    return datetime.now(UTC)


def new_proposal_id() -> str:
    return "P-" + uuid.uuid4().hex[:10]


class ProposalStore:
    """Proposals and decisions over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_schema(self) -> None:
        """Upgrade the app database to the code's revision: every store's tables, not only these."""
        from agent.schema import upgrade_app_database

        upgrade_app_database(self._engine)

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
        gate: dict[str, Any],
        on_behalf_of: str | None = None,
        compensates: str | None = None,
        erp_key: str | None = None,
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
                        on_behalf_of=on_behalf_of or requester,
                        evidence=[e.model_dump(mode="json") for e in evidence],
                        gate=gate,
                        revision=0,
                        compensates=compensates,
                        erp_key=erp_key,
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

    def tool_call_of(self, proposal_id: str) -> str:
        """The id of the model's tool call that filed this proposal: it ties the proposal to the
        message (and so the request and rationale) that led to it in its conversation."""
        with self._engine.connect() as conn:
            value = conn.execute(
                select(proposals.c.tool_call_id).where(proposals.c.id == proposal_id)
            ).scalar_one_or_none()
        if value is None:
            raise ProposalNotFound(f"no proposal {proposal_id!r}")
        return str(value)

    def find_by_key(self, idempotency_key: str) -> Proposal | None:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(proposals).where(proposals.c.idempotency_key == idempotency_key))
                .mappings()
                .first()
            )
            return self._load(conn, dict(row)) if row is not None else None

    def list(
        self,
        *,
        status: ProposalStatus | None = None,
        requester: str | None = None,
        thread_id: str | None = None,
        person: str | None = None,
        limit: int = 200,
    ) -> list[Proposal]:
        """Newest first. ``person`` matches whoever requested it or had it requested for them."""
        query = select(proposals).order_by(proposals.c.created_at.desc()).limit(limit)
        if person is not None:
            query = query.where(or_(proposals.c.requester == person, proposals.c.on_behalf_of == person))
        if status is not None:
            query = query.where(proposals.c.status == status)
        if requester is not None:
            query = query.where(proposals.c.requester == requester)
        if thread_id is not None:
            query = query.where(proposals.c.thread_id == thread_id)
        with self._engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            return self._load_many(conn, rows)

    def decide(
        self,
        proposal_id: str,
        *,
        actor: str,
        decision: DecisionKind,
        check: Callable[[Proposal], None],
        satisfied: Callable[[Proposal, Sequence[Decision]], bool],
        reason: str | None = None,
        edits: dict[str, Any] | None = None,
        new_payload: dict[str, Any] | None = None,
        new_fingerprint: str | None = None,
        new_gate: dict[str, Any] | None = None,
        new_summary: str | None = None,
        seen_revision: int | None = None,
        on_approved: Callable[[Connection, Proposal], None] | None = None,
        on_decided: Callable[[Connection, Proposal], None] | None = None,
    ) -> Proposal:
        """Record one decision atomically and, when it completes the gate, claim the proposal.

        An edit (``edit`` or ``revise``) replaces the payload, its fingerprint, gate and summary
        and starts a new revision, so no approval given to the old payload counts for the new one.
        ``seen_revision``: the revision the decider looked at; if an edit landed since, the
        decision is refused with ``ProposalChanged`` (nobody approves a payload they never saw).

        ``on_approved`` runs inside the same transaction when this decision approves the proposal:
        the write it queues (the outbox row) exists if and only if the approval does.
        ``on_decided`` runs inside it after every decision, with the proposal as decided: the
        decision's audit record exists if and only if the decision does (a writer that finds an
        approval always finds the record that authorizes it).

        One transaction holds the proposal row (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR
        UPDATE`` elsewhere): ``check`` (segregation of duties, roles, a second approval by the same
        person) sees every earlier decision, and the status change is a conditional UPDATE, so of
        many concurrent deciders exactly one completes the gate; later ones get ``AlreadyDecided``.
        """
        now = _now()
        with self._engine.begin() as conn:
            row = (
                conn.execute(select(proposals).where(proposals.c.id == proposal_id).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                raise ProposalNotFound(f"no proposal {proposal_id!r}")
            current = self._load(conn, dict(row))
            if current.status != "pending":
                raise AlreadyDecided(already_decided(current))
            if seen_revision is not None and current.revision != seen_revision:
                raise ProposalChanged(
                    f"proposal {proposal_id} was edited after you looked at it (now revision"
                    f" {current.revision}); look at it again, then decide"
                )
            check(current)
            edits_payload = decision in ("edit", "revise")
            revision = current.revision + (1 if edits_payload else 0)
            changes: dict[str, Any] = {"updated_at": now, "revision": revision}
            if edits_payload:
                changes.update(
                    payload=new_payload,
                    fingerprint=new_fingerprint,
                    gate=new_gate or current.gate,
                    summary=new_summary or current.summary,
                )
            gate = changes.get("gate", current.gate)
            conn.execute(
                insert(decisions).values(
                    proposal_id=proposal_id,
                    actor=actor,
                    decision=decision,
                    reason=reason,
                    edits=edits,
                    revision=revision,
                    policy_version=str(gate.get("policy_version", "")),
                    rule=str(gate.get("rule", "")),
                    created_at=now,
                )
            )
            if decision in ("reject", "expire"):
                changes["status"] = "rejected" if decision == "reject" else "expired"
            elif decision in ("approve", "edit"):
                updated = current.model_copy(update={"revision": revision, "gate": gate})
                mine = Decision(actor=actor, decision=decision, revision=revision, at=now)
                if satisfied(updated, [*updated.current_approvals(), mine]):
                    changes["status"] = "approved"
            claimed = conn.execute(
                update(proposals)
                .where(proposals.c.id == proposal_id, proposals.c.status == "pending")
                .values(**changes)
            ).rowcount
            if claimed != 1:
                raise AlreadyDecided(f"proposal {proposal_id} was decided by someone else at the same moment")
            if on_approved is not None or on_decided is not None:
                row = conn.execute(select(proposals).where(proposals.c.id == proposal_id)).mappings().one()
                decided = self._load(conn, dict(row))
                if on_decided is not None:
                    on_decided(conn, decided)
                if on_approved is not None and changes.get("status") == "approved":
                    on_approved(conn, decided)
        return self.get(proposal_id)

    def pending_outlines(self) -> builtins.list[Proposal]:
        """Every pending proposal, oldest first, *without* its payload and evidence (left empty)
        and receipt: what an inbox needs to filter, sort, count and check who may decide, without
        reading and validating the largest columns of thousands of rows. Never show or decide a
        payload from an outline: load the proposals a page shows with ``get_many``."""
        light = [c for c in proposals.c if c.name not in ("payload", "evidence", "receipt", "tool_call_id")]
        query = select(*light).where(proposals.c.status == "pending").order_by(proposals.c.created_at)
        with self._engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            by_proposal = self._decisions_of(conn, [row["id"] for row in rows])
        outlines = []
        for row in rows:
            row.pop("told_at", None)
            if isinstance(row["gate"], str):  # some drivers hand JSON back as text
                row["gate"] = json.loads(row["gate"])
            row.update(
                payload={},
                evidence=[],
                receipt=None,
                approvals=by_proposal[row["id"]],
                created_at=_aware(row["created_at"]),
                updated_at=_aware(row["updated_at"]),
            )
            outlines.append(Proposal.model_construct(**row))
        return outlines

    def get_many(self, proposal_ids: Sequence[str]) -> dict[str, Proposal]:
        """The proposals with these ids, whole, by id (ids that do not exist are left out)."""
        if not proposal_ids:
            return {}
        with self._engine.connect() as conn:
            query = select(proposals).where(proposals.c.id.in_(list(proposal_ids)))
            rows = [dict(r) for r in conn.execute(query).mappings()]
            return {p.id: p for p in self._load_many(conn, rows)}

    def pending_facets(self) -> tuple[builtins.list[str], builtins.list[str]]:
        """Who the pending proposals are for and which actions they are, each sorted and distinct:
        what the inbox's filter bar offers, read without loading the proposals."""
        pending = proposals.c.status == "pending"

        def distinct(column: Any) -> builtins.list[str]:
            query = select(column).where(pending).distinct().order_by(column)
            values: Sequence[Any] = conn.execute(query).scalars().all()
            return [str(value) for value in values]

        with self._engine.connect() as conn:
            return distinct(proposals.c.on_behalf_of), distinct(proposals.c.action)

    def list_by_status(
        self, statuses: Sequence[ProposalStatus], *, untold: bool = False, limit: int = 100_000
    ) -> builtins.list[Proposal]:
        """Proposals in these states, oldest first; ``untold``: only those whose run was not yet told."""
        query = (
            select(proposals)
            .where(proposals.c.status.in_(statuses))
            .order_by(proposals.c.created_at)
            .limit(limit)
        )
        if untold:
            query = query.where(proposals.c.told_at.is_(None))
        with self._engine.connect() as conn:
            return self._load_many(conn, [dict(r) for r in conn.execute(query).mappings()])

    def claim_untold(self, proposal_id: str, *, ended_before: datetime, now: datetime) -> bool:
        """Claim the telling of an ended proposal nobody has told: True for the one caller whose
        conditional UPDATE moved ``updated_at`` from at or before ``ended_before`` to ``now``. A
        lease, not a lock: if the claimer dies, the proposal can be claimed again once ``now`` is
        that old."""
        query = (
            update(proposals)
            .where(
                proposals.c.id == proposal_id,
                proposals.c.told_at.is_(None),
                proposals.c.updated_at <= ended_before.astimezone(UTC),
            )
            .values(updated_at=now.astimezone(UTC))
        )
        with self._engine.begin() as conn:
            return bool(conn.execute(query).rowcount == 1)

    def mark_told(self, proposal_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(proposals).where(proposals.c.id == proposal_id).values(told_at=_now()))

    def mark(
        self,
        proposal_id: str,
        status: ProposalStatus,
        *,
        receipt: Receipt | None = None,
        error: str | None = None,
        only_from: tuple[ProposalStatus, ...] | None = None,
        conn: Connection | None = None,
    ) -> bool:
        """Move a proposal along its lifecycle (committing, committed, failed, expired); inside the
        caller's transaction when ``conn`` is given."""
        values: dict[str, Any] = {"status": status, "updated_at": _now()}
        if receipt is not None:
            values["receipt"] = receipt.model_dump(mode="json")
        if error is not None:
            values["error"] = error
        query = update(proposals).where(proposals.c.id == proposal_id)
        if only_from is not None:
            query = query.where(proposals.c.status.in_(only_from))
        if conn is not None:
            return bool(conn.execute(query.values(**values)).rowcount == 1)
        with self._engine.begin() as own:
            return bool(own.execute(query.values(**values)).rowcount == 1)

    @classmethod
    def _load(cls, conn: Any, row: dict[str, Any]) -> Proposal:
        return cls._load_many(conn, [row])[0]

    @staticmethod
    def _decisions_of(conn: Any, ids: builtins.list[str]) -> dict[str, builtins.list[Decision]]:
        # One query for the decisions of every row: an inbox of thousands stays two queries.
        by_proposal: dict[str, builtins.list[Decision]] = {proposal_id: [] for proposal_id in ids}
        if by_proposal:
            decided = conn.execute(
                select(decisions)
                .where(decisions.c.proposal_id.in_(list(by_proposal)))
                .order_by(decisions.c.id)
            ).mappings()
            for d in decided:
                by_proposal[d["proposal_id"]].append(
                    Decision(
                        actor=d["actor"],
                        decision=d["decision"],
                        reason=d["reason"],
                        edits=d["edits"],
                        revision=d["revision"],
                        policy_version=d["policy_version"],
                        rule=d["rule"],
                        at=_aware(d["created_at"]),
                    )
                )
        return by_proposal

    @classmethod
    def _load_many(cls, conn: Any, rows: builtins.list[dict[str, Any]]) -> builtins.list[Proposal]:
        by_proposal = cls._decisions_of(conn, [row["id"] for row in rows])
        loaded = []
        for row in rows:
            row["approvals"] = by_proposal[row["id"]]
            row["created_at"] = _aware(row["created_at"])
            row["updated_at"] = _aware(row["updated_at"])
            for key in ("payload", "evidence", "receipt", "gate"):
                if isinstance(row[key], str):  # some drivers hand JSON back as text
                    row[key] = json.loads(row[key])
            row.pop("tool_call_id", None)
            row.pop("told_at", None)
            loaded.append(Proposal.model_validate(row))
        return loaded


def _aware(value: datetime) -> datetime:
    # SQLite drops the zone; every timestamp we write is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
