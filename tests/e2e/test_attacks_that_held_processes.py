"""The process attacks that held on the embedded defaults, kept as tests: ``approve`` and ``worker``
processes killed with SIGKILL at every stage of the write path, approver processes racing on one
proposal, two workers on one data directory, and the embedded queue's file deleted mid-flight.
Each ends with exactly one ERP document per approval, the requester told once.

Every process is a real ``countersign`` process forked from one warm parent
(``tests/support/forked_cli.py``: a dozen cold starts would cost minutes of CPU); a stage kill is
a real SIGKILL sent when the write path reaches the named stage, never after a sleep. The index of
every attack class and the tests that keep it refused is ``tests/integration/test_attacks_that_held.py``.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from agent.approvals import Proposal
from agent.service import AgentService, build_service
from agent.settings import Settings
from tests.conftest import cli_env
from tests.support.forked_cli import DECIDING, STAGES, ForkedCli
from tests.support.scale_out import events_file_all_disabled

pytestmark = pytest.mark.e2e

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}
KILLED = -signal.SIGKILL


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkedCli]:
    with ForkedCli(tmp_path_factory.mktemp("forked-cli")) as parent:
        yield parent


@pytest.fixture
def open_service(data_dir: Path) -> Iterator[Callable[..., AgentService]]:
    """This test's own view of the installation (another process than the ones killed)."""
    opened: list[AgentService] = []

    def open_(**overrides: Any) -> AgentService:
        service = build_service(Settings(data_dir=data_dir, model="offline", **overrides))
        opened.append(service)
        return service

    yield open_
    for service in opened:
        service.close()


def file_purchase_order(service: AgentService, quantity: int = 40) -> Proposal:
    args = {**PO_ARGS, "lines": [{"product_code": "HB-M8-40", "quantity": quantity}]}
    proposal = service.call_tool("propose_purchase_order", args, "alice")
    assert isinstance(proposal, Proposal) and proposal.status == "pending"
    return proposal


def documents(service: AgentService, key: str) -> list[str]:
    """The ERP's purchase orders that carry ``key`` (one per document)."""
    return [po.number for po in service.erp.list_purchase_orders(limit=1000) if po.reference == key]


def assert_landed_once_and_told(service: AgentService, proposal: Proposal) -> None:
    final = service.proposal(proposal.id)
    assert final.status == "committed" and final.receipt is not None, final
    assert documents(service, proposal.idempotency_key) == [final.receipt["document_id"]]
    assert [r.idempotency_key for r in service.erp.ledger()].count(proposal.idempotency_key) == 1
    # Every commit record names that one document; a write sent again after a crash is answered
    # from the ERP's ledger and recorded as replayed, never as a second first-hand write.
    commits = [r.result or {} for r in service.audit_search(proposal_id=proposal.id) if r.type == "commit"]
    assert commits and {c["document_id"] for c in commits} == {final.receipt["document_id"]}
    assert sum(1 for c in commits if not c["replayed"]) <= 1
    untold = service.store.list_by_status(("committed",), untold=True)
    assert proposal.id not in {p.id for p in untold}
    told = [m for m in service.messages(proposal.thread_id) if isinstance(m, ToolMessage)]
    assert final.receipt["document_id"] in str(told[-1].content)
    assert service.waiting_for(proposal.thread_id, "alice") is None


def worker_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Separate workers write; the ERP's business events start no agent runs (no other work)."""
    events = events_file_all_disabled(data_dir.parent / "events.toml")
    return cli_env(data_dir, COUNTERSIGN_WORKERS="external", COUNTERSIGN_EVENTS_FILE=str(events), **extra)


def poll(what: str, ready: Callable[[], bool], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {seconds:g} s")
        time.sleep(0.05)


@pytest.mark.parametrize("stage", STAGES)
def test_an_approve_process_killed_at_each_stage_leaves_one_document_after_recover(
    forked: ForkedCli, data_dir: Path, open_service: Callable[..., AgentService], stage: str
) -> None:
    service = open_service()
    proposal = file_purchase_order(service)
    env = cli_env(data_dir)

    killed = forked.run(env, "approve", proposal.id, "--user", "bob", stage=stage)

    assert killed.code == KILLED, killed.stderr
    landed = documents(service, proposal.idempotency_key)
    assert len(landed) == (1 if STAGES.index(stage) >= STAGES.index("erp_written") else 0)
    assert service.proposal(proposal.id).status in ("approved", "committing", "committed")

    recovered = forked.run(env, "recover", "--json")

    assert recovered.code == 0, recovered.stderr
    assert [p["id"] for p in json.loads(recovered.stdout)] == [proposal.id]
    assert_landed_once_and_told(service, proposal)
    # Recovering again finds nothing left to do and writes nothing.
    assert service.recover() == [] and len(documents(service, proposal.idempotency_key)) == 1


def test_an_approve_process_killed_inside_the_decision_transaction_leaves_the_proposal_pending(
    forked: ForkedCli, data_dir: Path, open_service: Callable[..., AgentService]
) -> None:
    service = open_service()
    proposal = file_purchase_order(service)
    env = cli_env(data_dir)

    killed = forked.run(env, "approve", proposal.id, "--user", "bob", stage=DECIDING)

    assert killed.code == KILLED, killed.stderr
    after = service.proposal(proposal.id)
    assert (after.status, after.approvals) == ("pending", [])  # nothing of the decision survived
    assert not service.outbox.has_subject(proposal.id)
    assert service.recover() == [] and documents(service, proposal.idempotency_key) == []
    approved = forked.run(env, "approve", proposal.id, "--user", "carol", "--json")
    assert approved.code == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "committed"
    assert_landed_once_and_told(service, proposal)


@pytest.mark.parametrize("stage", STAGES)
def test_a_worker_killed_at_each_stage_leaves_one_document_once_a_worker_runs_again(
    forked: ForkedCli, data_dir: Path, open_service: Callable[..., AgentService], stage: str
) -> None:
    service = open_service(workers="external")
    proposal = file_purchase_order(service)
    assert service.decide(proposal.id, "bob", "approve").status == "approved"  # queued, not written
    # A command a killed worker took is lost to the embedded queue; the outbox sends it again once
    # it is overdue: at once here instead of after five minutes, so the restart needs no waiting.
    env = worker_env(data_dir, COUNTERSIGN_OUTBOX_REDELIVER_AFTER_SECONDS="0.001")

    killed = forked.spawn(env, "worker", stage=stage)

    assert killed.wait(120) == KILLED, killed.stderr
    assert len(documents(service, proposal.idempotency_key)) <= 1

    restarted = forked.run(env, "worker", "--once")

    assert restarted.code == 0, restarted.stderr
    assert service.proposal(proposal.id).status == "committed"
    # A crash after the result was recorded leaves the run untold: `recover` tells it.
    service.recover()
    assert_landed_once_and_told(service, proposal)


def test_six_approver_processes_racing_on_one_proposal_record_one_decision_and_one_document(
    forked: ForkedCli, data_dir: Path, open_service: Callable[..., AgentService]
) -> None:
    service = open_service()
    proposal = file_purchase_order(service)
    env = cli_env(data_dir)

    racers = [
        forked.spawn(env, "approve", proposal.id, "--user", approver)
        for approver in ("bob", "carol", "erin", "bob", "carol", "erin")
    ]
    codes = [racer.wait(120) for racer in racers]

    assert codes.count(0) == 1, [r.stderr for r in racers]
    losers = [r.stderr for r in racers if r.code != 0]
    assert all(r.code == 1 for r in racers if r.code != 0)
    assert all(err.startswith("error: ") and "already" in err and err.count("\n") == 1 for err in losers)
    final = service.proposal(proposal.id)
    assert len(final.approvals) == 1 and final.approvals[0].decision == "approve"
    assert_landed_once_and_told(service, proposal)


def test_two_worker_processes_on_one_data_directory_write_each_approval_once(
    forked: ForkedCli, data_dir: Path, open_service: Callable[..., AgentService]
) -> None:
    service = open_service(workers="external")
    filed = [file_purchase_order(service, quantity=40 + n) for n in range(6)]
    env = worker_env(data_dir)
    workers = [forked.spawn(env, "worker") for _ in range(2)]
    try:
        for worker in workers:
            poll("the worker started", lambda w=worker: "worker (all) on " in w.stdout)  # type: ignore[misc]
        for proposal in filed:  # every approval lands while both workers race for it
            service.decide(proposal.id, "bob", "approve")
        poll(
            "both workers finished every write",
            lambda: all(service.proposal(p.id).status == "committed" for p in filed),
        )
        poll("every requester told", lambda: not service.store.list_by_status(("committed",), untold=True))
    finally:
        for worker in workers:
            worker.signal(signal.SIGTERM)
    assert [worker.wait(60) for worker in workers] == [0, 0], [w.stderr for w in workers]
    for proposal in filed:
        assert_landed_once_and_told(service, proposal)


@pytest.mark.parametrize("stage", ["published", "result_published"])
def test_the_embedded_queue_file_deleted_mid_flight_doubles_nothing_and_the_write_lands_after_recover(
    forked: ForkedCli, data_dir: Path, open_service: Callable[..., AgentService], stage: str
) -> None:
    service = open_service()
    proposal = file_purchase_order(service)
    env = cli_env(data_dir)
    killed = forked.run(env, "approve", proposal.id, "--user", "bob", stage=stage)
    assert killed.code == KILLED, killed.stderr
    queue_files = sorted(data_dir.glob("queue.db*"))
    assert queue_files, "the embedded queue keeps its messages in data_dir/queue.db"

    for path in queue_files:  # the message in flight goes with the file
        path.unlink()
    recovered = forked.run(env, "recover", "--json")

    assert recovered.code == 0, recovered.stderr
    assert [p["status"] for p in json.loads(recovered.stdout)] == ["committed"]
    assert_landed_once_and_told(service, proposal)
    assert service.proposal(proposal.id).receipt["replayed"] is (stage == "result_published")  # type: ignore[index]
