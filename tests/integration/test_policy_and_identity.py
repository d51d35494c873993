"""Identity, grants and the approval policy through the real service (legacy ERP on SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from agent.approvals import Proposal
from agent.service import AgentService, Refused, build_service
from agent.settings import Settings
from tests.conftest import run_cli
from tools.identity import IdentityError

pytestmark = pytest.mark.integration

READS = [
    "erp.read.customers", "erp.read.suppliers", "erp.read.products", "erp.read.stock",
    "erp.read.sales_orders", "erp.read.purchase_orders", "erp.read.budgets", "erp.read.accounts",
]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def identities_file(tmp_path: Path, agent_grants: list[str]) -> Path:
    path = tmp_path / "identities.toml"
    quoted = ", ".join(f'"{g}"' for g in agent_grants)
    path.write_text(
        f'[identities.agent]\nid = "countersign-agent"\ndisplay_name = "Test agent"\ngrants = [{quoted}]\n'
    )
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(settings: Settings, clock: Clock) -> Iterator[AgentService]:
    service = build_service(settings, now=clock)
    yield service
    service.close()


def purchase(service: AgentService, quantity: int, user: str = "alice") -> Proposal:
    args = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": quantity}],
    }
    proposal = service.call_tool("propose_purchase_order", args, user)
    assert isinstance(proposal, Proposal)
    return proposal


def test_a_small_purchase_order_needs_one_approver_under_the_default_rule(svc: AgentService) -> None:
    proposal = purchase(svc, 40)  # BRL 34.00
    assert proposal.gate["rule"] == "create_purchase_order:default"
    assert proposal.gate["approvals_required"] == 1
    committed = svc.decide(proposal.id, "bob", "approve")
    assert committed.status == "committed"
    assert (committed.approvals[0].policy_version, committed.approvals[0].rule) == (
        "2026.11.1",
        "create_purchase_order:default",
    )


def test_a_purchase_order_over_ten_thousand_needs_two_distinct_approvers(svc: AgentService) -> None:
    proposal = purchase(svc, 15000)  # BRL 12,750.00
    assert proposal.gate["rule"] == "po-over-10k"

    first = svc.decide(proposal.id, "bob", "approve")
    assert first.status == "pending"
    assert first.receipt is None
    with pytest.raises(Refused, match="bob already approved this"):
        svc.decide(proposal.id, "bob", "approve")
    second = svc.decide(proposal.id, "carol", "approve")

    assert second.status == "committed"
    assert [d.actor for d in second.approvals] == ["bob", "carol"]
    assert all(d.rule == "po-over-10k" for d in second.approvals)


def test_a_purchase_order_over_fifty_thousand_needs_a_finance_director_among_its_approvers(
    svc: AgentService,
) -> None:
    proposal = purchase(svc, 60000)  # BRL 51,000.00
    assert proposal.gate["rule"] == "po-over-50k"
    svc.decide(proposal.id, "bob", "approve")
    with pytest.raises(Refused, match="finance_director"):
        svc.decide(proposal.id, "carol", "approve")
    assert svc.decide(proposal.id, "erin", "approve").status == "committed"


def test_a_large_credit_limit_can_only_be_approved_by_a_finance_director(svc: AgentService) -> None:
    proposal = svc.call_tool(
        "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": 150000}, "alice"
    )
    assert isinstance(proposal, Proposal)
    with pytest.raises(Refused, match="finance_director"):
        svc.decide(proposal.id, "bob", "approve")
    assert svc.decide(proposal.id, "erin", "approve").status == "committed"


def test_the_agent_itself_can_never_approve(svc: AgentService) -> None:
    proposal = purchase(svc, 40)
    with pytest.raises(Exception, match="unknown user 'countersign-agent'"):
        svc.decide(proposal.id, "countersign-agent", "approve")
    assert svc.proposal(proposal.id).status == "pending"


def test_a_proposal_pending_past_its_limit_expires_and_the_agent_tells_the_requester(
    svc: AgentService, clock: Clock
) -> None:
    result = svc.chat("alice", "order 40 hex bolts M8 from Fastenal")
    proposal = result.proposals[0]
    clock.now += timedelta(hours=71)
    assert svc.expire_overdue() == []

    clock.now += timedelta(hours=2)
    [expired] = svc.expire_overdue()

    assert expired.status == "expired"
    assert expired.approvals[-1].actor == "system:expiry"
    reply = str(svc.messages(result.thread_id)[-1].content).lower()
    assert "expired" in reply
    with pytest.raises(Exception, match="expired before anyone decided"):
        svc.decide(proposal.id, "bob", "approve")
    assert svc.gateway.receipt_for(proposal.idempotency_key) is None


def test_an_approval_after_the_limit_is_refused_and_expires_the_proposal(
    svc: AgentService, clock: Clock
) -> None:
    proposal = purchase(svc, 40)
    clock.now += timedelta(hours=80)
    with pytest.raises(Refused, match="expired"):
        svc.decide(proposal.id, "bob", "approve")
    assert svc.proposal(proposal.id).status == "expired"


def test_an_overdue_proposal_is_flagged_and_escalated_to_the_configured_role(
    svc: AgentService, clock: Clock
) -> None:
    proposal = purchase(svc, 40)
    assert svc.attention(proposal) is None
    clock.now += timedelta(hours=25)
    assert "escalated to finance_director" in (svc.attention(svc.proposal(proposal.id)) or "")
    assert [p.id for p in svc.escalations("erin")] == [proposal.id]
    assert svc.escalations("bob") == []


def test_with_no_write_grants_the_agent_is_read_only_and_says_so(data_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=data_dir, identities_file=identities_file(tmp_path, READS))
    service = build_service(settings)
    try:
        assert service.agent.is_read_only
        result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")
        assert result.proposals == []
        assert "read-only" in result.reply.lower()
        tools_shown = {t.name for t in service.tool_specs()}
        assert not any(name.startswith("propose_") for name in tools_shown)
        with pytest.raises(Exception, match=r"not granted erp\.write\.purchase_order"):
            purchase(service, 40)
        assert [e.kind for e in service.security.recent()] == ["access_denied"]
    finally:
        service.close()


def test_writes_are_granted_one_action_at_a_time(data_dir: Path, tmp_path: Path) -> None:
    grants = [*READS, "erp.write.credit_limit"]
    service = build_service(Settings(data_dir=data_dir, identities_file=identities_file(tmp_path, grants)))
    try:
        assert service.agent.write_actions() == ["change_credit_limit"]
        assert {t.name for t in service.tool_specs() if t.kind == "propose"} == {
            "propose_credit_limit_change"
        }
        filed = service.call_tool(
            "propose_credit_limit_change", {"customer_code": "C00001", "new_limit": 60000}, "alice"
        )
        assert isinstance(filed, Proposal)
        with pytest.raises(Exception, match="not granted"):
            purchase(service, 40)
    finally:
        service.close()


@pytest.mark.parametrize(
    ("grant", "says"),
    [
        ("erp.write.*", "wildcard"),
        ("*", "wildcard"),
        ("admin", "admin"),
        ("erp.approve.purchase_order", "approv"),
        ("approver", "approv"),
    ],
)
def test_a_configuration_granting_too_much_fails_at_start_with_a_clear_message(
    data_dir: Path, tmp_path: Path, grant: str, says: str
) -> None:
    settings = Settings(data_dir=data_dir, identities_file=identities_file(tmp_path, [*READS, grant]))
    with pytest.raises(IdentityError, match=says) as refused:
        build_service(settings)
    assert "\n" not in str(refused.value)


def test_the_cli_refuses_to_start_on_a_wildcard_grant_with_one_line(data_dir: Path, tmp_path: Path) -> None:
    path = identities_file(tmp_path, [*READS, "erp.write.*"])
    result = run_cli(data_dir, "grants", env={"COUNTERSIGN_IDENTITIES_FILE": str(path)})
    assert result.returncode == 1
    assert "wildcards are never granted" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_agent_identity_may_not_share_a_human_id(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "identities.toml"
    path.write_text(
        '[identities.agent]\nid = "bob"\ndisplay_name = "Impostor"\ngrants = ["erp.read.stock"]\n'
    )
    with pytest.raises(IdentityError, match="human"):
        build_service(Settings(data_dir=data_dir, identities_file=path))


def auto_price_setup(data_dir: Path, tmp_path: Path, *, unattended: bool) -> Settings:
    grants = [*READS, "erp.write.price", "erp.write.purchase_order"]
    if unattended:
        grants.append("erp.write.price.unattended")
    return Settings(data_dir=data_dir, identities_file=identities_file(tmp_path, grants))


def maker_checker_to_auto(service: AgentService) -> None:
    change = service.propose_policy_change(
        "bob", "change_price", "auto", "98% of price changes approved as proposed"
    )
    with pytest.raises(Refused, match="maker-checker"):
        service.decide_policy_change(change.id, "bob", approve=True)
    with pytest.raises(Refused, match="finance_director"):
        service.decide_policy_change(change.id, "carol", approve=True)
    approved = service.decide_policy_change(change.id, "erin", approve=True)
    assert (approved.status, approved.checker) == ("approved", "erin")


def price_change(service: AgentService) -> Proposal:
    filed = service.call_tool(
        "propose_price_change", {"product_code": "HB-M8-40", "new_price": "1.45"}, "alice"
    )
    assert isinstance(filed, Proposal)
    return filed


def test_moving_an_action_to_automatic_takes_a_second_person_and_then_commits_without_an_inbox(
    data_dir: Path, tmp_path: Path
) -> None:
    service = build_service(auto_price_setup(data_dir, tmp_path, unattended=True))
    try:
        assert price_change(service).status == "pending"  # the file says human
        maker_checker_to_auto(service)
        assert service.policy().version.startswith("2026.11.1+pc-")

        auto = price_change(service)

        assert auto.status == "committed"
        assert auto.approvals[0].actor == "policy:auto"
        assert auto.approvals[0].policy_version == service.policy().version
        assert service.erp.get_product("HB-M8-40").list_price.amount == Decimal("1.45")
    finally:
        service.close()


def test_an_automatic_policy_does_not_run_where_the_grant_does_not_allow_it(
    data_dir: Path, tmp_path: Path
) -> None:
    service = build_service(auto_price_setup(data_dir, tmp_path, unattended=False))
    try:
        maker_checker_to_auto(service)
        assert price_change(service).status == "pending"
    finally:
        service.close()


def test_policy_suggest_reports_the_evidence_per_action(svc: AgentService) -> None:
    for _ in range(3):
        svc.decide(purchase(svc, 40).id, "bob", "approve")
    svc.decide(purchase(svc, 40).id, "bob", "reject", reason="not needed")
    suggestions = {s.action: s for s in svc.suggestions()}
    po = suggestions["create_purchase_order"]
    assert (po.decisions, po.unchanged, po.eligible) == (4, 3, False)
    assert "fewer than the 50 required" in po.reason
    assert svc.outcomes()["create_purchase_order"] == {"approved_unchanged": 3, "rejected": 1}


def test_policy_check_names_the_problem_in_a_bad_file(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    text = Path("agent/config/policy.toml").read_text().replace("approvals = 2", "approvals = 9", 1)
    bad.write_text(text)
    result = run_cli(data_dir, "policy", "check", str(bad))
    assert result.returncode == 1
    assert "approvals" in result.stderr and result.stderr.count("\n") == 1
    good = run_cli(data_dir, "policy", "check", "agent/config/policy.toml")
    assert good.returncode == 0 and "valid policy version 2026.11.1" in good.stdout
