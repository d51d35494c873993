"""Whether a write is authorized: the audit trail's decisions against the gate the trail recorded.

The approvals store says what a proposal's status is, but its rows are ordinary rows: someone able
to run SQL on the app database can set ``status = 'approved'``, weaken ``gate``, change ``payload``
or add a decision row. The audit trail is hash-chained and checkpoint-signed, so this module asks
*it*, never those columns:

- the gate is the one recorded when the proposal was filed (or, after an approver's edit, the one
  recorded with that edit);
- the decisions are the ``decision`` records of the proposal, counted for its current revision;
- the payload to write must be the one those decisions were about (its fingerprint, recomputed).

``evaluate`` from ``agent.policy`` does the counting, so the rule is the one the decide path uses.
An automatic gate (``approvals_required`` 0, recorded as such when the proposal was filed under the
policy) needs no person; reconciliation's compensations are gated like any proposal.

Every caller goes through here: the ERP writer before it applies, ``recover`` before it queues,
reconciliation before it files a re-send, and ``audit verify --against-erp`` / reconciliation for
what already landed in the ERP's ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from agent.approvals import Proposal
from agent.policy import Approval, Gate, Policy, evaluate
from erp_acl.commands import fingerprint, parse_command
from tools.audit import AuditEvent, AuditTrail, EventType

# The records that file a proposal, decide it or end it without a decision.
TRAIL_TYPES: Final[tuple[EventType, ...]] = ("proposal", "decision", "expiry")
APPROVING: Final = ("approve", "edit")
REGATING: Final = ("edit", "revise")

RolesOf = Callable[[str], Collection[str]]


@dataclass
class Authority:
    """What the audit trail says about one proposal: what was filed and what was decided."""

    proposal_id: str
    action: str
    idempotency_key: str
    write_key: str  # the key the ERP sees: the proposal's own, or the original's for a re-send
    requester: str
    gate: dict[str, Any]
    fingerprint: str | None  # of the payload as last filed or edited
    revision: int = 0
    approvals: list[tuple[int, str]] = field(default_factory=list)  # (revision, actor)
    ended: str | None = None  # "rejected by bob", "expired": no write may follow
    # A compensation filed before its record named the ERP key: the key cannot be checked.
    key_unrecorded: bool = False

    def problem(self, roles_of: RolesOf, policy: Policy) -> str | None:
        """Why the recorded decisions do not authorize a write (None when they do)."""
        if self.ended is not None:
            return f"the audit trail records that proposal {self.proposal_id} was {self.ended}"
        gate = _gate(self.gate, self.action, policy)
        requester = self.requester.strip().casefold()
        approvals = [
            Approval(actor, tuple(roles_of(actor)))
            for revision, actor in self.approvals
            # Segregation of duties, again: the requester's own approval never counts.
            if revision == self.revision and actor.strip().casefold() != requester
        ]
        verdict = evaluate(gate, approvals)
        if verdict.satisfied:
            return None
        if not approvals:
            return (
                f"the audit trail holds no decision approving proposal {self.proposal_id}"
                f" (rule {gate.rule} {verdict.missing})"
            )
        return (
            f"the decisions the audit trail records for proposal {self.proposal_id} do not satisfy"
            f" rule {gate.rule}: it {verdict.missing}"
        )


def authorities(records: Iterable[AuditEvent]) -> dict[str, Authority]:
    """What the trail says about each proposal it files, by proposal id (records in seq order)."""
    found: dict[str, Authority] = {}
    for record in records:
        proposal_id = record.proposal_id
        if proposal_id is None:
            continue
        if record.type == "proposal":
            if proposal_id not in found:  # the first filing record is the filing
                found[proposal_id] = _filed(record, proposal_id)
            continue
        authority = found.get(proposal_id)
        if authority is None:
            continue  # a decision about a proposal the trail never saw filed authorizes nothing
        if record.type == "expiry":
            authority.ended = "expired"
            continue
        details = record.details
        kind = details.get("decision")
        revision = details.get("revision")
        if not isinstance(revision, int) or isinstance(revision, bool):
            continue
        if kind == "reject":
            authority.ended = f"rejected by {record.actor}"
        if kind in REGATING:
            # An edit records the payload it approves and the gate the policy gave it (an edit
            # never runs unattended); a revision starts a new round of approvals.
            authority.fingerprint = record.fingerprint
            authority.revision = max(authority.revision, revision)
            if record.gate is not None:
                gate = {**authority.gate, **record.gate, "mode": "human"}
                if not isinstance(record.gate.get("approver_roles"), list):
                    # An older record names the new rule only: its roles come from the policy.
                    gate.pop("approver_roles", None)
                    gate.pop("required_role", None)
                authority.gate = gate
        if kind in APPROVING:
            authority.approvals.append((revision, record.actor))
    return found


def write_problem(
    proposal: Proposal, authority: Authority | None, *, roles_of: RolesOf, policy: Policy
) -> str | None:
    """Why ``proposal`` may not be written as the approvals store holds it (None when it may)."""
    if authority is None:
        return (
            f"the audit trail has no record of proposal {proposal.id} being filed; no decision authorizes it"
        )
    problem = authority.problem(roles_of, policy)
    if problem is not None:
        return problem
    key_differs = proposal.write_key != authority.write_key and not authority.key_unrecorded
    if key_differs or proposal.action != authority.action:
        return f"proposal {proposal.id} no longer carries the key and action the audit trail recorded"
    if proposal.revision != authority.revision or proposal.fingerprint != authority.fingerprint:
        return f"proposal {proposal.id} is not the revision the audit trail records as decided"
    try:
        written = fingerprint(parse_command(proposal.payload))
    except ValueError:
        written = None
    if written != authority.fingerprint:
        return f"proposal {proposal.id}'s payload is not the one its decisions approved"
    return None


@dataclass(frozen=True)
class UnauthorizedWrite:
    """A write in the ERP's ledger that no authorized proposal in the audit trail accounts for."""

    idempotency_key: str
    proposal_id: str | None
    reason: str


class Authorizer:
    """The one place that says whether a write is authorized, over the audit trail."""

    def __init__(self, audit: AuditTrail, *, roles_of: RolesOf, policy: Callable[[], Policy]) -> None:
        self._audit = audit
        self._roles_of = roles_of
        self._policy = policy

    def check(self, proposal: Proposal) -> str | None:
        """Why ``proposal`` may not be written now (None when the trail's decisions authorize it).

        A decision's audit record is appended in the decision's own transaction (``decide``), so an
        approval the store holds without its record is not one a person or the policy gave: it is
        refused at once (``recover`` fails it, reconciliation reports any write it made)."""
        found = authorities(self._audit.records(proposal_id=proposal.id, types=TRAIL_TYPES))
        return write_problem(proposal, found.get(proposal.id), roles_of=self._roles_of, policy=self._policy())

    def unauthorized_writes(self, written: Iterable[tuple[str, str]]) -> list[UnauthorizedWrite]:
        """Of the ``(idempotency key, fingerprint)`` pairs the ERP's ledger holds, those that no
        proposal authorized in the trail accounts for. One read of the trail, however many."""
        wanted = list(written)
        if not wanted:
            return []
        policy = self._policy()
        by_key: dict[str, list[Authority]] = defaultdict(list)
        for authority in authorities(self._audit.records(types=TRAIL_TYPES)).values():
            by_key[authority.write_key].append(authority)
        unauthorized = []
        for key, landed in wanted:
            candidates = by_key.get(key, [])
            problems = []
            for authority in candidates:
                problem = authority.problem(self._roles_of, policy)
                if problem is None and authority.fingerprint != landed:
                    problem = (
                        f"what landed under proposal {authority.proposal_id}'s key is not what was approved"
                    )
                if problem is None:
                    break
                problems.append((authority.proposal_id, problem))
            else:
                if problems:
                    unauthorized.append(UnauthorizedWrite(key, problems[0][0], problems[0][1]))
                else:
                    reason = f"no proposal in the audit trail carries key {key}"
                    unauthorized.append(UnauthorizedWrite(key, None, reason))
        return unauthorized


def _filed(record: AuditEvent, proposal_id: str) -> Authority:
    details = record.details
    key = record.idempotency_key or ""
    erp_key = details.get("erp_key")
    return Authority(
        proposal_id=proposal_id,
        action=str(details.get("action") or ""),
        idempotency_key=key,
        write_key=erp_key if isinstance(erp_key, str) and erp_key else key,
        requester=record.on_behalf_of or record.actor,
        gate=dict(record.gate or {}),
        fingerprint=record.fingerprint,
        key_unrecorded=(record.tool or "").startswith("reconcile:") and "erp_key" not in details,
    )


def _gate(recorded: Mapping[str, Any], action: str, policy: Policy) -> Gate:
    """The recorded gate as a ``Gate`` for ``evaluate``.

    Records filed before the whole gate was recorded name only the rule and the count; the roles
    are then taken from the policy by the rule's name (what the rule asked for when it applied).
    A gate missing its count is treated as needing more approvals than anyone can give.
    """
    count = recorded.get("approvals_required")
    required = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 1_000
    rule = str(recorded.get("rule") or "")
    roles = recorded.get("approver_roles")
    required_role = recorded.get("required_role")
    if not isinstance(roles, list):
        roles, required_role = _roles_by_rule(policy, action, rule)
    auto = recorded.get("mode") == "auto" and required == 0
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return Gate(
        policy_version=str(recorded.get("policy_version") or ""),
        action=action,
        rule=rule,
        mode="auto" if auto else "human",
        # A human gate with no count is no gate: at least one person, whatever the record says.
        approvals_required=required if auto else max(required, 1),
        approver_roles=tuple(str(role) for role in roles),
        required_role=required_role if isinstance(required_role, str) else None,
        # Only the counting fields above matter to ``evaluate``; these are not consulted.
        amount=Decimal(0),
        expires_at=epoch,
        warn_at=epoch,
        escalation_role="",
        edit_tolerance=Decimal(0),
    )


def _roles_by_rule(policy: Policy, action: str, rule: str) -> tuple[list[str], str | None]:
    settings = policy.actions.get(action)
    if settings is None:
        return [], None  # an action the policy does not know: nobody's approval counts
    for threshold in settings.thresholds:
        if threshold.rule == rule:
            return list(settings.approver_roles), threshold.required_role
    return list(settings.approver_roles), None
