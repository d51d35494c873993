from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from agent.approvals import (
    AlreadyDecided,
    Decision,
    Evidence,
    Proposal,
    ProposalChanged,
    ProposalNotFound,
    ProposalStore,
)
from agent.db import make_engine


@pytest.fixture
def store(tmp_path: Path) -> ProposalStore:
    created = ProposalStore(make_engine(f"sqlite:///{tmp_path / 'app.db'}"))
    created.create_schema()
    return created


def file(store: ProposalStore, call: str = "call-1", key: str = "key-1") -> Proposal:
    return store.create(
        thread_id="T-1",
        tool_call_id=call,
        action="change_price",
        summary="Change list price of product HB-M8-40 to 1.55",
        payload={"action": "change_price", "product_code": "HB-M8-40", "new_price": "1.55"},
        idempotency_key=key,
        fingerprint="fp-1",
        requester="alice",
        evidence=[Evidence(tool="get_product", args={"product_code": "HB-M8-40"}, digest="d1")],
        gate={"policy_version": "test-1", "rule": "change_price:default"},
    )


def test_a_new_proposal_is_pending_with_its_evidence(store: ProposalStore) -> None:
    proposal = file(store)
    assert proposal.status == "pending"
    assert proposal.evidence[0].tool == "get_product"
    assert proposal.approvals == [] and proposal.receipt is None
    assert store.list(status="pending") == [proposal]


def test_filing_the_same_tool_call_twice_returns_the_first_proposal(store: ProposalStore) -> None:
    first = file(store)
    again = file(store, key="key-made-on-a-rerun")
    assert again.id == first.id
    assert again.idempotency_key == "key-1"
    assert len(store.list()) == 1


def distinct_approvers(need: int) -> Callable[[Proposal, Sequence[Decision]], bool]:
    return lambda _proposal, approvals: len({a.actor for a in approvals}) >= need


def not_twice(current: Proposal, actor: str) -> None:
    if actor in {d.actor for d in current.current_approvals()}:
        raise PermissionError(f"{actor} already approved")


def decide(
    store: ProposalStore, proposal_id: str, actor: str, decision: str = "approve", need: int = 1, **extra: Any
) -> Proposal:
    return store.decide(
        proposal_id,
        actor=actor,
        decision=decision,  # type: ignore[arg-type]
        check=lambda current: not_twice(current, actor),
        satisfied=distinct_approvers(need),
        **extra,
    )


def test_a_rejection_records_the_decision_with_its_policy_version_and_rule(store: ProposalStore) -> None:
    proposal = file(store)
    decided = decide(store, proposal.id, "bob", "reject", reason="too expensive")
    assert decided.status == "rejected"
    [decision] = decided.approvals
    assert (decision.actor, decision.decision, decision.reason) == ("bob", "reject", "too expensive")
    assert (decision.policy_version, decision.rule) == ("test-1", "change_price:default")


def test_a_two_approver_gate_stays_pending_after_the_first_approval(store: ProposalStore) -> None:
    proposal = file(store)
    first = decide(store, proposal.id, "bob", need=2)
    assert first.status == "pending"
    assert [d.actor for d in first.current_approvals()] == ["bob"]
    second = decide(store, proposal.id, "carol", need=2)
    assert second.status == "approved"


def test_the_check_runs_inside_the_transaction_and_refuses_a_second_approval_by_one_person(
    store: ProposalStore,
) -> None:
    proposal = file(store)
    decide(store, proposal.id, "bob", need=2)
    with pytest.raises(PermissionError, match="already approved"):
        decide(store, proposal.id, "bob", need=2)
    assert len(store.get(proposal.id).approvals) == 1


def test_an_edit_within_tolerance_replaces_the_payload_and_counts_as_an_approval(
    store: ProposalStore,
) -> None:
    proposal = file(store)
    payload = {**proposal.payload, "new_price": "1.56"}
    decided = decide(
        store,
        proposal.id,
        "bob",
        "edit",
        edits={"new_price": "1.56"},
        new_payload=payload,
        new_fingerprint="fp-2",
        new_summary="Change list price of product HB-M8-40 to 1.56",
    )
    assert (decided.status, decided.payload["new_price"], decided.fingerprint) == ("approved", "1.56", "fp-2")
    assert decided.summary == "Change list price of product HB-M8-40 to 1.56"
    assert decided.revision == 1  # every edit starts a new revision


def test_an_edit_within_tolerance_voids_the_approvals_given_before_it(store: ProposalStore) -> None:
    proposal = file(store)
    decide(store, proposal.id, "bob", need=2)
    payload = {**proposal.payload, "new_price": "1.56"}
    edited = decide(store, proposal.id, "carol", "edit", need=2, new_payload=payload, new_fingerprint="fp-2")
    assert edited.status == "pending"
    assert [d.actor for d in edited.current_approvals()] == ["carol"]
    assert decide(store, proposal.id, "bob", need=2).status == "approved"


def test_a_decision_on_a_revision_edited_since_it_was_seen_is_refused(store: ProposalStore) -> None:
    proposal = file(store)
    payload = {**proposal.payload, "new_price": "1.56"}
    decide(store, proposal.id, "carol", "edit", need=2, new_payload=payload, new_fingerprint="fp-2")
    with pytest.raises(ProposalChanged, match="edited after you looked at it"):
        decide(store, proposal.id, "bob", need=2, seen_revision=proposal.revision)
    assert [d.actor for d in store.get(proposal.id).approvals] == ["carol"]


def test_a_revision_resets_the_approvals_the_old_payload_had(store: ProposalStore) -> None:
    proposal = file(store)
    decide(store, proposal.id, "bob", need=2)
    payload = {**proposal.payload, "new_price": "1.95"}
    revised = decide(
        store,
        proposal.id,
        "carol",
        "revise",
        need=2,
        new_payload=payload,
        new_fingerprint="fp-3",
        reason="price",
    )
    assert revised.status == "pending"
    assert revised.revision == 1
    assert revised.current_approvals() == []
    decide(store, proposal.id, "bob", need=2)
    assert decide(store, proposal.id, "dave", need=2).status == "approved"


def test_only_one_of_many_concurrent_deciders_completes_the_gate(store: ProposalStore) -> None:
    proposal = file(store)
    wins: list[str] = []
    losses: list[str] = []
    barrier = threading.Barrier(16)

    def approve(actor: str) -> None:
        barrier.wait()
        try:
            decide(store, proposal.id, actor)
            wins.append(actor)
        except AlreadyDecided as exc:
            losses.append(str(exc))

    threads = [threading.Thread(target=approve, args=(f"approver-{i}",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(wins) == 1
    assert len(losses) == 15
    assert all(f"already approved by {wins[0]}" in loss for loss in losses)
    assert len(store.get(proposal.id).approvals) == 1


def test_deciding_an_unknown_proposal_says_so(store: ProposalStore) -> None:
    with pytest.raises(ProposalNotFound):
        decide(store, "P-missing", "bob")


def test_marking_respects_the_allowed_previous_statuses(store: ProposalStore) -> None:
    proposal = file(store)
    assert not store.mark(proposal.id, "committing", only_from=("approved",))
    decide(store, proposal.id, "bob")
    assert store.mark(proposal.id, "committing", only_from=("approved",))
    assert store.get(proposal.id).status == "committing"


def test_the_json_shape_has_the_documented_keys(store: ProposalStore) -> None:
    data = file(store).as_json()
    assert set(data) >= {
        "id",
        "thread_id",
        "action",
        "status",
        "payload",
        "idempotency_key",
        "fingerprint",
        "requester",
        "approvals",
        "receipt",
    }
