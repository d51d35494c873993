"""Maker-checker changes to the approval policy, and the policy in force.

Moving an action to automatic (or back) is itself a decision: one person proposes it, a second,
different person holding the ``finance_director`` role approves it, and both are recorded. The
policy in force is the policy file with every approved change applied in order; its version
says so (``2026.11.1+pc-3``), and every gate records that version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Engine, String, Table, Text, insert, select, update

from agent.approvals import AlreadyDecided, metadata
from agent.policy import Mode, Policy, with_mode

ChangeStatus = Literal["pending", "approved", "rejected"]
CHECKER_ROLE = "finance_director"

policy_changes = Table(
    "policy_changes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("action", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("maker", String(64), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("checker", String(64), nullable=True),
    Column("checker_reason", Text, nullable=True),
    Column("base_version", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)


class PolicyChangeNotFound(Exception):
    """No policy change has this id."""


class PolicyChange(BaseModel):
    id: str
    action: str
    mode: Mode
    reason: str
    maker: str
    status: ChangeStatus
    checker: str | None = None
    checker_reason: str | None = None
    base_version: str
    created_at: datetime
    decided_at: datetime | None = None


class PolicyChangeStore:
    def __init__(self, engine: Engine, base: Policy) -> None:
        self._engine = engine
        self.base = base

    def effective(self) -> Policy:
        """The policy file with every approved change applied, oldest first."""
        policy = self.base
        for change in self.list(status="approved", newest_first=False):
            if policy.settings(change.action).mode != change.mode:
                policy = with_mode(policy, change.action, change.mode, change.id.lower())
        return policy

    def propose(self, *, action: str, mode: Mode, reason: str, maker: str) -> PolicyChange:
        current = self.effective()
        # Validates the action and refuses a change that changes nothing, before anyone is asked.
        with_mode(current, action, mode, "check")
        change = PolicyChange(
            id="PC-" + uuid.uuid4().hex[:8],
            action=action,
            mode=mode,
            reason=reason,
            maker=maker,
            status="pending",
            base_version=current.version,
            created_at=datetime.now(UTC),
        )
        with self._engine.begin() as conn:
            conn.execute(insert(policy_changes).values(**change.model_dump()))
        return change

    def decide(self, change_id: str, *, checker: str, approve: bool, reason: str | None) -> PolicyChange:
        """Claim the decision atomically; the caller has checked the checker's rights."""
        with self._engine.begin() as conn:
            claimed = conn.execute(
                update(policy_changes)
                .where(policy_changes.c.id == change_id, policy_changes.c.status == "pending")
                .values(
                    status="approved" if approve else "rejected",
                    checker=checker,
                    checker_reason=reason,
                    decided_at=datetime.now(UTC),
                )
            ).rowcount
        if claimed != 1:
            existing = self.get(change_id)
            raise AlreadyDecided(
                f"policy change {change_id} was already {existing.status} by {existing.checker}"
            )
        return self.get(change_id)

    def get(self, change_id: str) -> PolicyChange:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(policy_changes).where(policy_changes.c.id == change_id))
                .mappings()
                .first()
            )
        if row is None:
            raise PolicyChangeNotFound(f"no policy change {change_id!r}")
        return _load(dict(row))

    def list(self, status: ChangeStatus | None = None, *, newest_first: bool = True) -> list[PolicyChange]:
        order = policy_changes.c.created_at.desc() if newest_first else policy_changes.c.created_at.asc()
        query = select(policy_changes).order_by(order)
        if status is not None:
            query = query.where(policy_changes.c.status == status)
        with self._engine.connect() as conn:
            return [_load(dict(r)) for r in conn.execute(query).mappings()]


def _load(row: dict[str, object]) -> PolicyChange:
    for key in ("created_at", "decided_at"):
        value = row[key]
        if isinstance(value, datetime) and value.tzinfo is None:
            row[key] = value.replace(tzinfo=UTC)
    return PolicyChange.model_validate(row)
