from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agent.approvals import AlreadyDecided, Evidence, Proposal, ProposalNotFound, ProposalStore
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


def test_a_claim_records_the_decision_and_moves_the_status(store: ProposalStore) -> None:
    proposal = file(store)
    decided = store.claim(proposal.id, actor="bob", decision="reject", reason="too expensive")
    assert decided.status == "rejected"
    assert [(d.actor, d.decision, d.reason) for d in decided.approvals] == [
        ("bob", "reject", "too expensive")
    ]


def test_an_edit_claim_stores_the_new_payload_and_fingerprint_in_the_same_step(store: ProposalStore) -> None:
    proposal = file(store)
    payload = {**proposal.payload, "new_price": "1.50"}
    decided = store.claim(
        proposal.id,
        actor="bob",
        decision="edit",
        edits={"new_price": "1.50"},
        new_payload=payload,
        new_fingerprint="fp-2",
    )
    assert (decided.status, decided.payload["new_price"], decided.fingerprint) == ("approved", "1.50", "fp-2")


def test_only_one_of_many_concurrent_claims_wins(store: ProposalStore) -> None:
    proposal = file(store)
    wins: list[str] = []
    losses: list[str] = []
    barrier = threading.Barrier(16)

    def claim(actor: str) -> None:
        barrier.wait()
        try:
            store.claim(proposal.id, actor=actor, decision="approve")
            wins.append(actor)
        except AlreadyDecided as exc:
            losses.append(str(exc))

    threads = [threading.Thread(target=claim, args=(f"approver-{i}",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(wins) == 1
    assert len(losses) == 15
    assert all(f"already decided by {wins[0]}" in loss for loss in losses)
    assert len(store.get(proposal.id).approvals) == 1


def test_claiming_an_unknown_proposal_says_so(store: ProposalStore) -> None:
    with pytest.raises(ProposalNotFound):
        store.claim("P-missing", actor="bob", decision="approve")


def test_marking_respects_the_allowed_previous_statuses(store: ProposalStore) -> None:
    proposal = file(store)
    assert not store.mark(proposal.id, "committing", only_from=("approved",))
    store.claim(proposal.id, actor="bob", decision="approve")
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
