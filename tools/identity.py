"""The agent's own identity and what it is granted: scopes, which tool needs which, and loading.

The agent is a principal like any other. It has its own id (never a human's), and its grants
come from a TOML file: read scopes per ERP domain and one write scope per action, plus an
optional ``.unattended`` scope per action that lets the policy commit that action without a
human. Loading refuses, at start, anything that would make the agent more than that: wildcards,
admin scopes, approval rights, unknown scopes, an unattended scope without its write scope, and
ids that are empty, duplicated or belong to a person.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tools.catalog import ALL_TOOLS, PROPOSE_TOOLS

# ---- scopes ---------------------------------------------------------------------------------

READ_SCOPES: tuple[str, ...] = (
    "erp.read.customers",
    "erp.read.suppliers",
    "erp.read.products",
    "erp.read.stock",
    "erp.read.sales_orders",
    "erp.read.purchase_orders",
    "erp.read.budgets",
    "erp.read.accounts",
)

WRITE_SCOPE_BY_ACTION: dict[str, str] = {
    "create_purchase_order": "erp.write.purchase_order",
    "post_journal_entry": "erp.write.journal_entry",
    "change_credit_limit": "erp.write.credit_limit",
    "cancel_sales_order": "erp.write.sales_order_cancellation",
    "change_price": "erp.write.price",
    "cancel_purchase_order": "erp.write.purchase_order_cancellation",
}
ACTION_BY_WRITE_SCOPE: dict[str, str] = {scope: action for action, scope in WRITE_SCOPE_BY_ACTION.items()}
WRITE_SCOPES: tuple[str, ...] = tuple(WRITE_SCOPE_BY_ACTION.values())

UNATTENDED_SUFFIX = ".unattended"
UNATTENDED_SCOPE_BY_ACTION: dict[str, str] = {
    action: scope + UNATTENDED_SUFFIX for action, scope in WRITE_SCOPE_BY_ACTION.items()
}
UNATTENDED_SCOPES: tuple[str, ...] = tuple(UNATTENDED_SCOPE_BY_ACTION.values())

ALLOWED_SCOPES: frozenset[str] = frozenset((*READ_SCOPES, *WRITE_SCOPES, *UNATTENDED_SCOPES))

# Read tools are listed by hand on purpose: a new read tool must be given a scope deliberately
# (a test fails until it is), rather than inheriting one by accident.
_READ_TOOL_SCOPES: dict[str, str] = {
    "search_customers": "erp.read.customers",
    "get_customer": "erp.read.customers",
    "search_suppliers": "erp.read.suppliers",
    "get_supplier": "erp.read.suppliers",
    "search_products": "erp.read.products",
    "get_product": "erp.read.products",
    "check_stock": "erp.read.stock",
    "list_sales_orders": "erp.read.sales_orders",
    "get_sales_order": "erp.read.sales_orders",
    "list_purchase_orders": "erp.read.purchase_orders",
    "get_purchase_order": "erp.read.purchase_orders",
    "list_supplier_invoices": "erp.read.purchase_orders",
    "get_supplier_invoice": "erp.read.purchase_orders",
    "check_budget": "erp.read.budgets",
    "search_accounts": "erp.read.accounts",
    "get_account_balance": "erp.read.accounts",
}

TOOL_SCOPES: dict[str, str] = {
    **_READ_TOOL_SCOPES,
    **{tool.name: WRITE_SCOPE_BY_ACTION[tool.action] for tool in PROPOSE_TOOLS},
}

# The identity keys the application looks up; anything else in the file is most likely a typo
# (``[identities.mpc]``) that would otherwise silently leave a principal unconfigured.
REQUIRED_IDENTITY_KEYS: tuple[str, ...] = ("agent",)
IDENTITY_KEYS: tuple[str, ...] = ("agent", "mcp", "reconciler")

DEMO_IDENTITIES_RESOURCE = "config/identities.toml"

# Role names that decide proposals. Granting one to the agent would let it approve its own work.
_APPROVER_ROLE_NAMES: frozenset[str] = frozenset({"approver", "finance_director", "director", "controller"})
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


class IdentityError(ValueError):
    """An identities configuration that must not be loaded; the message is one line."""


# ---- the identity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentIdentity:
    """A non-human principal (the agent, the MCP gateway) and the scopes it holds."""

    id: str
    display_name: str
    grants: frozenset[str]

    def __post_init__(self) -> None:
        # The same checks as loading, so an identity built in code cannot hold more than a file may.
        _checked_id(self.id, where=f"identity {self.id!r}")
        _check_grants(self.grants, where=f"identity {self.id!r}")
        # Accept any collection of scopes but keep the value immutable and hashable.
        object.__setattr__(self, "grants", frozenset(self.grants))

    def allows(self, scope: str) -> bool:
        """Whether ``scope`` is granted. An unattended scope counts only with its write scope."""
        if scope not in self.grants:
            return False
        if scope.endswith(UNATTENDED_SUFFIX):
            return scope.removesuffix(UNATTENDED_SUFFIX) in self.grants
        return True

    def may_use(self, tool_name: str) -> bool:
        """Whether the tool may be called; an unknown tool is never allowed."""
        scope = TOOL_SCOPES.get(tool_name)
        return scope is not None and self.allows(scope)

    def granted_tools(self) -> list[str]:
        """Names of the tools this identity may call, in catalogue order."""
        return [tool.name for tool in ALL_TOOLS if self.may_use(tool.name)]

    def write_actions(self) -> list[str]:
        """Actions this identity may propose, in the order of the write scopes."""
        return [action for action, scope in WRITE_SCOPE_BY_ACTION.items() if scope in self.grants]

    def may_run_unattended(self, action: str) -> bool:
        """Whether the policy may commit ``action`` without a human (needs write + unattended)."""
        write = WRITE_SCOPE_BY_ACTION.get(action)
        unattended = UNATTENDED_SCOPE_BY_ACTION.get(action)
        return write is not None and unattended is not None and {write, unattended} <= self.grants

    @property
    def is_read_only(self) -> bool:
        """True when no write scope is granted: no propose tool may be bound."""
        return not self.write_actions()


# ---- checks ---------------------------------------------------------------------------------


def _checked_id(identity_id: object, *, where: str) -> str:
    if not isinstance(identity_id, str) or not identity_id.strip():
        raise IdentityError(f"{where}: id must be a non-empty string")
    if "*" in identity_id:
        raise IdentityError(f"{where}: id {identity_id!r} is a wildcard; the agent is one named principal")
    if not _ID_PATTERN.fullmatch(identity_id):
        raise IdentityError(
            f"{where}: id {identity_id!r} must be 1-128 letters, digits, '.', '_', '@' or '-' (no spaces)"
        )
    return identity_id


def _refusal(scope: str) -> str | None:
    """Why ``scope`` may never be granted to an agent, or None if it is an allowed scope."""
    lowered = scope.lower()
    # Admin and approval rights first: for "approvals.*" that is the more telling reason.
    if "admin" in lowered:
        return "admin scopes are never granted to an agent"
    parts = re.split(r"[.:/]", lowered)
    if (
        "approv" in lowered
        or parts[0] == "policy"
        or any(part in _APPROVER_ROLE_NAMES or part.endswith("_director") for part in parts)
    ):
        return "approval rights are never granted to an agent; only people approve"
    if "*" in scope:
        return "wildcards are never granted; grant scopes one at a time"
    if scope not in ALLOWED_SCOPES:
        return f"unknown scope; allowed scopes: {', '.join(sorted(ALLOWED_SCOPES))}"
    return None


def _check_grants(grants: Collection[object], *, where: str) -> None:
    for scope in grants:
        if not isinstance(scope, str) or not scope.strip():
            raise IdentityError(f"{where} grants {scope!r}: a scope must be a non-empty string")
        reason = _refusal(scope)
        if reason is not None:
            raise IdentityError(f"{where} grants {scope!r}: {reason}")
    for scope in grants:
        # Already known to be strings by the loop above.
        if isinstance(scope, str) and scope.endswith(UNATTENDED_SUFFIX):
            write = scope.removesuffix(UNATTENDED_SUFFIX)
            if write not in grants:
                raise IdentityError(f"{where} grants {scope!r} without {write!r}; grant the write scope too")


# ---- loading --------------------------------------------------------------------------------


def _identity(key: str, entry: object, origin: str) -> AgentIdentity:
    where = f"{origin}: identity {key!r}"
    if not isinstance(entry, Mapping):
        raise IdentityError(f"{where} must be a table [identities.{key}]")
    unknown = sorted(set(entry) - {"id", "display_name", "grants"})
    if unknown:
        raise IdentityError(f"{where} has unknown keys {unknown}; allowed: id, display_name, grants")
    identity_id = _checked_id(entry.get("id"), where=where)
    display_name = entry.get("display_name", identity_id)
    if not isinstance(display_name, str) or not display_name.strip():
        raise IdentityError(f"{where}: display_name must be a non-empty string")
    if "grants" not in entry:
        raise IdentityError(f"{where} has no grants; write grants = [] for a principal with no access")
    grants = entry["grants"]
    if not isinstance(grants, list):
        raise IdentityError(f"{where}: grants must be a list of scopes")
    _check_grants(grants, where=f"{where} ({identity_id})")
    return AgentIdentity(id=identity_id, display_name=display_name, grants=frozenset(grants))


def parse_identities(
    text: str, origin: str, human_ids: frozenset[str] = frozenset()
) -> dict[str, AgentIdentity]:
    """Identities by key (``agent``, optionally ``mcp`` and ``reconciler``) from TOML text; raises IdentityError.

    ``origin`` names the file in messages. ``human_ids`` are the people's ids: no identity may
    use one, so nothing the agent does can ever be taken for a person's act.
    """
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IdentityError(f"{origin}: not valid TOML: {exc}") from None
    unknown_top = sorted(set(data) - {"identities"})
    if unknown_top:
        raise IdentityError(f"{origin}: unknown top-level keys {unknown_top}; expected [identities.<key>]")
    table = data.get("identities", {})
    if not isinstance(table, dict):
        raise IdentityError(f"{origin}: 'identities' must be a table of [identities.<key>]")
    unknown_keys = sorted(set(table) - set(IDENTITY_KEYS))
    if unknown_keys:
        raise IdentityError(f"{origin}: unknown identities {unknown_keys}; known: {', '.join(IDENTITY_KEYS)}")
    for key in REQUIRED_IDENTITY_KEYS:
        if key not in table:
            raise IdentityError(f"{origin}: no [identities.{key}] table; the {key} needs its own identity")

    identities = {key: _identity(key, entry, origin) for key, entry in table.items()}

    # Case-insensitive, because "Alice" and "alice" would read as the same person in an audit trail.
    humans = {human.casefold() for human in human_ids}
    seen: dict[str, str] = {}
    for key, identity in identities.items():
        folded = identity.id.casefold()
        if folded in humans:
            raise IdentityError(
                f"{origin}: identity {key!r} uses id {identity.id!r}, which is a person's; "
                "an agent never acts under a human's identity"
            )
        if folded in seen:
            raise IdentityError(
                f"{origin}: identities {seen[folded]!r} and {key!r} share id {identity.id!r}; "
                "each principal needs its own id"
            )
        seen[folded] = key
    return identities


def load_identities(path: Path | None, human_ids: frozenset[str] = frozenset()) -> dict[str, AgentIdentity]:
    """Identities from ``path``, or the bundled demo file ``agent/config/identities.toml``."""
    if path is None:
        # Read as package data rather than a path so it also works from an installed wheel.
        text = resources.files("agent").joinpath(DEMO_IDENTITIES_RESOURCE).read_text(encoding="utf-8")
        return parse_identities(text, f"agent/{DEMO_IDENTITIES_RESOURCE}", human_ids)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IdentityError(f"{path}: identities file not found") from None
    return parse_identities(text, str(path), human_ids)
