"""Every AI↔ERP interaction is one JSON log line with correlation ids, and (when on) a linked span."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agent.logs import configure_logging
from agent.service import AgentService
from agent.settings import Settings
from agent.telemetry import configure_tracing

pytestmark = pytest.mark.integration

_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def log_file(settings: Settings) -> Iterator[Path]:
    configure_logging(settings.log_file)
    yield settings.log_file
    root = logging.getLogger("countersign")
    for handler in [
        h for h in root.handlers if getattr(h, "baseFilename", None) == str(settings.log_file.resolve())
    ]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture
def spans(settings: Settings) -> InMemorySpanExporter:
    # A tracer provider is installed once per process; the first test to ask installs this one.
    assert configure_tracing(settings, exporter=_EXPORTER)
    _EXPORTER.clear()
    return _EXPORTER


def test_every_tool_call_of_a_full_loop_is_one_json_line_with_its_correlation_ids(
    service: AgentService, log_file: Path
) -> None:
    result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")
    proposal = service.decide(result.proposals[0].id, "bob", "approve")

    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    calls = [line for line in lines if line["event"] == "tool_call"]
    assert {c["tool"] for c in calls} >= {"search_products", "search_suppliers", "propose_purchase_order"}
    assert all(c["thread_id"] == result.thread_id for c in calls)
    assert all(
        {"ts", "level", "actor", "on_behalf_of", "duration_ms", "outcome", "args_digest"} <= set(c)
        for c in calls
    )
    [commit] = [c for c in calls if c["tool"] == "commit:create_purchase_order"]
    assert commit["proposal_id"] == proposal.id
    assert commit["idempotency_key"] == proposal.idempotency_key
    assert commit["outcome"] == "ok"


def test_spans_link_graph_nodes_gateway_calls_and_erp_calls_by_the_same_ids(
    service: AgentService, spans: InMemorySpanExporter
) -> None:
    result = service.chat("alice", "order 40 hex bolts M8 from Fastenal")
    proposal = service.decide(result.proposals[0].id, "bob", "approve")

    finished = spans.get_finished_spans()
    names = {s.name for s in finished}
    assert {
        "graph.reason",
        "graph.propose",
        "pipeline.write",
        "graph.report_outcome",
        "gateway.search_products",
        "erp.search_products",
    } <= names
    gateway_commit = next(s for s in finished if s.name == "gateway.commit:create_purchase_order")
    erp_apply = next(s for s in finished if s.name == "erp.apply")
    writer = next(s for s in finished if s.name == "pipeline.write")
    assert erp_apply.parent is not None and erp_apply.parent.span_id == gateway_commit.context.span_id
    assert gateway_commit.parent is not None and gateway_commit.parent.span_id == writer.context.span_id
    for span in (gateway_commit, erp_apply):
        assert span.attributes is not None
        assert span.attributes["proposal_id"] == proposal.id
        assert span.attributes["idempotency_key"] == proposal.idempotency_key
        assert span.attributes["thread_id"] == result.thread_id
