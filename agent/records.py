"""How the agent's steps on a proposal become audit records (one shape, wherever they happen)."""

from __future__ import annotations

from typing import Any

from agent.approvals import Proposal
from tools.audit import AuditEvent, EventType


def proposal_event(kind: EventType, proposal: Proposal, *, actor: str, **fields: Any) -> AuditEvent:
    """An audit event about ``proposal``, carrying its correlation ids; ``fields`` add the rest."""
    return AuditEvent(
        type=kind,
        actor=actor,
        on_behalf_of=proposal.on_behalf_of,
        tool=fields.pop("tool", proposal.action),
        proposal_id=proposal.id,
        thread_id=proposal.thread_id,
        idempotency_key=proposal.idempotency_key,
        fingerprint=proposal.fingerprint,
        **fields,
    )


def decision_event(
    proposal: Proposal, actor: str, kind: str, reason: str | None, edits: dict[str, Any] | None = None
) -> AuditEvent:
    """A decision (or expiry) as recorded: who, under which rule and policy, with whom so far."""
    gate = proposal.gate
    return proposal_event(
        "expiry" if kind == "expire" else "decision",
        proposal,
        actor=actor,
        gate={
            "policy_version": gate.get("policy_version"),
            "rule": gate.get("rule"),
            "approvals_required": gate.get("approvals_required"),
            # The rest of what the gate counts: an edit can change the rule, and what authorizes
            # the write is read back from the trail (agent.authorization).
            "mode": gate.get("mode"),
            "approver_roles": gate.get("approver_roles"),
            "required_role": gate.get("required_role"),
            "approvers": [d.actor for d in proposal.current_approvals()],
        },
        details={
            "decision": kind,
            "reason": reason,
            "edits": edits,
            "revision": proposal.revision,
            "status_after": proposal.status,
            # What the proposal says after this decision (an edit changes it): a story read later
            # shows the figures that stood, not the ones first proposed.
            "summary": proposal.summary,
        },
    )
