"""The authorization rule on audit records alone: which recorded decisions satisfy which recorded gate."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agent.authorization import authorities
from agent.policy import load_policy, with_mode
from tools.audit import AuditEvent

POLICY = load_policy()
ROLES = {"bob": ("approver",), "carol": ("approver", "clerk"), "erin": ("finance_director", "approver")}


def roles_of(user: str) -> tuple[str, ...]:
    return ROLES.get(user, ())


def gate(amount: str, *, unattended: bool = False) -> dict[str, Any]:
    policy = with_mode(POLICY, "create_purchase_order", "auto", "pc-1") if unattended else POLICY
    return policy.gate_for(
        "create_purchase_order",
        Decimal(amount),
        now=datetime(2026, 12, 1, tzinfo=UTC),
        unattended_allowed=unattended,
    ).as_json()


def filed(recorded_gate: dict[str, Any], fingerprint: str = "f0") -> AuditEvent:
    return AuditEvent(
        type="proposal",
        actor="countersign-agent",
        on_behalf_of="alice",
        proposal_id="P-1",
        idempotency_key="k-1",
        fingerprint=fingerprint,
        gate=recorded_gate,
        details={"action": "create_purchase_order"},
    )


def decided(actor: str, kind: str, revision: int = 0, fingerprint: str = "f0", **extra: Any) -> AuditEvent:
    return AuditEvent(
        type="decision",
        actor=actor,
        on_behalf_of="alice",
        proposal_id="P-1",
        idempotency_key="k-1",
        fingerprint=fingerprint,
        gate=extra.pop("gate", None),
        details={"decision": kind, "revision": revision},
    )


def problem(*records: AuditEvent) -> str | None:
    return authorities(records)["P-1"].problem(roles_of, POLICY)


def test_one_approval_by_an_approver_satisfies_a_one_approver_gate() -> None:
    assert problem(filed(gate("100")), decided("bob", "approve")) is None


def test_no_decision_authorizes_nothing() -> None:
    found = problem(filed(gate("100")))
    assert found is not None and "no decision" in found


def test_an_automatic_gate_recorded_at_filing_needs_no_person() -> None:
    automatic = gate("100", unattended=True)
    assert automatic["mode"] == "auto"
    assert problem(filed(automatic), decided("policy:auto", "approve")) is None


def test_the_requesters_own_approval_never_counts() -> None:
    assert problem(filed(gate("100")), decided("alice", "approve")) is not None


def test_a_threshold_needs_its_role_among_the_approvers() -> None:
    big = gate("60000")
    assert problem(filed(big), decided("bob", "approve"), decided("carol", "approve")) is not None
    assert problem(filed(big), decided("bob", "approve"), decided("erin", "approve")) is None


def test_a_rejection_or_an_expiry_ends_it_whatever_came_before() -> None:
    assert problem(filed(gate("100")), decided("bob", "reject")) is not None
    expired = AuditEvent(type="expiry", actor="system:expiry", proposal_id="P-1", details={})
    assert problem(filed(gate("100")), decided("bob", "approve"), expired) is not None


def test_a_revision_needs_approving_afresh_and_pins_the_new_fingerprint() -> None:
    revised = decided("bob", "revise", revision=1, fingerprint="f1", gate=gate("200"))
    records = (filed(gate("100")), decided("carol", "approve"), revised)
    assert problem(*records) is not None
    approved = decided("carol", "approve", revision=1, fingerprint="f1")
    assert problem(*records, approved) is None
    assert authorities((*records, approved))["P-1"].fingerprint == "f1"


def test_a_record_with_only_the_rule_takes_the_roles_from_the_policy() -> None:
    legacy = {k: gate("60000")[k] for k in ("policy_version", "rule", "mode", "approvals_required")}
    assert problem(filed(legacy), decided("bob", "approve"), decided("carol", "approve")) is not None
    assert problem(filed(legacy), decided("bob", "approve"), decided("erin", "approve")) is None
