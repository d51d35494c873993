"""What the service offers interfaces beyond chat and decide: sign-in, the inbox with its
reasons, evidence read again against the live ERP, audit search and who settled a proposal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.service import AgentService, AlreadyDecided, InboxFilter, Proposal, SignInRefused


def order(service: AgentService, user_id: str = "alice", quantity: int = 400) -> Proposal:
    result = service.chat(user_id, f"order {quantity} hex bolts M8 from Fastenal")
    assert result.proposals, result.reply
    return result.proposals[0]


def test_a_demo_user_signs_in_with_the_password_and_a_stranger_cannot(service: AgentService) -> None:
    assert service.authenticate("bob", "bob-demo").id == "bob"
    with pytest.raises(SignInRefused, match="wrong user name or password"):
        service.authenticate("bob", "alice-demo")
    assert service.user_for_email("ALICE@example.com").id == "alice"
    with pytest.raises(SignInRefused, match="not a Countersign user"):
        service.user_for_email("mallory@example.com")


def test_the_inbox_shows_an_approver_what_they_may_decide_and_on_request_why_not_the_rest(
    service: AgentService,
) -> None:
    alices = order(service, "alice")
    carols = order(service, "carol", quantity=10)

    assert [i.proposal.id for i in service.inbox("bob")] == [alices.id, carols.id]
    assert [i.proposal.id for i in service.inbox("carol")] == [alices.id]
    with_reasons = {
        i.proposal.id: i.blocked for i in service.inbox("carol", InboxFilter(include_blocked=True))
    }
    assert with_reasons == {
        alices.id: None,
        carols.id: "carol requested this; the approver must be someone else (segregation of duties)",
    }
    [item] = service.inbox("bob", InboxFilter(requester="carol"))
    assert item.amount > 0 and "1 approver" in item.requirement and item.approved_by == ()
    assert service.inbox_facets("carol") == (["alice", "carol"], ["create_purchase_order"])


def test_an_inbox_page_loads_only_its_items_whole_and_counts_the_whole_inbox(service: AgentService) -> None:
    first, second, third = (order(service, "alice", quantity=q) for q in (10, 20, 30))
    carols = order(service, "carol", quantity=40)

    page = service.inbox_page("carol", InboxFilter(include_blocked=True), limit=2)

    assert [i.proposal.id for i in page.items] == [first.id, second.id]
    assert (page.total, page.blocked) == (4, 1)
    assert page.items[0].proposal == service.store.get(first.id)  # whole: payload, evidence
    assert page.items[0].proposal.payload["lines"][0]["quantity"] == "10"
    # The outlines behind it carry no payload; nothing but the page is loaded whole.
    assert all(o.payload == {} and o.evidence == [] for o in service.store.pending_outlines())
    whole = service.inbox_page("carol", InboxFilter(include_blocked=True))
    assert [i.proposal.id for i in whole.items] == [first.id, second.id, third.id, carols.id]

    service.decide(first.id, "bob", "approve")
    after = service.inbox_page("carol", limit=2)
    assert [i.proposal.id for i in after.items] == [second.id, third.id] and after.total == 2
    with pytest.raises(ValueError, match="limit must be at least 1"):
        service.inbox_page("carol", limit=0)


def test_a_second_decision_names_who_settled_the_proposal(service: AgentService) -> None:
    proposal = order(service)
    service.decide(proposal.id, "bob", "approve")

    with pytest.raises(
        AlreadyDecided, match=rf"proposal {proposal.id} was already approved by bob \(now committed\)"
    ):
        service.decide(proposal.id, "carol", "approve")

    rejected = order(service, quantity=20)
    service.decide(rejected.id, "carol", "reject", reason="not needed")
    with pytest.raises(AlreadyDecided, match="already rejected by carol"):
        service.decide(rejected.id, "bob", "approve")


def test_evidence_is_read_again_and_changes_since_the_proposal_are_named(service: AgentService) -> None:
    proposal = order(service)
    checks = service.check_evidence(proposal.id, "bob")
    assert [c.tool for c in checks] == [e.tool for e in proposal.evidence]
    assert all(c.unchanged and c.then is not None and not c.changes for c in checks)

    service.erp.record_stock_issue("HB-M8-40", 100, warehouse="01")  # the ERP's own users move on

    stock = next(c for c in service.check_evidence(proposal.id, "bob") if c.tool == "check_stock")
    assert stock.unchanged is False
    changed = {c.path for c in stock.changes}
    assert any("available" in path for path in changed), changed
    reads = service.audit_search(user_id="bob")
    assert any(r.type == "read" and r.tool == "check_stock" for r in reads)  # the re-read is audited


def test_audit_search_filters_by_proposal_user_and_time_newest_first(service: AgentService) -> None:
    proposal = order(service)
    service.decide(proposal.id, "bob", "approve")

    by_proposal = service.audit_search(proposal_id=proposal.id)
    # A proposal's records are its story: the reads it relied on carry no proposal id.
    assert by_proposal == list(reversed(service.story(proposal.id)))
    assert all(r.proposal_id == proposal.id for r in by_proposal if r.type != "read")
    assert [r.seq for r in by_proposal] == sorted((r.seq for r in by_proposal), reverse=True)
    assert {"proposal", "decision", "commit"} <= {r.type for r in by_proposal}
    assert all("bob" in (r.actor, r.on_behalf_of) for r in service.audit_search(user_id="bob"))
    future = datetime.now(UTC) + timedelta(days=1)
    assert service.audit_search(since=future) == []
    assert len(service.audit_search(limit=3)) == 3
