"""Fixtures for the pipeline: a service on the embedded queue or on the real RabbitMQ (a prefix of
its own per test), and quick ways to have many approved writes queued."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agent.approvals import Proposal
from agent.records import decision_event, proposal_event
from agent.service import AgentService, build_service
from agent.settings import Settings
from erp_acl.commands import Command, JournalLineSpec, PostJournalEntry, fingerprint
from tests.integration.messaging.conftest import prefix, rabbit_url  # noqa: F401  (fixtures)

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}

MakeService = Callable[..., AgentService]


@pytest.fixture(params=["embedded", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> str:
    """The queue under test: kombu's SQL transport on SQLite, or the real RabbitMQ."""
    return str(request.param)


@pytest.fixture
def broker_env(broker: str, request: pytest.FixtureRequest, data_dir: Path) -> dict[str, str]:
    """Settings (as environment variables) that put an installation on the broker under test."""
    if broker == "embedded":
        return {}
    url = request.getfixturevalue("rabbit_url")
    return {"COUNTERSIGN_BROKER_URL": url, "COUNTERSIGN_QUEUE_PREFIX": request.getfixturevalue("prefix")}


@pytest.fixture
def make_service(data_dir: Path, broker_env: dict[str, str]) -> Iterator[MakeService]:
    """Build services on one installation and broker (workers external unless told otherwise)."""
    built: list[AgentService] = []

    def make(erp: Any = None, **overrides: Any) -> AgentService:
        values: dict[str, Any] = {"data_dir": data_dir, "model": "offline", "workers": "external"}
        if "COUNTERSIGN_BROKER_URL" in broker_env:
            values["broker_url"] = broker_env["COUNTERSIGN_BROKER_URL"]
            values["queue_prefix"] = broker_env["COUNTERSIGN_QUEUE_PREFIX"]
        values.update(overrides)
        service = build_service(Settings(**values), erp=erp)
        built.append(service)
        return service

    yield make
    for service in built:
        service.close()


def file_purchase_order(service: AgentService, user: str = "alice", quantity: int = 40) -> Proposal:
    args = {**PO_ARGS, "lines": [{"product_code": "HB-M8-40", "quantity": quantity}]}
    proposal = service.call_tool("propose_purchase_order", args, user)
    assert isinstance(proposal, Proposal)
    return proposal


def file_approved(service: AgentService, command: Command, amount: Decimal, *, thread_id: str) -> Proposal:
    """``command`` filed straight into the store (no graph run) and approved by bob, with its
    filing and decision records in the audit trail as the graph and ``decide`` make them (the
    writer writes nothing else); its write is queued."""
    gate = service.policy().gate_for(command.action, amount, now=datetime.now(UTC), unattended_allowed=False)
    proposal = service.store.create(
        thread_id=thread_id,
        tool_call_id="load",
        action=command.action,
        summary=command.summary(),
        payload=command.model_dump(mode="json"),
        idempotency_key=str(uuid.uuid4()),
        fingerprint=fingerprint(command),
        requester="alice",
        evidence=[],
        gate=gate.as_json(),
    )
    filed = {"action": proposal.action, "payload": proposal.payload}
    service.audit.append(
        proposal_event("proposal", proposal, actor=service.agent.id, gate=proposal.gate, details=filed)
    )
    decided = service.store.decide(
        proposal.id,
        actor="bob",
        decision="approve",
        check=lambda _: None,
        satisfied=lambda *_: True,
        on_approved=lambda conn, p: service._enqueue(conn, p, service.agent.id),
    )
    service.audit.append(decision_event(decided, "bob", "approve", None))
    return decided


def approved_journal_entries(service: AgentService, count: int) -> list[Proposal]:
    """``count`` journal entries approved and queued (load for the writer, not a test of the agent)."""
    approved = []
    for n in range(count):
        command = PostJournalEntry(
            entry_date=date(2026, 11, 21),
            description=f"load test entry {n}",
            lines=[
                JournalLineSpec(account_code="5.1.01.001", debit=Decimal("10.00")),
                JournalLineSpec(account_code="1.1.01.001", credit=Decimal("10.00")),
            ],
        )
        approved.append(
            file_approved(service, command, Decimal("10.00"), thread_id=f"load-{uuid.uuid4().hex[:8]}")
        )
    return approved
