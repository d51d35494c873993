"""An ERP event the agent cannot act on is a visible state, never a silent "answered": a missing
fact (a product with no earlier supplier) becomes a question to the event's owner instead of a run
parsed from the event's text, and a replenishment run that files no order is "unresolved". Both
show in the owner's chat, on the Overview and in `events list`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.service import AgentService
from erp_acl.events import manual_event

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_a_stock_event_without_an_earlier_supplier_asks_its_owner_and_starts_no_run(
    service: AgentService,
) -> None:
    pipeline = service.pipeline
    assert pipeline is not None
    facts = {"product_code": "HB-M8-40", "available": "320", "reorder_point": "500"}  # no supplier_code
    pipeline.emit(manual_event("stock_below_reorder_point", "HB-M8-40", facts, NOW))

    pipeline.drain(events=True)

    [run] = service.event_runs()
    assert (run.status, run.owner, run.thread_id) == ("needs_owner", "alice", None)
    assert run.detail is not None and "gives no supplier code" in run.detail
    assert "ask for it in the chat" in run.detail
    assert service.proposals() == []
    assert service.event_runs_needing_a_person("alice") == [run]
    assert service.event_runs_needing_a_person("carol") == []


def test_a_replenishment_run_that_files_no_order_is_unresolved_not_answered(service: AgentService) -> None:
    pipeline = service.pipeline
    assert pipeline is not None
    # A supplier code the ERP does not know: the run reads, finds nothing to order from, files nothing.
    facts = {
        "product_code": "HB-M8-40",
        "available": "320",
        "reorder_point": "500",
        "supplier_code": "F99999",
    }
    pipeline.emit(manual_event("stock_below_reorder_point", "HB-M8-40", facts, NOW))

    pipeline.drain(events=True)

    [run] = service.event_runs()
    assert run.status == "unresolved" and run.thread_id is not None
    assert service.proposals() == []
    assert service.event_runs_needing_a_person() == [run]
