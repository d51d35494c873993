"""The approval policy engine: who must approve which proposal, how many of them, and for how long.

The policy is a versioned TOML file (the bundled demo is ``agent/config/policy.toml``). This module
is pure logic, with no database and no clock of its own (callers pass ``now``):

- ``load_policy`` / ``parse_policy`` read and validate the file into a frozen ``Policy``; a bad file
  fails with a one-line ``PolicyError`` that names the file and the field.
- ``Policy.gate_for`` turns an action and its amount into a ``Gate``. The gate is stored with the
  proposal, so the rule that applied is recorded and a later policy change never alters what an
  earlier proposal needs.
- ``evaluate`` counts approvals against a gate; ``check_approver`` refuses an approval that would
  break segregation of duties, before it is recorded; ``check_requester`` refuses a person who
  holds none of an action's requester roles before anything is filed. Auditors are read-only: the
  policy may not name them as requesters or approvers, and both checks refuse them.
- ``is_expired``, ``needs_reminder`` and ``edit_needs_fresh_approval`` answer the questions the
  inbox and the workers ask of a pending proposal.
- ``suggest`` judges from recorded outcomes whether an action has earned automatic approval;
  ``with_mode`` makes the changed policy once a second person has approved that change.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from agent.users import READ_ONLY_ROLE
from erp_acl.commands import ACTIONS

Mode = Literal["human", "auto"]
MODES: Final[tuple[Mode, ...]] = ("human", "auto")
Outcome = Literal["approved_unchanged", "edited", "rejected", "expired", "failed"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("approved_unchanged", "edited", "rejected", "expired", "failed")

DEFAULT_ROLES: Final[frozenset[str]] = frozenset({"clerk", "approver", "auditor", "finance_director"})
# Auditors only read: no policy may let them request or decide, whatever else it says.
READ_ONLY_ROLES: Final[frozenset[str]] = frozenset({READ_ONLY_ROLE})
# Who may file proposals when a policy says nothing: the people who do the work, not those who check it.
DEFAULT_REQUESTER_ROLES: Final[tuple[str, ...]] = ("clerk",)
MAX_APPROVALS: Final = 5
BUNDLED_POLICY: Final = "config/policy.toml"

_SETTING_KEYS: Final = (
    "mode",
    "approvals",
    "requester_roles",
    "approver_roles",
    "expiry_hours",
    "warn_after_hours",
    "escalation_role",
    "edit_tolerance",
)
# Optional in [defaults] (a policy written before it existed keeps working): DEFAULT_REQUESTER_ROLES.
_OPTIONAL_DEFAULTS: Final = ("requester_roles",)
_TOP_KEYS: Final = ("version", "defaults", "autonomy", "actions", "risk")
_RISK_KEYS: Final = ("price_change_above", "credit_change_above", "history_multiple")
_AUTONOMY_KEYS: Final = ("min_decisions", "min_unchanged_rate", "max_failures")
_THRESHOLD_KEYS: Final = ("rule", "above", "approvals", "required_role")
# Appended to a version as semver build metadata, so it must stay within that alphabet.
_SUFFIX: Final = re.compile(r"[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*")


class PolicyError(ValueError):
    """A policy file (or a requested policy change) is invalid; the message names file and field."""


class NotAllowed(Exception):
    """This person may not request or approve this; the message says why in one line."""


@dataclass(frozen=True)
class Threshold:
    """Above ``above`` (strictly), the action needs ``approvals`` distinct approvers and, if set,
    one of them must hold ``required_role``."""

    rule: str
    above: Decimal
    approvals: int
    required_role: str | None = None


@dataclass(frozen=True)
class ActionPolicy:
    """One action's settings, already merged over ``[defaults]``."""

    action: str
    mode: Mode
    approvals: int
    approver_roles: tuple[str, ...]
    expiry: timedelta
    warn_after: timedelta
    escalation_role: str
    edit_tolerance: Decimal
    thresholds: tuple[Threshold, ...] = ()
    requester_roles: tuple[str, ...] = DEFAULT_REQUESTER_ROLES

    @property
    def default_rule(self) -> str:
        return f"{self.action}:default"

    def threshold_for(self, amount: Decimal) -> Threshold | None:
        """The highest threshold the amount is strictly above, if any."""
        chosen = None
        for threshold in self.thresholds:  # strictly increasing, checked when parsed
            if amount > threshold.above:
                chosen = threshold
        return chosen

    def rule_for(self, amount: Decimal) -> str:
        threshold = self.threshold_for(amount)
        return threshold.rule if threshold is not None else self.default_rule


@dataclass(frozen=True)
class AutonomyRule:
    """The evidence an action needs before it may be proposed for automatic approval."""

    min_decisions: int
    min_unchanged_rate: Decimal
    max_failures: int


@dataclass(frozen=True)
class RiskRule:
    """When the inbox flags a proposal an approver would otherwise wave through. Flags inform a
    person; they never change who must approve (the gate does that)."""

    # A list-price change moving the price by more than this share of the current price.
    price_change_above: Decimal = Decimal("0.10")
    # A credit-limit change moving the limit by more than this share of the current limit.
    credit_change_above: Decimal = Decimal("0.25")
    # An amount more than this many times the largest recent order with the same supplier or
    # customer (a purchase order's total; a new credit limit against the customer's orders).
    history_multiple: Decimal = Decimal("3")


@dataclass(frozen=True)
class Gate:
    """What one proposal needs before it may commit, fixed when it is proposed.

    ``approvals_required`` is 0 for an automatic gate. Stored as JSON with the proposal
    (``as_json`` / ``from_json``): amounts and tolerances as strings so no float rounding creeps in.
    """

    policy_version: str
    action: str
    rule: str
    mode: Mode
    approvals_required: int
    approver_roles: tuple[str, ...]
    required_role: str | None
    amount: Decimal
    expires_at: datetime
    warn_at: datetime
    escalation_role: str
    edit_tolerance: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "action": self.action,
            "rule": self.rule,
            "mode": self.mode,
            "approvals_required": self.approvals_required,
            "approver_roles": list(self.approver_roles),
            "required_role": self.required_role,
            "amount": str(self.amount),
            "expires_at": self.expires_at.isoformat(),
            "warn_at": self.warn_at.isoformat(),
            "escalation_role": self.escalation_role,
            "edit_tolerance": str(self.edit_tolerance),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Gate:
        """Rebuild a stored gate; raises ValueError naming the first bad or missing field."""
        return _gate_from_json(data)

    def requirement(self) -> str:
        """One line for an inbox: what this gate asks for and why."""
        if self.mode == "auto":
            return f"runs automatically (rule {self.rule}, policy {self.policy_version})"
        who = _approvers(self.approvals_required, self.required_role)
        return f"{who} (rule {self.rule}, policy {self.policy_version})"


@dataclass(frozen=True)
class Policy:
    """A validated policy: every action in ``ACTIONS`` has settings."""

    version: str
    origin: str
    autonomy: AutonomyRule
    # A read-only view, so a loaded policy cannot be changed behind the version's back.
    actions: Mapping[str, ActionPolicy] = field(hash=False)
    risk: RiskRule = field(default_factory=RiskRule)

    def settings(self, action: str) -> ActionPolicy:
        try:
            return self.actions[action]
        except KeyError:
            raise PolicyError(
                f"{self.origin}: no policy for action {action!r}; known actions: {', '.join(ACTIONS)}"
            ) from None

    def gate_for(self, action: str, amount: Decimal, *, now: datetime, unattended_allowed: bool) -> Gate:
        """The gate for proposing ``action`` over ``amount`` at ``now``.

        The amount must be a non-negative Decimal: callers pass a magnitude (an order total, a
        new limit), so a sign can never slip a large change under a threshold.
        """
        settings = self.settings(action)
        amount = _checked_amount(amount)
        now = _utc(now, "now")
        threshold = settings.threshold_for(amount)
        # Thresholds exist to put more people in the loop, so they always need humans, whatever the
        # action's mode; and "auto" is only ever as wide as the agent's own grant.
        automatic = settings.mode == "auto" and unattended_allowed and threshold is None
        if automatic:
            approvals = 0
        elif threshold is not None:
            approvals = threshold.approvals
        else:
            approvals = settings.approvals
        return Gate(
            policy_version=self.version,
            action=action,
            rule=threshold.rule if threshold is not None else settings.default_rule,
            mode="auto" if automatic else "human",
            approvals_required=approvals,
            approver_roles=settings.approver_roles,
            required_role=threshold.required_role if threshold is not None and not automatic else None,
            amount=amount,
            expires_at=now + settings.expiry,
            warn_at=now + settings.warn_after,
            escalation_role=settings.escalation_role,
            edit_tolerance=settings.edit_tolerance,
        )


# --------------------------------------------------------------------------------------------
# Loading and validation


def load_policy(path: Path | None = None, *, known_roles: frozenset[str] = DEFAULT_ROLES) -> Policy:
    """The policy in ``path``, or the bundled demo policy when ``path`` is None."""
    if path is None:
        text = resources.files("agent").joinpath(BUNDLED_POLICY).read_text(encoding="utf-8")
        return parse_policy(text, "policy.toml", known_roles=known_roles)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from None
    return parse_policy(text, str(path), known_roles=known_roles)


def parse_policy(text: str, origin: str, *, known_roles: frozenset[str] = DEFAULT_ROLES) -> Policy:
    """Parse and validate policy TOML; ``origin`` names the file in error messages."""
    try:
        # Decimal for every TOML float: tolerances and rates are compared exactly.
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{origin}: not valid TOML: {exc}") from None
    reader = _Reader(origin, known_roles)
    reader.keys(data, "", _TOP_KEYS, required=("version", "defaults", "autonomy"))
    version = reader.text(data["version"], "version")

    defaults_table = reader.table(data["defaults"], "defaults")
    required = tuple(key for key in _SETTING_KEYS if key not in _OPTIONAL_DEFAULTS)
    reader.keys(defaults_table, "defaults", _SETTING_KEYS, required=required)
    defaults = {"requester_roles": DEFAULT_REQUESTER_ROLES, **reader.settings(defaults_table, "defaults")}
    # Checking the defaults on their own first blames [defaults], not every action inheriting them.
    reader.consistent(defaults, "defaults")

    actions_table = reader.table(data.get("actions", {}), "actions")
    unknown = [name for name in actions_table if name not in ACTIONS]
    if unknown:
        raise reader.fail(f"actions.{unknown[0]}", f"unknown action; known actions: {', '.join(ACTIONS)}")
    actions: dict[str, ActionPolicy] = {}
    rules: dict[str, str] = {}
    for action in ACTIONS:  # every action gets settings, listed or not
        where = f"actions.{action}"
        table = reader.table(actions_table.get(action, {}), where)
        reader.keys(table, where, (*_SETTING_KEYS, "thresholds"))
        merged = {**defaults, **reader.settings(table, where)}
        reader.consistent(merged, where)
        thresholds = reader.thresholds(table.get("thresholds", []), where, merged)
        for threshold in thresholds:
            # Rule names are what decisions record, so one name must mean one rule.
            if threshold.rule in rules:
                raise reader.fail(
                    f"{where}.thresholds",
                    f"rule {threshold.rule!r} is already used by {rules[threshold.rule]}",
                )
            rules[threshold.rule] = action
        actions[action] = ActionPolicy(
            action=action,
            mode=merged["mode"],
            approvals=merged["approvals"],
            approver_roles=merged["approver_roles"],
            expiry=_hours(merged["expiry_hours"]),
            warn_after=_hours(merged["warn_after_hours"]),
            escalation_role=merged["escalation_role"],
            edit_tolerance=merged["edit_tolerance"],
            thresholds=thresholds,
            requester_roles=merged["requester_roles"],
        )

    autonomy_table = reader.table(data["autonomy"], "autonomy")
    reader.keys(autonomy_table, "autonomy", _AUTONOMY_KEYS, required=_AUTONOMY_KEYS)
    min_decisions = reader.integer(autonomy_table["min_decisions"], "autonomy.min_decisions")
    if min_decisions < 1:
        # Zero would let an action go automatic on no evidence at all.
        raise reader.fail("autonomy.min_decisions", f"must be at least 1, not {min_decisions}")
    max_failures = reader.integer(autonomy_table["max_failures"], "autonomy.max_failures")
    if max_failures < 0:
        raise reader.fail("autonomy.max_failures", f"must not be negative, not {max_failures}")
    autonomy = AutonomyRule(
        min_decisions=min_decisions,
        min_unchanged_rate=reader.fraction(
            autonomy_table["min_unchanged_rate"], "autonomy.min_unchanged_rate"
        ),
        max_failures=max_failures,
    )
    risk = reader.risk(reader.table(data.get("risk", {}), "risk"))
    return Policy(
        version=version, origin=origin, autonomy=autonomy, actions=MappingProxyType(actions), risk=risk
    )


class _Reader:
    """Type and range checks over the raw TOML, each failing with ``origin: field: problem``."""

    def __init__(self, origin: str, known_roles: frozenset[str]) -> None:
        self.origin = origin
        self.known_roles = known_roles

    def fail(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"{self.origin}: {where}: {message}" if where else f"{self.origin}: {message}")

    def keys(
        self, table: Mapping[str, Any], where: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> None:
        # Unknown keys are refused, not ignored: a misspelt "aprovals = 2" must not silently mean 1.
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            label = "key" if len(unknown) == 1 else "keys"
            raise self.fail(where, f"unknown {label} {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        missing = [key for key in required if key not in table]
        if missing:
            label = "key" if len(missing) == 1 else "keys"
            raise self.fail(where, f"missing {label} {', '.join(missing)}")

    def table(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table")
        return value

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "must be a non-empty string")
        return value.strip()

    def risk(self, table: Mapping[str, Any]) -> RiskRule:
        """The optional [risk] table; a key left out keeps its default."""
        self.keys(table, "risk", _RISK_KEYS)
        default = RiskRule()
        return RiskRule(
            price_change_above=self.positive(table["price_change_above"], "risk.price_change_above")
            if "price_change_above" in table
            else default.price_change_above,
            credit_change_above=self.positive(table["credit_change_above"], "risk.credit_change_above")
            if "credit_change_above" in table
            else default.credit_change_above,
            history_multiple=self.positive(table["history_multiple"], "risk.history_multiple")
            if "history_multiple" in table
            else default.history_multiple,
        )

    def integer(self, value: object, where: str) -> int:
        # bool is an int in Python; "approvals = true" is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be a whole number, not {value!r}")
        return value

    def number(self, value: object, where: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.fail(where, f"must be a number, not {value!r}")
        number = Decimal(value)
        if not number.is_finite():
            raise self.fail(where, f"must be a finite number, not {value}")
        return number

    def fraction(self, value: object, where: str) -> Decimal:
        number = self.number(value, where)
        if not Decimal(0) <= number <= Decimal(1):
            raise self.fail(where, f"must be between 0 and 1, not {number}")
        return number

    def positive(self, value: object, where: str) -> Decimal:
        number = self.number(value, where)
        if number <= 0:
            raise self.fail(where, f"must be greater than 0, not {number}")
        return number

    def approvals(self, value: object, where: str) -> int:
        count = self.integer(value, where)
        if not 1 <= count <= MAX_APPROVALS:
            raise self.fail(where, f"must be between 1 and {MAX_APPROVALS}, not {count}")
        return count

    def role(self, value: object, where: str) -> str:
        role = self.text(value, where)
        if role not in self.known_roles:
            raise self.fail(
                where, f"unknown role {role!r}; known roles: {', '.join(sorted(self.known_roles))}"
            )
        return role

    def roles(self, value: object, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, "must be a non-empty list of roles")
        roles = tuple(self.role(item, where) for item in value)
        if len(set(roles)) != len(roles):
            raise self.fail(where, "lists a role more than once")
        return roles

    def acting_roles(self, value: object, where: str) -> tuple[str, ...]:
        """Roles that change something (request, approve): never a read-only role."""
        roles = self.roles(value, where)
        read_only = [role for role in roles if role in READ_ONLY_ROLES]
        if read_only:
            raise self.fail(where, f"{read_only[0]!r} is a read-only role: it may not request or approve")
        return roles

    def mode(self, value: object, where: str) -> Mode:
        for mode in MODES:
            if value == mode:
                return mode
        raise self.fail(where, f"must be 'human' or 'auto', not {value!r}")

    def settings(self, table: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The setting keys present in ``table``, each checked on its own."""
        checks = {
            "mode": self.mode,
            "approvals": self.approvals,
            "requester_roles": self.acting_roles,
            "approver_roles": self.acting_roles,
            "expiry_hours": self.positive,
            "warn_after_hours": self.positive,
            "escalation_role": self.role,
            "edit_tolerance": self.fraction,
        }
        return {key: check(table[key], f"{where}.{key}") for key, check in checks.items() if key in table}

    def consistent(self, merged: Mapping[str, Any], where: str) -> None:
        if merged["warn_after_hours"] >= merged["expiry_hours"]:
            # A reminder at or after expiry would never be seen.
            raise self.fail(
                f"{where}.warn_after_hours",
                f"{merged['warn_after_hours']} must be less than expiry_hours ({merged['expiry_hours']})",
            )

    def thresholds(self, value: object, where: str, merged: Mapping[str, Any]) -> tuple[Threshold, ...]:
        if not isinstance(value, list):
            raise self.fail(f"{where}.thresholds", "must be an array of tables ([[...thresholds]])")
        result: list[Threshold] = []
        for index, raw in enumerate(value):
            at = f"{where}.thresholds[{index}]"
            table = self.table(raw, at)
            self.keys(table, at, _THRESHOLD_KEYS, required=("rule", "above"))
            rule = self.text(table["rule"], f"{at}.rule")
            above = self.number(table["above"], f"{at}.above")
            if above < 0:
                raise self.fail(f"{at}.above", f"must not be negative, not {above}")
            if result and above <= result[-1].above:
                raise self.fail(
                    f"{at}.above",
                    f"{above} is not above the previous threshold {result[-1].above}"
                    " (thresholds must be strictly increasing)",
                )
            approvals = merged["approvals"]
            if "approvals" in table:
                approvals = self.approvals(table["approvals"], f"{at}.approvals")
                # A larger amount never needs fewer people than a smaller one.
                if approvals < merged["approvals"]:
                    raise self.fail(
                        f"{at}.approvals",
                        f"{approvals} is fewer than the action's {merged['approvals']} approvals",
                    )
            required_role = None
            if "required_role" in table:
                required_role = self.role(table["required_role"], f"{at}.required_role")
                if required_role not in merged["approver_roles"]:
                    raise self.fail(
                        f"{at}.required_role",
                        f"{required_role!r} is not among the approver_roles"
                        f" ({', '.join(merged['approver_roles'])})",
                    )
            result.append(Threshold(rule=rule, above=above, approvals=approvals, required_role=required_role))
        return tuple(result)


def _hours(value: Decimal) -> timedelta:
    return timedelta(seconds=float(value * 3600))


# --------------------------------------------------------------------------------------------
# Approvals and segregation of duties


@dataclass(frozen=True)
class Approval:
    """One recorded approval: who, and the roles they held when they approved."""

    actor: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """How far a proposal's approvals go towards its gate."""

    satisfied: bool
    have: int
    need: int
    missing: str  # "" when satisfied
    role_met: bool
    approvers: tuple[str, ...] = ()


def evaluate(gate: Gate, approvals: Sequence[Approval]) -> Verdict:
    """Count the approvals that meet the gate.

    One person counts once however often they appear, and only someone holding one of the gate's
    approver roles counts at all: this is a second line behind ``check_approver``, so a row that
    should never have been recorded still cannot complete a gate.
    """
    roles_by_actor: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    for approval in approvals:
        key = _person(approval.actor)
        if not key:
            continue
        roles_by_actor.setdefault(key, set()).update(approval.roles)
        names.setdefault(key, approval.actor)
    eligible = set(gate.approver_roles)
    counted = [key for key, roles in roles_by_actor.items() if roles & eligible]
    role_met = gate.required_role is None or any(gate.required_role in roles_by_actor[k] for k in counted)
    have, need = len(counted), gate.approvals_required
    short = max(need - have, 0)
    if not role_met:
        short = max(short, 1)
        role = _article(gate.required_role)
        missing = (
            f"needs 1 more approval, by {role}"
            if short == 1
            else f"needs {short} more approvals, one of them by {role}"
        )
    elif short:
        missing = f"needs {_plural(short, 'more approval')}"
    else:
        missing = ""
    return Verdict(
        satisfied=not missing,
        have=have,
        need=need,
        missing=missing,
        role_met=role_met,
        approvers=tuple(names[k] for k in counted),
    )


def check_requester(policy: Policy, action: str, *, requester: str, roles: Collection[str]) -> None:
    """Raise ``NotAllowed`` unless ``requester`` may file a proposal for ``action``.

    Checked before anything is filed, whichever way the request came (chat, a tool call, MCP, an
    ERP event run): a proposal is someone's request, so the policy says whose it may be.
    """
    wanted = policy.settings(action).requester_roles
    read_only = sorted(set(roles) & READ_ONLY_ROLES)
    if read_only:
        raise NotAllowed(
            f"{requester} may not request {action}: {_article(read_only[0])} is read-only"
            f" (requests need the {_either(wanted)} role)"
        )
    if not set(roles) & set(wanted):
        raise NotAllowed(
            f"{requester} may not request {action}: that needs the {_either(wanted)} role;"
            " ask someone who holds it to file the request"
        )


def check_approver(
    gate: Gate,
    *,
    actor: str,
    roles: Collection[str],
    requester: str,
    on_behalf_of: str | None,
    previous_approvers: Sequence[Approval],
    agent_ids: frozenset[str],
) -> None:
    """Raise ``NotAllowed`` unless ``actor`` may add an approval to this proposal now.

    ``agent_ids`` is required, not defaulted: forgetting it would quietly let an agent approve.
    Ids are compared case-insensitively so "Alice" cannot approve what "alice" requested.
    """
    person = _person(actor)
    if not person:
        raise NotAllowed("an approval needs the approver's user id")
    if person in {_person(agent) for agent in agent_ids}:
        raise NotAllowed(f"{actor} is an agent principal; agents never approve")
    if person == _person(requester):
        raise NotAllowed(f"{actor} requested this; the approver must be someone else (segregation of duties)")
    if on_behalf_of is not None and person == _person(on_behalf_of):
        raise NotAllowed(
            f"this was proposed on behalf of {actor}; the approver must be someone else"
            " (segregation of duties)"
        )
    if any(_person(previous.actor) == person for previous in previous_approvers):
        raise NotAllowed(f"{actor} already approved this; a second approval must come from someone else")
    if not set(roles) & set(gate.approver_roles):
        raise NotAllowed(
            f"{actor} has none of the roles that may approve {gate.action}: {', '.join(gate.approver_roles)}"
        )
    read_only = sorted(set(roles) & READ_ONLY_ROLES)
    if read_only:
        # Never reached with a valid users file and policy; kept so no configuration can make it so.
        raise NotAllowed(f"{actor} is {_article(read_only[0])}, and auditors never decide proposals")
    verdict = evaluate(gate, previous_approvers)
    if verdict.satisfied:
        raise NotAllowed(f"this proposal already has the {_plural(verdict.need, 'approval')} it needs")
    last_needed = verdict.need - verdict.have <= 1
    if last_needed and not verdict.role_met and gate.required_role not in roles:
        # Letting this through would leave a gate that no further approval could ever complete
        # without someone the rule did not ask for; refuse now, while the approver is here.
        raise NotAllowed(
            f"rule {gate.rule} needs {_article(gate.required_role)} among the approvers and {actor}"
            f" is not one, so the remaining approval must come from {_article(gate.required_role)}"
        )


def _person(user_id: str) -> str:
    return user_id.strip().casefold()


# --------------------------------------------------------------------------------------------
# Expiry, reminders and edits


def is_expired(gate: Gate, now: datetime) -> bool:
    """Expired from ``expires_at`` on (the instant itself included)."""
    return _utc(now, "now") >= gate.expires_at


def needs_reminder(gate: Gate, now: datetime) -> bool:
    """Due for a reminder/escalation from ``warn_at`` on, until it expires."""
    at = _utc(now, "now")
    return gate.warn_at <= at < gate.expires_at


def edit_needs_fresh_approval(
    gate: Gate, old_amount: Decimal, new_amount: Decimal, *, policy: Policy | None = None
) -> bool:
    """Whether an approver's edit from ``old_amount`` to ``new_amount`` needs approving afresh.

    True when the relative change exceeds the gate's tolerance (exactly at the tolerance is
    still within it), when the old amount was zero and anything changed, and — given the policy —
    when the new amount falls under a different rule: a 4 % edit from 9,900 to 10,300 must not
    slip past the two-approver threshold it has just crossed.
    """
    old, new = _checked_amount(old_amount), _checked_amount(new_amount)
    if policy is not None and policy.settings(gate.action).rule_for(new) != gate.rule:
        return True
    if new == old:
        return False
    if old == 0:
        return True
    return abs(new - old) / abs(old) > gate.edit_tolerance


# --------------------------------------------------------------------------------------------
# Autonomy by evidence


@dataclass(frozen=True)
class Suggestion:
    """Whether one action's recorded outcomes meet the policy's autonomy rule."""

    action: str
    mode: Mode
    eligible: bool
    decisions: int
    unchanged: int
    unchanged_rate: float
    failures: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "mode": self.mode,
            "eligible": self.eligible,
            "decisions": self.decisions,
            "unchanged": self.unchanged,
            "unchanged_rate": self.unchanged_rate,
            "failures": self.failures,
            "reason": self.reason,
        }


def suggest(policy: Policy, outcomes: Mapping[str, Mapping[Outcome, int]]) -> list[Suggestion]:
    """One suggestion per action in the policy, from how its proposals ended.

    Every ending counts as a decision, expiries included: a proposal nobody looked at is not
    evidence that people agree with the agent.
    """
    unknown = sorted(set(outcomes) - set(policy.actions))
    if unknown:
        raise ValueError(f"outcomes for unknown actions: {', '.join(unknown)}")
    rule = policy.autonomy
    result = []
    for action, settings in policy.actions.items():
        counts = _checked_counts(action, outcomes.get(action, {}))
        decisions = sum(counts.values())
        unchanged, failures = counts["approved_unchanged"], counts["failed"]
        shortfalls = []
        if decisions < rule.min_decisions:
            shortfalls.append(
                f"{_plural(decisions, 'decision')}, fewer than the {rule.min_decisions} required"
            )
        if failures > rule.max_failures:
            shortfalls.append(f"{_plural(failures, 'failure')}, more than the {rule.max_failures} allowed")
        # Compared in exact integers-times-Decimal, never through a rounded percentage.
        if decisions and Decimal(unchanged) < rule.min_unchanged_rate * decisions:
            shortfalls.append(
                f"{_percent(unchanged, decisions)} approved unchanged over {_plural(decisions, 'decision')},"
                f" below the {_required_percent(rule.min_unchanged_rate)} required"
            )
        eligible = not shortfalls
        figures = (
            f"{_percent(unchanged, decisions)} approved unchanged over {_plural(decisions, 'decision')},"
            f" {'no failure' if failures == 0 else _plural(failures, 'failure')}"
        )
        if settings.mode == "auto" and eligible:
            reason = f"already automatic; {figures}"
        elif settings.mode == "auto":
            # Evidence can also be lost: say so rather than keep reporting an automatic action as fine.
            reason = (
                f"already automatic, but {'; '.join(shortfalls)}: consider returning it to human approval"
            )
        else:
            reason = f"{figures}: may go automatic" if eligible else "; ".join(shortfalls)
        result.append(
            Suggestion(
                action=action,
                mode=settings.mode,
                eligible=eligible,
                decisions=decisions,
                unchanged=unchanged,
                unchanged_rate=unchanged / decisions if decisions else 0.0,
                failures=failures,
                reason=reason,
            )
        )
    return result


def _checked_counts(action: str, counts: Mapping[Outcome, int]) -> dict[Outcome, int]:
    # These figures usually come from a database query; a typo'd outcome must not vanish silently.
    unknown = sorted(set(counts) - set(OUTCOMES))
    if unknown:
        raise ValueError(
            f"{action}: unknown outcomes {', '.join(map(str, unknown))}; known: {', '.join(OUTCOMES)}"
        )
    checked: dict[Outcome, int] = {}
    for outcome in OUTCOMES:
        count = counts.get(outcome, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{action}: {outcome} must be a non-negative whole number, not {count!r}")
        checked[outcome] = count
    return checked


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "0%"
    # Rounded down, so a rate just below the requirement never displays as meeting it.
    value = (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return f"{value}%"


def _required_percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


# --------------------------------------------------------------------------------------------
# Policy changes and presentation


def with_mode(policy: Policy, action: str, mode: Mode, version_suffix: str) -> Policy:
    """A copy of ``policy`` with ``action`` switched to ``mode`` and a new version.

    The version gains ``version_suffix`` as build metadata (``2026.11.1+pc-7``; a second change
    gives ``2026.11.1+pc-7.pc-8``), so every decision taken under the changed policy records that
    it was not the file's own. Making the change is the caller's job once a second person approved.
    """
    settings = policy.settings(action)
    where = f"{policy.origin}: actions.{action}.mode"
    if mode not in MODES:
        raise PolicyError(f"{where}: must be 'human' or 'auto', not {mode!r}")
    if settings.mode == mode:
        raise PolicyError(f"{where}: is already {mode}; a change that changes nothing is not recorded")
    if not _SUFFIX.fullmatch(version_suffix):
        raise PolicyError(
            f"{policy.origin}: version suffix {version_suffix!r} must be letters, digits, '-' and '.'"
        )
    joiner = "." if "+" in policy.version else "+"
    actions = dict(policy.actions)
    actions[action] = replace(settings, mode=mode)
    return replace(
        policy, version=f"{policy.version}{joiner}{version_suffix}", actions=MappingProxyType(actions)
    )


def describe(policy: Policy) -> str:
    """A readable summary for ``countersign policy show``: one block per action."""
    rule = policy.autonomy
    lines = [
        f"Policy {policy.version} ({policy.origin})",
        f"Autonomy: at least {rule.min_decisions} decisions, at least"
        f" {_required_percent(rule.min_unchanged_rate)} approved unchanged,"
        f" at most {_plural(rule.max_failures, 'failure')}",
    ]
    for settings in policy.actions.values():
        mode = (
            "automatic where the agent's grant allows it, otherwise human"
            if settings.mode == "auto"
            else "human approval"
        )
        lines += [
            "",
            settings.action,
            f"  mode: {mode}",
            f"  requested by: {', '.join(settings.requester_roles)}",
            f"  approvals: {_approvers(settings.approvals, None)}"
            f" (roles: {', '.join(settings.approver_roles)})",
        ]
        for threshold in settings.thresholds:
            who = _approvers(threshold.approvals, threshold.required_role)
            lines.append(f"  over {_money(threshold.above)}: {who}, always human (rule {threshold.rule})")
        lines += [
            f"  expiry: {_duration(settings.expiry)}, reminder after {_duration(settings.warn_after)},"
            f" escalates to {settings.escalation_role}",
            f"  edits moving the amount by more than {_required_percent(settings.edit_tolerance)}"
            " need fresh approval",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Small helpers


def _checked_amount(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"amount must be a finite, non-negative Decimal, not {amount}")
    return amount


def _utc(moment: datetime, name: str) -> datetime:
    # A naive datetime is ambiguous by hours; expiry must not depend on a server's zone.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _approvers(count: int, required_role: str | None) -> str:
    if count == 1:
        return f"1 approver, who must be {_article(required_role)}" if required_role else "1 approver"
    role = f", one of them {_article(required_role)}" if required_role else ""
    return f"{count} distinct approvers{role}"


def _either(roles: Sequence[str]) -> str:
    return roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " or " + roles[-1]


def _article(role: str | None) -> str:
    text = role or ""
    return f"an {text}" if text[:1] in tuple("aeiou") else f"a {text}"


def _money(amount: Decimal) -> str:
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def _duration(span: timedelta) -> str:
    hours = Decimal(str(span.total_seconds())) / 3600
    return f"{hours.normalize():f} h"


def _gate_from_json(data: Mapping[str, Any]) -> Gate:
    def get(key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in data:
            raise ValueError(f"gate: missing field {key}")
        value = data[key]
        if (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
            raise ValueError(f"gate: field {key} has the wrong type ({type(value).__name__})")
        return value

    def decimal(key: str) -> Decimal:
        try:
            return Decimal(get(key, str))
        except InvalidOperation:
            raise ValueError(f"gate: field {key} is not a decimal number") from None

    def moment(key: str) -> datetime:
        try:
            return _utc(datetime.fromisoformat(get(key, str)), key)
        except ValueError as exc:
            raise ValueError(f"gate: field {key}: {exc}") from None

    mode = get("mode", str)
    if mode not in MODES:
        raise ValueError(f"gate: field mode must be 'human' or 'auto', not {mode!r}")
    roles = get("approver_roles", list)
    if not all(isinstance(role, str) for role in roles):
        raise ValueError("gate: field approver_roles must be a list of strings")
    required_role = data.get("required_role")
    if required_role is not None and not isinstance(required_role, str):
        raise ValueError("gate: field required_role must be a string or null")
    return Gate(
        policy_version=get("policy_version", str),
        action=get("action", str),
        rule=get("rule", str),
        mode="auto" if mode == "auto" else "human",
        approvals_required=get("approvals_required", int),
        approver_roles=tuple(roles),
        required_role=required_role,
        amount=_checked_amount(decimal("amount")),
        expires_at=moment("expires_at"),
        warn_at=moment("warn_at"),
        escalation_role=get("escalation_role", str),
        edit_tolerance=decimal("edit_tolerance"),
    )
