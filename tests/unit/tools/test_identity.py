from __future__ import annotations

from pathlib import Path

import pytest

from erp_acl.commands import ACTIONS
from tools.catalog import ALL_TOOLS, PROPOSE_TOOLS, READ_TOOLS
from tools.identity import (
    ACTION_BY_WRITE_SCOPE,
    ALLOWED_SCOPES,
    READ_SCOPES,
    TOOL_SCOPES,
    UNATTENDED_SCOPE_BY_ACTION,
    WRITE_SCOPE_BY_ACTION,
    AgentIdentity,
    IdentityError,
    load_identities,
    parse_identities,
)

HUMANS = frozenset({"alice", "bob", "carol", "dave"})


def _file(*grants: str, agent_id: str = "countersign-agent", extra: str = "") -> str:
    listed = ", ".join(f'"{g}"' for g in grants)
    return f'[identities.agent]\nid = "{agent_id}"\ndisplay_name = "Assistant"\ngrants = [{listed}]\n{extra}'


def _refusal(text: str, human_ids: frozenset[str] = frozenset()) -> str:
    with pytest.raises(IdentityError) as refused:
        parse_identities(text, "conf/identities.toml", human_ids)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("conf/identities.toml: ")
    return message


# ---- scopes ---------------------------------------------------------------------------------


def test_every_catalog_tool_has_a_scope_and_no_scope_names_a_missing_tool() -> None:
    assert set(TOOL_SCOPES) == {tool.name for tool in ALL_TOOLS}
    assert set(TOOL_SCOPES.values()) <= ALLOWED_SCOPES


def test_read_tools_need_a_read_scope_and_propose_tools_the_write_scope_of_their_action() -> None:
    for tool in READ_TOOLS:
        assert TOOL_SCOPES[tool.name] in READ_SCOPES
    for propose in PROPOSE_TOOLS:
        assert TOOL_SCOPES[propose.name] == WRITE_SCOPE_BY_ACTION[propose.action]


def test_there_is_exactly_one_write_scope_per_erp_action() -> None:
    assert sorted(WRITE_SCOPE_BY_ACTION) == sorted(ACTIONS)
    assert {ACTION_BY_WRITE_SCOPE[scope]: scope for scope in ACTION_BY_WRITE_SCOPE} == WRITE_SCOPE_BY_ACTION
    assert UNATTENDED_SCOPE_BY_ACTION["change_price"] == "erp.write.price.unattended"


def test_every_read_domain_is_used_by_some_tool() -> None:
    assert set(READ_SCOPES) == {TOOL_SCOPES[tool.name] for tool in READ_TOOLS}


# ---- the identity ---------------------------------------------------------------------------


def test_an_identity_with_only_read_scopes_is_read_only_and_has_no_propose_tool() -> None:
    reader = AgentIdentity("countersign-agent", "Assistant", frozenset(READ_SCOPES))
    assert reader.is_read_only
    assert reader.write_actions() == []
    assert reader.granted_tools() == [tool.name for tool in READ_TOOLS]
    assert not any(reader.may_use(tool.name) for tool in PROPOSE_TOOLS)


def test_write_grants_are_added_one_action_at_a_time() -> None:
    agent = AgentIdentity("countersign-agent", "Assistant", frozenset({"erp.read.stock", "erp.write.price"}))
    assert not agent.is_read_only
    assert agent.write_actions() == ["change_price"]
    assert agent.granted_tools() == ["check_stock", "propose_price_change"]
    assert agent.may_use("propose_price_change")
    assert not agent.may_use("propose_purchase_order")
    assert not agent.may_use("get_customer")


def test_an_unknown_tool_is_never_allowed() -> None:
    agent = AgentIdentity("countersign-agent", "Assistant", frozenset(ALLOWED_SCOPES))
    assert not agent.may_use("drop_everything")


def test_running_unattended_needs_both_the_write_and_the_unattended_scope() -> None:
    attended = AgentIdentity("countersign-agent", "Assistant", frozenset({"erp.write.price"}))
    unattended = AgentIdentity(
        "countersign-agent", "Assistant", frozenset({"erp.write.price", "erp.write.price.unattended"})
    )
    assert not attended.may_run_unattended("change_price")
    assert unattended.may_run_unattended("change_price")
    assert unattended.allows("erp.write.price.unattended")
    assert not unattended.may_run_unattended("create_purchase_order")
    assert not unattended.may_run_unattended("no_such_action")


def test_an_identity_built_in_code_is_held_to_the_same_rules_as_a_file() -> None:
    with pytest.raises(IdentityError, match="wildcards are never granted"):
        AgentIdentity("countersign-agent", "Assistant", frozenset({"erp.write.*"}))
    with pytest.raises(IdentityError, match=r"without 'erp\.write\.price'"):
        AgentIdentity("countersign-agent", "Assistant", frozenset({"erp.write.price.unattended"}))


# ---- loading --------------------------------------------------------------------------------


def test_the_demo_file_loads_with_an_agent_that_may_propose_its_demo_actions_and_run_none_alone() -> None:
    identities = load_identities(None, HUMANS)
    agent, mcp = identities["agent"], identities["mcp"]
    assert (agent.id, agent.display_name) == ("countersign-agent", "Countersign assistant")
    assert agent.grants >= set(READ_SCOPES)
    # Every action but purchase-order cancellation, which the demo deliberately does not grant.
    assert agent.write_actions() == [a for a in WRITE_SCOPE_BY_ACTION if a != "cancel_purchase_order"]
    assert not agent.may_use("propose_cancel_purchase_order")
    assert not any(agent.may_run_unattended(action) for action in ACTIONS)
    assert (mcp.id, mcp.display_name) == ("countersign-mcp", "Countersign MCP gateway")
    assert mcp.grants == set(READ_SCOPES) | {"erp.write.purchase_order"}


def test_a_file_on_disk_loads_and_a_missing_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "identities.toml"
    path.write_text(_file("erp.read.stock"), encoding="utf-8")
    assert load_identities(path)["agent"].granted_tools() == ["check_stock"]
    with pytest.raises(IdentityError, match=r"nowhere\.toml: identities file not found"):
        load_identities(tmp_path / "nowhere.toml")


def test_an_identity_with_no_write_grants_loads_as_read_only() -> None:
    identities = parse_identities(_file(*READ_SCOPES), "conf/identities.toml")
    assert identities["agent"].is_read_only
    assert "mcp" not in identities


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        ("*", "wildcards are never granted"),
        ("erp.*", "wildcards are never granted"),
        ("erp.write.*", "wildcards are never granted"),
        ("erp.read.*", "wildcards are never granted"),
        ("admin", "admin scopes are never granted"),
        ("erp.admin", "admin scopes are never granted"),
        ("sysadmin.users", "admin scopes are never granted"),
        ("approve", "approval rights are never granted"),
        ("approvals.*", "approval rights are never granted"),
        ("erp.approve.*", "approval rights are never granted"),
        ("erp.approve.purchase_order", "approval rights are never granted"),
        ("policy.edit", "approval rights are never granted"),
        ("approver", "approval rights are never granted"),
        ("finance_director", "approval rights are never granted"),
        ("erp.write.purchase_orders", "unknown scope; allowed scopes: erp.read.accounts"),
        ("erp.read.customer", "unknown scope"),
    ],
)
def test_loading_refuses_a_scope_the_agent_must_never_hold(scope: str, reason: str) -> None:
    message = _refusal(_file("erp.read.stock", scope))
    assert f"identity 'agent' (countersign-agent) grants {scope!r}: {reason}" in message


def test_an_unknown_scope_is_refused_with_the_list_of_allowed_ones() -> None:
    message = _refusal(_file("erp.write.prices"))
    assert all(scope in message for scope in ALLOWED_SCOPES)


def test_an_unattended_scope_without_its_write_scope_is_refused() -> None:
    message = _refusal(_file("erp.write.journal_entry", "erp.write.price.unattended"))
    assert (
        "grants 'erp.write.price.unattended' without 'erp.write.price'; grant the write scope too" in message
    )


def test_an_empty_id_is_refused() -> None:
    assert "identity 'agent': id must be a non-empty string" in _refusal(_file("erp.read.stock", agent_id=""))


def test_a_wildcard_id_is_refused() -> None:
    assert "is a wildcard" in _refusal(_file("erp.read.stock", agent_id="service-*"))


def test_two_identities_with_one_id_are_refused() -> None:
    twin = '[identities.mcp]\nid = "countersign-agent"\ngrants = []\n'
    message = _refusal(_file("erp.read.stock", extra=twin))
    assert "identities 'agent' and 'mcp' share id 'countersign-agent'" in message


def test_an_identity_that_uses_a_persons_id_is_refused() -> None:
    message = _refusal(_file("erp.read.stock", agent_id="Alice"), human_ids=HUMANS)
    assert "identity 'agent' uses id 'Alice', which is a person's" in message


def test_a_file_without_an_agent_identity_is_refused() -> None:
    message = _refusal('[identities.mcp]\nid = "countersign-mcp"\ngrants = []\n')
    assert "no [identities.agent] table" in message


def test_a_misspelt_identity_key_or_field_is_refused() -> None:
    assert "unknown identities ['mpc']" in _refusal(
        _file("erp.read.stock", extra='[identities.mpc]\nid = "x"\ngrants = []\n')
    )
    assert "unknown keys ['grant']" in _refusal('[identities.agent]\nid = "countersign-agent"\ngrant = []\n')
    assert "has no grants" in _refusal('[identities.agent]\nid = "countersign-agent"\n')


def test_a_file_that_is_not_toml_is_refused_with_its_name() -> None:
    assert "not valid TOML" in _refusal("[identities.agent\n")
