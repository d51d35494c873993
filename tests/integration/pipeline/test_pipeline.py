"""The pipeline end to end, on the embedded queue and on the real RabbitMQ: an approval leaves
through the outbox, the ERP writer applies it once at the ERP's pace, the result consumer tells the
waiting run; faults (a writer killed mid-write, a dropped broker connection, a poison message, a
burst) lose nothing and double nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from agent.messaging.topology import COMMANDS
from agent.pipeline.messages import CommitCommand
from agent.service import AgentService
from erp_acl.events import manual_event
from tests.conftest import REPO, cli_env
from tests.integration.pipeline.conftest import (
    MakeService,
    approved_journal_entries,
    file_purchase_order,
)
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


def purchase_orders_with(service: AgentService, key: str) -> list[str]:
    return [po.number for po in service.erp.list_purchase_orders(limit=500) if po.reference == key]


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the pipeline did not finish in time")
        time.sleep(0.1)


def outcome_told(service: AgentService, thread_id: str) -> str:
    """What the run was told after its interrupt: the outcome tool message."""
    told = [m for m in service.messages(thread_id) if isinstance(m, ToolMessage)]
    return str(told[-1].content)


def test_an_approval_only_queues_the_write_and_the_writer_lands_it_once(make_service: MakeService) -> None:
    service = make_service()
    proposal = file_purchase_order(service)

    approved = service.decide(proposal.id, "bob", "approve")

    assert approved.status == "approved"  # recorded, queued; the graph wrote nothing
    assert service.erp.receipt_for(proposal.idempotency_key) is None
    assert service.outbox.has_subject(proposal.id)
    assert service.pipeline is not None
    service.pipeline.drain()

    final = service.proposal(proposal.id)
    assert final.status == "committed" and final.receipt is not None
    assert purchase_orders_with(service, proposal.idempotency_key) == [final.receipt["document_id"]]
    assert final.receipt["document_id"] in outcome_told(service, proposal.thread_id)
    assert service.outbox.stats().pending == 0


def test_a_command_delivered_twice_lands_one_document_and_tells_the_run_once(
    make_service: MakeService,
) -> None:
    service = make_service()
    proposal = file_purchase_order(service)
    service.decide(proposal.id, "bob", "approve")
    assert service.pipeline is not None
    service.pipeline.drain()
    told = len(service.messages(proposal.thread_id))

    # A redelivery the inbox has not seen (another message id): the store and the ERP ledger stop it.
    command = CommitCommand.of(service.proposal(proposal.id), service.agent.id)
    service.pipeline.bus.publish(COMMANDS, command.model_dump(mode="json"), message_id="redelivered-copy")
    service.pipeline.drain()

    assert len(purchase_orders_with(service, proposal.idempotency_key)) == 1
    assert len(service.messages(proposal.thread_id)) == told


def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_rest_keep_flowing(
    make_service: MakeService,
) -> None:
    service = make_service()
    assert service.pipeline is not None
    bus = service.pipeline.bus
    bus.publish_raw(COMMANDS, b"{not json", message_id="garbage")
    bus.publish(COMMANDS, {"proposal_id": "P-nonexistent"}, message_id="bad-shape")
    proposal = file_purchase_order(service)
    service.decide(proposal.id, "bob", "approve")

    service.pipeline.drain()

    assert service.proposal(proposal.id).status == "committed"
    letters = {d.message_id: d.headers.get("x-error", "") for d in bus.dead_letters(COMMANDS)}
    assert set(letters) == {"garbage", "bad-shape"}
    assert "JSON" in letters["garbage"] or "json" in letters["garbage"]
    assert "CommitCommand" in letters["bad-shape"]


def test_a_writer_killed_between_the_erp_write_and_the_ack_still_lands_one_document(
    make_service: MakeService, broker_env: dict[str, str], data_dir: object
) -> None:
    service = make_service(outbox_redeliver_after_seconds=1)
    proposal = file_purchase_order(service)
    service.decide(proposal.id, "bob", "approve")

    env = cli_env(data_dir, COUNTERSIGN_WORKERS="external", **broker_env)  # type: ignore[arg-type]
    crashed = subprocess.run(
        [sys.executable, str(REPO / "tests/support/crashing_writer.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 137, crashed.stderr
    assert len(purchase_orders_with(service, proposal.idempotency_key)) == 1
    assert service.proposal(proposal.id).status == "committing"

    # RabbitMQ redelivers the unacknowledged message; on the embedded queue the outbox sends it
    # again once it is overdue. Either way the ERP ledger answers with the stored receipt.
    time.sleep(1.1)
    assert service.pipeline is not None
    service.pipeline.drain()

    final = service.proposal(proposal.id)
    assert final.status == "committed" and final.receipt is not None
    assert final.receipt["replayed"] is True
    assert len(purchase_orders_with(service, proposal.idempotency_key)) == 1


class StampedErp:
    """The ERP as the writer reaches it, noting when each write arrives."""

    def __init__(self, erp: Any) -> None:
        self._erp = erp
        self.arrivals: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._erp, name)

    def apply(self, *args: Any) -> Any:
        self.arrivals.append(time.monotonic())
        return self._erp.apply(*args)


def test_the_erp_never_sees_more_writes_a_second_than_configured(make_service: MakeService) -> None:
    from agent.composition import open_erp

    rate = 20
    plain = make_service()
    erp = StampedErp(open_erp(plain.settings))
    service = make_service(writer_max_writes_per_second=rate, writer_concurrency=4, erp=erp)
    queued = approved_journal_entries(service, 60)
    assert service.pipeline is not None
    service.pipeline.start(["all"])
    try:
        wait_until(lambda: all(service.proposal(p.id).status == "committed" for p in queued))
    finally:
        service.pipeline.stop()

    stamps = sorted(erp.arrivals)
    assert len(stamps) == 60
    busiest = max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)
    assert busiest <= rate


def test_a_burst_of_a_thousand_events_is_handled_with_none_lost(make_service: MakeService) -> None:
    service = make_service()
    assert service.pipeline is not None
    products = ["HB-M8-40", "NUT-M8", "WSH-M8"]
    now = datetime.now(UTC)
    sent = [
        manual_event(
            "stock_below_reorder_point",
            products[n % len(products)],
            {
                "product_code": products[n % len(products)],
                "available": "10",
                "reorder_point": "100",
                "supplier_code": "F00001",
            },
            now,
        )
        for n in range(1000)
    ]
    for event in sent:
        service.pipeline.emit(event)

    service.pipeline.start(["agent"])
    try:
        wait_until(lambda: len(service.event_runs(2000)) >= 1000, seconds=240)
    finally:
        service.pipeline.stop()

    runs = {r.event_id: r for r in service.event_runs(2000)}
    assert set(runs) == {e.event_id for e in sent}
    statuses = [r.status for r in runs.values()]
    # One investigation per product; the other events join the run whose order awaits approval.
    assert statuses.count("proposed") == len(products)
    assert statuses.count("joined") == 1000 - len(products)
    pending = service.proposals(status="pending")
    assert sorted(p.payload["lines"][0]["product_code"] for p in pending) == sorted(products)


def test_a_writer_whose_broker_connection_drops_mid_stream_loses_and_doubles_nothing(
    data_dir: object, rabbit_url: str, prefix: str
) -> None:
    from agent.service import build_service
    from agent.settings import Settings

    proxy = TcpProxy("127.0.0.1", 5672)
    url = rabbit_url.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    service = build_service(
        Settings(
            data_dir=data_dir,  # type: ignore[arg-type]
            model="offline",
            workers="external",
            broker_url=url,
            queue_prefix=prefix,
            writer_max_writes_per_second=40,
        )
    )
    try:
        queued = approved_journal_entries(service, 40)
        assert service.pipeline is not None
        service.pipeline.start(["all"])

        def done() -> int:
            return sum(1 for p in queued if service.proposal(p.id).status == "committed")

        wait_until(lambda: done() >= 10)
        proxy.drop_all()
        wait_until(lambda: done() >= 25)
        proxy.drop_all()
        wait_until(lambda: done() == 40, seconds=120)
        keys = [e.idempotency_key for e in service.erp.ledger_entries()]
        assert all(keys.count(p.idempotency_key) == 1 for p in queued)
    finally:
        if service.pipeline is not None:
            service.pipeline.stop()
        service.close()
        proxy.close()
