from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest

from agent.policy import (
    DEFAULT_ROLES,
    Approval,
    Gate,
    NotAllowed,
    Outcome,
    Policy,
    PolicyError,
    RiskRule,
    Suggestion,
    check_approver,
    check_requester,
    describe,
    edit_needs_fresh_approval,
    evaluate,
    is_expired,
    load_policy,
    needs_reminder,
    parse_policy,
    suggest,
    with_mode,
)
from erp_acl.commands import ACTIONS

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENTS = frozenset({"countersign-agent"})

BASE = """\
version = "test.1"
[defaults]
mode = "human"
approvals = 1
approver_roles = ["approver", "finance_director"]
expiry_hours = 72
warn_after_hours = 24
escalation_role = "finance_director"
edit_tolerance = 0.05
[autonomy]
min_decisions = 50
min_unchanged_rate = 0.98
max_failures = 0
"""

PO_THRESHOLDS = """
[actions.create_purchase_order]
  [[actions.create_purchase_order.thresholds]]
  rule = "po-over-10k"
  above = 10000
  approvals = 2
  [[actions.create_purchase_order.thresholds]]
  rule = "po-over-50k"
  above = 50000
  approvals = 2
  required_role = "finance_director"
"""


def policy_from(extra: str = "", base: str = BASE) -> Policy:
    return parse_policy(base + extra, "test.toml")


def refusal(text: str, **kwargs: frozenset[str]) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "test.toml", **kwargs)
    message = str(caught.value)
    assert "\n" not in message, "policy errors are one line"
    assert message.startswith("test.toml: "), "policy errors name the file"
    return message


def po_gate(amount: str, policy: Policy | None = None) -> Gate:
    policy = policy or load_policy()
    return policy.gate_for("create_purchase_order", Decimal(amount), now=NOW, unattended_allowed=False)


def approval(actor: str, *roles: str) -> Approval:
    return Approval(actor=actor, roles=roles or ("approver",))


# --------------------------------------------------------------------------------------------
# The bundled demo policy


def test_the_bundled_policy_loads_and_gives_every_action_settings() -> None:
    policy = load_policy()
    assert policy.version == "2026.11.1"
    assert tuple(policy.actions) == ACTIONS
    for action in ACTIONS:
        assert policy.settings(action).action == action


def test_the_bundled_policy_has_the_documented_rules() -> None:
    policy = load_policy()
    po = policy.settings("create_purchase_order")
    assert [(t.rule, t.above, t.approvals, t.required_role) for t in po.thresholds] == [
        ("po-over-10k", Decimal(10000), 2, None),
        ("po-over-50k", Decimal(50000), 2, "finance_director"),
    ]
    assert "finance_director" in policy.settings("post_journal_entry").approver_roles
    assert policy.settings("change_price").expiry == timedelta(hours=24)
    assert policy.settings("cancel_sales_order").expiry == timedelta(hours=48)
    assert all(policy.settings(action).mode == "human" for action in ACTIONS)
    assert (policy.autonomy.min_decisions, policy.autonomy.min_unchanged_rate) == (50, Decimal("0.98"))


def test_a_purchase_order_cancellation_needs_one_approver_within_two_days() -> None:
    settings = load_policy().settings("cancel_purchase_order")
    assert (settings.mode, settings.approvals, settings.approver_roles) == ("human", 1, ("approver",))
    assert (settings.expiry, settings.warn_after) == (timedelta(hours=48), timedelta(hours=8))
    assert settings.thresholds == ()


def test_the_bundled_policy_is_the_file_shipped_in_the_package() -> None:
    shipped = Path(__file__).parents[3] / "agent" / "config" / "policy.toml"
    assert load_policy(shipped).actions == load_policy().actions


def test_an_action_the_file_does_not_list_gets_the_defaults() -> None:
    settings = policy_from().settings("cancel_sales_order")
    assert settings.mode == "human"
    assert settings.approvals == 1
    assert settings.approver_roles == ("approver", "finance_director")
    assert settings.expiry == timedelta(hours=72)
    assert settings.warn_after == timedelta(hours=24)
    assert settings.edit_tolerance == Decimal("0.05")
    assert settings.thresholds == ()


def test_an_action_table_overrides_only_what_it_names() -> None:
    settings = policy_from("[actions.change_price]\nexpiry_hours = 24\nwarn_after_hours = 4\n").settings(
        "change_price"
    )
    assert settings.expiry == timedelta(hours=24)
    assert settings.warn_after == timedelta(hours=4)
    assert settings.approver_roles == ("approver", "finance_director")


def test_a_loaded_policy_cannot_be_changed_in_place() -> None:
    policy = load_policy()
    with pytest.raises(FrozenInstanceError):
        policy.version = "hacked"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.actions["change_price"] = policy.actions["cancel_sales_order"]  # type: ignore[index]


# --------------------------------------------------------------------------------------------
# Gates


@pytest.mark.parametrize(
    ("amount", "rule", "approvals", "role"),
    [
        ("0", "create_purchase_order:default", 1, None),
        ("9999.99", "create_purchase_order:default", 1, None),
        ("10000", "create_purchase_order:default", 1, None),
        ("10000.01", "po-over-10k", 2, None),
        ("50000", "po-over-10k", 2, None),
        ("50000.01", "po-over-50k", 2, "finance_director"),
        ("1000000", "po-over-50k", 2, "finance_director"),
    ],
)
def test_the_highest_threshold_strictly_below_the_amount_chooses_the_rule(
    amount: str, rule: str, approvals: int, role: str | None
) -> None:
    gate = po_gate(amount)
    assert (gate.rule, gate.approvals_required, gate.required_role) == (rule, approvals, role)
    assert gate.mode == "human"
    assert gate.amount == Decimal(amount)


def test_a_threshold_without_its_own_approval_count_keeps_the_actions_count_but_adds_the_role() -> None:
    gate = load_policy().gate_for(
        "change_credit_limit", Decimal("100000.01"), now=NOW, unattended_allowed=False
    )
    assert (gate.rule, gate.approvals_required, gate.required_role) == (
        "credit-over-100k",
        1,
        "finance_director",
    )


def test_a_gate_records_the_policy_version_escalation_and_tolerance() -> None:
    gate = load_policy().gate_for("change_price", Decimal("1.55"), now=NOW, unattended_allowed=False)
    assert gate.policy_version == "2026.11.1"
    assert gate.rule == "change_price:default"
    assert gate.escalation_role == "finance_director"
    assert gate.edit_tolerance == Decimal("0.02")
    assert gate.approver_roles == ("approver", "finance_director")


def test_a_gate_expires_and_warns_after_the_actions_limits_in_utc() -> None:
    local = datetime(2026, 11, 2, 6, 0, tzinfo=timezone(timedelta(hours=-3)))
    gate = load_policy().gate_for("change_price", Decimal("1"), now=local, unattended_allowed=False)
    assert gate.expires_at == NOW + timedelta(hours=24)
    assert gate.warn_at == NOW + timedelta(hours=4)
    assert gate.expires_at.tzinfo == UTC


AUTO_PRICE = '[actions.change_price]\nmode = "auto"\n'
AUTO_PO = PO_THRESHOLDS.replace(
    "[actions.create_purchase_order]\n", '[actions.create_purchase_order]\nmode = "auto"\n'
)


def test_an_automatic_action_runs_unattended_only_where_the_grant_allows_it() -> None:
    policy = policy_from(AUTO_PRICE)
    allowed = policy.gate_for("change_price", Decimal("1"), now=NOW, unattended_allowed=True)
    assert (allowed.mode, allowed.approvals_required) == ("auto", 0)
    assert evaluate(allowed, []).satisfied
    refused = policy.gate_for("change_price", Decimal("1"), now=NOW, unattended_allowed=False)
    assert (refused.mode, refused.approvals_required) == ("human", 1)


def test_a_human_action_never_runs_unattended_even_where_the_grant_allows_it() -> None:
    gate = policy_from().gate_for("change_price", Decimal("1"), now=NOW, unattended_allowed=True)
    assert gate.mode == "human"


def test_a_threshold_always_needs_humans_even_for_an_automatic_action() -> None:
    policy = policy_from(AUTO_PO)
    below = policy.gate_for("create_purchase_order", Decimal("10000"), now=NOW, unattended_allowed=True)
    above = policy.gate_for("create_purchase_order", Decimal("10000.01"), now=NOW, unattended_allowed=True)
    assert below.mode == "auto"
    assert (above.mode, above.rule, above.approvals_required) == ("human", "po-over-10k", 2)


def test_a_negative_amount_is_refused_so_a_sign_cannot_dodge_a_threshold() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        po_gate("-60000")


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        load_policy().gate_for(
            "change_price", Decimal("1"), now=datetime(2026, 11, 2), unattended_allowed=False
        )


def test_an_unknown_action_has_no_gate() -> None:
    with pytest.raises(PolicyError, match="no policy for action 'delete_customer'"):
        load_policy().gate_for("delete_customer", Decimal("1"), now=NOW, unattended_allowed=False)


def test_a_gate_survives_a_json_round_trip_with_exact_amounts() -> None:
    gate = po_gate("50000.01")
    stored = json.loads(json.dumps(gate.as_json()))
    assert stored["amount"] == "50000.01"
    assert stored["edit_tolerance"] == "0.05"
    assert stored["approver_roles"] == ["approver", "finance_director"]
    assert Gate.from_json(stored) == gate


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule": None}, "gate: field rule has the wrong type"),
        ({"approvals_required": True}, "gate: field approvals_required has the wrong type"),
        ({"mode": "sometimes"}, "gate: field mode must be 'human' or 'auto'"),
        ({"amount": "lots"}, "gate: field amount is not a decimal number"),
        ({"expires_at": "2026-11-02T09:00:00"}, "gate: field expires_at: expires_at must be timezone-aware"),
    ],
)
def test_a_damaged_stored_gate_is_refused_naming_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Gate.from_json({**po_gate("1").as_json(), **change})


def test_a_stored_gate_missing_a_field_is_refused() -> None:
    data = po_gate("1").as_json()
    del data["warn_at"]
    with pytest.raises(ValueError, match="gate: missing field warn_at"):
        Gate.from_json(data)


def test_a_gate_says_what_it_asks_for_in_one_line() -> None:
    assert po_gate("60000").requirement() == (
        "2 distinct approvers, one of them a finance_director (rule po-over-50k, policy 2026.11.1)"
    )
    assert po_gate("100").requirement() == "1 approver (rule create_purchase_order:default, policy 2026.11.1)"


# --------------------------------------------------------------------------------------------
# Counting approvals


def test_two_approvals_from_one_person_count_once() -> None:
    verdict = evaluate(po_gate("20000"), [approval("bob"), approval("bob")])
    assert (verdict.satisfied, verdict.have, verdict.need) == (False, 1, 2)
    assert verdict.missing == "needs 1 more approval"


def test_the_same_person_in_another_letter_case_still_counts_once() -> None:
    verdict = evaluate(po_gate("20000"), [approval("bob"), approval(" Bob ")])
    assert verdict.have == 1


def test_two_distinct_approvers_satisfy_a_two_approver_gate() -> None:
    verdict = evaluate(po_gate("20000"), [approval("bob"), approval("carol")])
    assert (verdict.satisfied, verdict.have, verdict.missing) == (True, 2, "")
    assert verdict.approvers == ("bob", "carol")


def test_an_approval_by_someone_without_an_approver_role_does_not_count() -> None:
    verdict = evaluate(po_gate("100"), [approval("dave", "auditor")])
    assert (verdict.satisfied, verdict.have) == (False, 0)


def test_a_required_role_must_be_among_the_approvers() -> None:
    gate = po_gate("60000")
    verdict = evaluate(gate, [approval("bob"), approval("carol")])
    assert (verdict.satisfied, verdict.have, verdict.role_met) == (False, 2, False)
    assert verdict.missing == "needs 1 more approval, by a finance_director"
    met = evaluate(gate, [approval("bob"), approval("erin", "finance_director")])
    assert met.satisfied and met.role_met


def test_a_fresh_gate_says_how_many_approvals_and_which_role_it_still_needs() -> None:
    assert (
        evaluate(po_gate("60000"), []).missing == "needs 2 more approvals, one of them by a finance_director"
    )
    assert evaluate(po_gate("60000"), [approval("bob")]).missing == (
        "needs 1 more approval, by a finance_director"
    )
    assert evaluate(po_gate("100"), []).missing == "needs 1 more approval"


# --------------------------------------------------------------------------------------------
# Who may approve


def check(
    gate: Gate,
    actor: str,
    roles: tuple[str, ...] = ("approver",),
    *,
    previous: tuple[Approval, ...] = (),
    requester: str = "alice",
    on_behalf_of: str | None = None,
) -> None:
    check_approver(
        gate,
        actor=actor,
        roles=roles,
        requester=requester,
        on_behalf_of=on_behalf_of,
        previous_approvers=previous,
        agent_ids=AGENTS,
    )


def test_an_approver_who_is_not_the_requester_may_approve() -> None:
    check(po_gate("100"), "bob")


def test_the_requester_may_not_approve_their_own_proposal() -> None:
    with pytest.raises(NotAllowed, match=r"^carol requested this; .*\(segregation of duties\)$"):
        check(po_gate("100"), "carol", requester="carol")


def test_the_requester_may_not_approve_under_another_letter_case() -> None:
    with pytest.raises(NotAllowed, match="segregation of duties"):
        check(po_gate("100"), "Carol", requester="carol")


def test_the_person_the_agent_acts_for_may_not_approve() -> None:
    with pytest.raises(NotAllowed, match=r"^this was proposed on behalf of carol; .*segregation of duties"):
        check(po_gate("100"), "carol", requester="countersign-agent", on_behalf_of="carol")


def test_the_agent_never_approves_even_holding_an_approver_role() -> None:
    with pytest.raises(NotAllowed, match=r"^countersign-agent is an agent principal; agents never approve$"):
        check(po_gate("100"), "countersign-agent", ("approver", "finance_director"))


def test_someone_without_an_approver_role_may_not_approve() -> None:
    with pytest.raises(
        NotAllowed,
        match=r"^dave has none of the roles that may approve create_purchase_order: approver, finance_director$",
    ):
        check(po_gate("100"), "dave", ("auditor", "clerk"))


def test_a_second_approval_by_the_same_person_is_refused() -> None:
    with pytest.raises(NotAllowed) as caught:
        check(po_gate("20000"), "bob", previous=(approval("bob"),))
    assert str(caught.value) == "bob already approved this; a second approval must come from someone else"


def test_the_last_approval_must_bring_a_missing_required_role() -> None:
    gate = po_gate("60000")
    check(gate, "bob")  # the first of two may be any approver
    with pytest.raises(NotAllowed, match=r"^rule po-over-50k needs a finance_director among the approvers"):
        check(gate, "carol", previous=(approval("bob"),))
    check(gate, "erin", ("finance_director",), previous=(approval("bob"),))


def test_a_single_approval_gate_with_a_required_role_needs_that_role_at_once() -> None:
    gate = load_policy().gate_for("change_credit_limit", Decimal("250000"), now=NOW, unattended_allowed=False)
    with pytest.raises(NotAllowed, match="finance_director"):
        check(gate, "bob")
    check(gate, "erin", ("finance_director",))


def test_no_approval_is_taken_once_the_gate_is_satisfied() -> None:
    with pytest.raises(NotAllowed, match="already has the 2 approvals it needs"):
        check(po_gate("20000"), "erin", previous=(approval("bob"), approval("carol")))


def test_an_approval_without_an_actor_is_refused() -> None:
    with pytest.raises(NotAllowed, match="user id"):
        check(po_gate("100"), "  ")


# --------------------------------------------------------------------------------------------
# Expiry and reminders


def test_a_proposal_expires_at_its_expiry_instant_and_not_before() -> None:
    gate = po_gate("100")
    assert gate.expires_at == NOW + timedelta(hours=72)
    assert not is_expired(gate, gate.expires_at - timedelta(microseconds=1))
    assert is_expired(gate, gate.expires_at)


def test_a_reminder_is_due_from_the_warning_age_until_expiry() -> None:
    gate = po_gate("100")
    assert gate.warn_at == NOW + timedelta(hours=24)
    assert not needs_reminder(gate, gate.warn_at - timedelta(microseconds=1))
    assert needs_reminder(gate, gate.warn_at)
    assert needs_reminder(gate, gate.expires_at - timedelta(microseconds=1))
    assert not needs_reminder(gate, gate.expires_at)


def test_expiry_compares_instants_not_wall_clocks() -> None:
    gate = po_gate("100")
    same_instant_elsewhere = gate.expires_at.astimezone(timezone(timedelta(hours=9)))
    assert is_expired(gate, same_instant_elsewhere)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_expired(gate, datetime(2030, 1, 1))


# --------------------------------------------------------------------------------------------
# Edits


@pytest.mark.parametrize(
    ("old", "new", "fresh"),
    [
        ("100", "100", False),
        ("100", "105", False),
        ("100", "95", False),
        ("100", "105.01", True),
        ("100", "94.99", True),
        ("0", "0", False),
        ("0", "0.01", True),
    ],
)
def test_an_edit_needs_fresh_approval_only_beyond_the_tolerance(old: str, new: str, fresh: bool) -> None:
    assert edit_needs_fresh_approval(po_gate(old), Decimal(old), Decimal(new)) is fresh


def test_an_edit_that_crosses_into_a_stricter_rule_needs_fresh_approval_within_the_tolerance() -> None:
    gate = po_gate("9900")
    assert not edit_needs_fresh_approval(gate, Decimal("9900"), Decimal("10300"))
    assert edit_needs_fresh_approval(gate, Decimal("9900"), Decimal("10300"), policy=load_policy())
    assert not edit_needs_fresh_approval(gate, Decimal("9900"), Decimal("10000"), policy=load_policy())


# --------------------------------------------------------------------------------------------
# Autonomy by evidence


def outcomes(**counts: int) -> dict[Outcome, int]:
    return cast(dict[Outcome, int], counts)


def suggestion_for(action: str, counts: dict[Outcome, int], policy: Policy | None = None) -> Suggestion:
    policy = policy or load_policy()
    return next(s for s in suggest(policy, {action: counts}) if s.action == action)


def test_suggest_reports_every_action_even_without_history() -> None:
    suggestions = suggest(load_policy(), {})
    assert [s.action for s in suggestions] == list(ACTIONS)
    assert all(not s.eligible and s.decisions == 0 for s in suggestions)
    assert suggestions[0].reason == "0 decisions, fewer than the 50 required"


def test_too_few_decisions_are_not_enough_evidence() -> None:
    result = suggestion_for("change_price", outcomes(approved_unchanged=42))
    assert not result.eligible
    assert result.reason == "42 decisions, fewer than the 50 required"


def test_enough_unchanged_approvals_without_failure_earn_automatic_approval() -> None:
    result = suggestion_for("change_price", outcomes(approved_unchanged=59, edited=1))
    assert result.eligible
    assert (result.decisions, result.unchanged, result.failures) == (60, 59, 0)
    assert result.unchanged_rate == pytest.approx(59 / 60)
    assert result.reason == "98.3% approved unchanged over 60 decisions, no failure: may go automatic"


def test_exactly_the_required_rate_and_count_is_enough() -> None:
    assert suggestion_for("change_price", outcomes(approved_unchanged=49, rejected=1)).eligible


def test_a_rate_below_the_requirement_is_reported_with_the_figures() -> None:
    result = suggestion_for("change_price", outcomes(approved_unchanged=48, edited=1, expired=1))
    assert not result.eligible
    assert result.reason == "96.0% approved unchanged over 50 decisions, below the 98% required"


def test_a_rate_just_below_the_requirement_never_displays_as_meeting_it() -> None:
    result = suggestion_for("change_price", outcomes(approved_unchanged=2449, edited=51))
    assert not result.eligible
    assert result.reason == "97.9% approved unchanged over 2500 decisions, below the 98% required"


def test_a_single_failure_disqualifies_an_action() -> None:
    result = suggestion_for("change_price", outcomes(approved_unchanged=99, failed=1))
    assert not result.eligible
    assert result.reason == "1 failure, more than the 0 allowed"


def test_expiries_count_as_decisions_that_were_not_approvals() -> None:
    result = suggestion_for("change_price", outcomes(approved_unchanged=50, expired=2))
    assert (result.decisions, result.eligible) == (52, False)


def test_an_action_already_automatic_is_reported_as_such() -> None:
    policy = policy_from(AUTO_PRICE)
    good = suggestion_for("change_price", outcomes(approved_unchanged=60), policy)
    assert good.mode == "auto"
    assert good.reason == "already automatic; 100.0% approved unchanged over 60 decisions, no failure"
    bad = suggestion_for("change_price", outcomes(approved_unchanged=60, failed=2), policy)
    assert bad.reason.startswith("already automatic, but 2 failures, more than the 0 allowed")


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ({"delete_customer": {"failed": 1}}, "unknown actions: delete_customer"),
        ({"change_price": {"aproved": 1}}, "unknown outcomes aproved"),
        ({"change_price": {"failed": -1}}, "failed must be a non-negative whole number"),
    ],
)
def test_suggest_refuses_history_it_cannot_read(history: dict[str, dict[Outcome, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suggest(load_policy(), history)


# --------------------------------------------------------------------------------------------
# Policy changes


def test_switching_an_action_to_automatic_makes_a_new_version_and_leaves_the_original_alone() -> None:
    original = load_policy()
    changed = with_mode(original, "change_price", "auto", "pc-7")
    assert changed.version == "2026.11.1+pc-7"
    assert changed.settings("change_price").mode == "auto"
    assert original.settings("change_price").mode == "human"
    assert changed.settings("create_purchase_order") == original.settings("create_purchase_order")
    gate = changed.gate_for("change_price", Decimal("2"), now=NOW, unattended_allowed=True)
    assert (gate.mode, gate.policy_version) == ("auto", "2026.11.1+pc-7")
    again = with_mode(changed, "change_price", "human", "pc-8")
    assert again.version == "2026.11.1+pc-7.pc-8"


def test_a_policy_change_that_changes_nothing_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"actions\.change_price\.mode: is already human"):
        with_mode(load_policy(), "change_price", "human", "pc-7")


@pytest.mark.parametrize("suffix", ["", "pc 7", "pc+7", "pc..7"])
def test_a_policy_change_needs_a_clean_version_suffix(suffix: str) -> None:
    with pytest.raises(PolicyError, match="version suffix"):
        with_mode(load_policy(), "change_price", "auto", suffix)


def test_a_policy_change_for_an_unknown_action_is_refused() -> None:
    with pytest.raises(PolicyError, match="no policy for action 'delete_customer'"):
        with_mode(load_policy(), "delete_customer", "auto", "pc-7")


def test_describe_shows_one_block_per_action_with_mode_approvers_thresholds_and_expiry() -> None:
    text = describe(load_policy())
    assert text.startswith("Policy 2026.11.1 (policy.toml)\n")
    assert "at least 50 decisions, at least 98% approved unchanged, at most 0 failures" in text
    blocks = text.split("\n\n")[1:]
    assert [block.splitlines()[0] for block in blocks] == list(ACTIONS)
    po = blocks[0]
    assert "  mode: human approval" in po
    assert "  approvals: 1 approver (roles: approver, finance_director)" in po
    assert "  over 10,000: 2 distinct approvers, always human (rule po-over-10k)" in po
    assert "  over 50,000: 2 distinct approvers, one of them a finance_director" in po
    assert "  expiry: 72 h, reminder after 24 h, escalates to finance_director" in po
    assert "over 100,000: 1 approver, who must be a finance_director" in blocks[2]
    assert "expiry: 24 h, reminder after 4 h" in blocks[4]
    assert "more than 2% need fresh approval" in blocks[4]


# --------------------------------------------------------------------------------------------
# Validation: every mistake is one line naming the file and the field

KNOWN = ", ".join(ACTIONS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE + "[actions.delete_customer]\n",
            f"test.toml: actions.delete_customer: unknown action; known actions: {KNOWN}",
        ),
        (
            BASE + "[actions.change_price]\naprovals = 2\n",
            "test.toml: actions.change_price: unknown key aprovals; allowed: mode, approvals,",
        ),
        (
            BASE.replace("approvals = 1", "approvals = 1\ncolour = 2"),
            "test.toml: defaults: unknown key colour",
        ),
        (
            "owner = 'x'\n" + BASE,
            "test.toml: unknown key owner; allowed: version, defaults, autonomy, actions",
        ),
        (
            BASE + PO_THRESHOLDS.replace("approvals = 2\n  [[", "approval = 2\n  [["),
            "test.toml: actions.create_purchase_order.thresholds[0]: unknown key approval",
        ),
        (
            BASE.replace("max_failures = 0", "max_failures = 0\nmin_rate = 1"),
            "test.toml: autonomy: unknown key min_rate",
        ),
        (
            BASE.replace("approvals = 1", "approvals = 0"),
            "test.toml: defaults.approvals: must be between 1 and 5, not 0",
        ),
        (
            BASE.replace("approvals = 1", "approvals = 6"),
            "test.toml: defaults.approvals: must be between 1 and 5, not 6",
        ),
        (
            BASE.replace("approvals = 1", "approvals = true"),
            "test.toml: defaults.approvals: must be a whole number",
        ),
        (
            BASE + PO_THRESHOLDS.replace("approvals = 2\n  required_role", "approvals = 6\n  required_role"),
            "test.toml: actions.create_purchase_order.thresholds[1].approvals: must be between 1 and 5, not 6",
        ),
        (
            BASE + PO_THRESHOLDS.replace("above = 50000", "above = 10000"),
            "test.toml: actions.create_purchase_order.thresholds[1].above: 10000 is not above the previous"
            " threshold 10000 (thresholds must be strictly increasing)",
        ),
        (
            BASE + PO_THRESHOLDS.replace("above = 50000", "above = 5000"),
            "test.toml: actions.create_purchase_order.thresholds[1].above: 5000 is not above the previous",
        ),
        (
            BASE + PO_THRESHOLDS.replace("above = 10000", "above = -1"),
            "test.toml: actions.create_purchase_order.thresholds[0].above: must not be negative, not -1",
        ),
        (
            BASE + PO_THRESHOLDS.replace("above = 10000", "above = inf"),
            "test.toml: actions.create_purchase_order.thresholds[0].above: must be a finite number",
        ),
        (
            BASE.replace("edit_tolerance = 0.05", "edit_tolerance = -0.01"),
            "test.toml: defaults.edit_tolerance: must be between 0 and 1, not -0.01",
        ),
        (
            BASE + "[actions.change_price]\nedit_tolerance = 1.5\n",
            "test.toml: actions.change_price.edit_tolerance: must be between 0 and 1, not 1.5",
        ),
        (
            BASE.replace("expiry_hours = 72", "expiry_hours = 0"),
            "test.toml: defaults.expiry_hours: must be greater than 0, not 0",
        ),
        (
            BASE + "[actions.change_price]\nexpiry_hours = -24\n",
            "test.toml: actions.change_price.expiry_hours: must be greater than 0, not -24",
        ),
        (
            BASE.replace("warn_after_hours = 24", "warn_after_hours = 72"),
            "test.toml: defaults.warn_after_hours: 72 must be less than expiry_hours (72)",
        ),
        (
            BASE + "[actions.change_price]\nexpiry_hours = 12\n",
            "test.toml: actions.change_price.warn_after_hours: 24 must be less than expiry_hours (12)",
        ),
        (
            BASE + '[actions.post_journal_entry]\napprover_roles = ["approver"]\n'
            '[[actions.post_journal_entry.thresholds]]\nrule = "je"\nabove = 1\nrequired_role = "finance_director"\n',
            "test.toml: actions.post_journal_entry.thresholds[0].required_role: 'finance_director' is not among"
            " the approver_roles (approver)",
        ),
        (
            BASE.replace('["approver", "finance_director"]', '["approver", "cfo"]'),
            "test.toml: defaults.approver_roles: unknown role 'cfo'; known roles: approver, auditor, clerk,"
            " finance_director",
        ),
        (
            BASE.replace('escalation_role = "finance_director"', 'escalation_role = "boss"'),
            "test.toml: defaults.escalation_role: unknown role 'boss'",
        ),
        (
            BASE + PO_THRESHOLDS.replace('required_role = "finance_director"', 'required_role = "ceo"'),
            "test.toml: actions.create_purchase_order.thresholds[1].required_role: unknown role 'ceo'",
        ),
        (
            BASE.replace('approver_roles = ["approver", "finance_director"]', "approver_roles = []"),
            "test.toml: defaults.approver_roles: must be a non-empty list of roles",
        ),
        (
            BASE.replace('mode = "human"', 'mode = "sometimes"'),
            "test.toml: defaults.mode: must be 'human' or 'auto', not 'sometimes'",
        ),
        (
            BASE + '[actions.change_price]\nmode = "automatic"\n',
            "test.toml: actions.change_price.mode: must be 'human' or 'auto', not 'automatic'",
        ),
        (BASE.replace('version = "test.1"\n', ""), "test.toml: missing key version"),
        (
            BASE.replace('version = "test.1"', 'version = " "'),
            "test.toml: version: must be a non-empty string",
        ),
        (BASE.replace("edit_tolerance = 0.05\n", ""), "test.toml: defaults: missing key edit_tolerance"),
        (
            BASE
            + PO_THRESHOLDS
            + '[actions.change_price]\n[[actions.change_price.thresholds]]\nrule = "po-over-10k"\nabove = 5\n',
            "test.toml: actions.change_price.thresholds: rule 'po-over-10k' is already used by create_purchase_order",
        ),
        (
            BASE + "[actions.change_price]\napprovals = 2\n[[actions.change_price.thresholds]]\n"
            'rule = "p"\nabove = 5\napprovals = 1\n',
            "test.toml: actions.change_price.thresholds[0].approvals: 1 is fewer than the action's 2 approvals",
        ),
        (
            BASE.replace("min_decisions = 50", "min_decisions = 0"),
            "test.toml: autonomy.min_decisions: must be at least 1, not 0",
        ),
        (
            BASE.replace("min_unchanged_rate = 0.98", "min_unchanged_rate = 98"),
            "test.toml: autonomy.min_unchanged_rate: must be between 0 and 1, not 98",
        ),
        (BASE + "[actions\n", "test.toml: not valid TOML: "),
    ],
)
def test_an_invalid_policy_is_refused_with_a_one_line_message_naming_the_field(
    text: str, message: str
) -> None:
    assert refusal(text).startswith(message)


def test_the_known_roles_can_be_narrowed_by_the_caller() -> None:
    message = refusal(BASE, known_roles=frozenset({"clerk", "approver"}))
    assert message.startswith("test.toml: defaults.approver_roles: unknown role 'finance_director'")
    assert "finance_director" in DEFAULT_ROLES


def test_a_missing_policy_file_is_refused_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError, match=f"^{re.escape(str(missing))}: cannot read the policy file"):
        load_policy(missing)


def test_a_policy_file_on_disk_is_named_in_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "site-policy.toml"
    path.write_text(BASE.replace("approvals = 1", "approvals = 9"), encoding="utf-8")
    with pytest.raises(
        PolicyError, match=f"^{re.escape(str(path))}: defaults.approvals: must be between 1 and 5, not 9$"
    ):
        load_policy(path)


# --------------------------------------------------------------------------------------------
# Who may request: per action, from the policy; auditors never


def test_clerks_request_every_action_when_the_policy_names_no_requesters() -> None:
    policy = policy_from()
    assert {policy.settings(action).requester_roles for action in ACTIONS} == {("clerk",)}
    check_requester(policy, "create_purchase_order", requester="alice", roles=("clerk",))


def test_requester_roles_are_set_per_action_over_the_defaults() -> None:
    policy = policy_from('[actions.change_credit_limit]\nrequester_roles = ["finance_director"]\n')
    assert policy.settings("change_credit_limit").requester_roles == ("finance_director",)
    assert policy.settings("change_price").requester_roles == ("clerk",)
    check_requester(policy, "change_credit_limit", requester="erin", roles=("finance_director",))
    with pytest.raises(NotAllowed) as refused:
        check_requester(policy, "change_credit_limit", requester="alice", roles=("clerk",))
    assert str(refused.value) == (
        "alice may not request change_credit_limit: that needs the finance_director role;"
        " ask someone who holds it to file the request"
    )


def test_an_auditor_may_request_nothing() -> None:
    with pytest.raises(
        NotAllowed, match=r"^dave may not request create_purchase_order: an auditor is read-only"
    ):
        check_requester(load_policy(), "create_purchase_order", requester="dave", roles=("auditor",))
    # Not even with a role that would otherwise allow it (a users file refuses that pairing too).
    with pytest.raises(NotAllowed, match="read-only"):
        check_requester(load_policy(), "create_purchase_order", requester="dave", roles=("auditor", "clerk"))


def test_an_auditor_never_decides_even_holding_an_approver_role() -> None:
    with pytest.raises(NotAllowed, match=r"^dave is an auditor, and auditors never decide proposals$"):
        check(po_gate("100"), "dave", ("auditor", "approver"))


@pytest.mark.parametrize("key", ["requester_roles", "approver_roles"])
def test_a_policy_naming_auditors_as_requesters_or_approvers_is_refused(key: str) -> None:
    message = refusal(BASE + f'[actions.change_price]\n{key} = ["approver", "auditor"]\n')
    assert message == (
        f"test.toml: actions.change_price.{key}: 'auditor' is a read-only role: it may not request or approve"
    )


def test_the_bundled_policy_names_its_requesters_and_describe_shows_them() -> None:
    policy = load_policy()
    assert policy.settings("create_purchase_order").requester_roles == ("clerk",)
    assert "  requested by: clerk" in describe(policy).split("\n\n")[1]


# ---- risk flags --------------------------------------------------------------------------------


def test_risk_flags_have_defaults_when_the_policy_names_none() -> None:
    assert policy_from().risk == RiskRule(Decimal("0.10"), Decimal("0.25"), Decimal("3"))


def test_the_bundled_policy_states_its_risk_thresholds() -> None:
    assert load_policy().risk == RiskRule(Decimal("0.10"), Decimal("0.25"), Decimal("3"))


def test_a_risk_table_overrides_only_what_it_names() -> None:
    risk = policy_from("[risk]\nprice_change_above = 0.2\n").risk
    assert risk == RiskRule(price_change_above=Decimal("0.2"))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("history_multiple = 0", "risk.history_multiple: must be greater than 0, not 0"),
        ('price_change_above = "ten"', "risk.price_change_above: must be a number"),
        ("credit_change = 0.3", "risk: unknown key credit_change; allowed: price_change_above"),
    ],
)
def test_a_bad_risk_threshold_is_refused_naming_the_field(table: str, message: str) -> None:
    assert message in refusal(BASE + f"\n[risk]\n{table}\n")
