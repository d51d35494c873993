"""The overview page: what waits, how long decisions take, and how proposals end per action, from
the real proposals of an installation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from agent.service import AgentService
from erp_acl.events import manual_event
from tests.integration.ui.conftest import AppAs, file_purchase_order

pytestmark = pytest.mark.integration


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: str(m.value) for m in at.metric}


def charts(at: AppTest) -> list[Any]:
    """The page's charts (AppTest has no typed wrapper for them, so their protos)."""
    return [chart.proto for chart in at.get("vega_lite_chart")]


def chart_rows(at: AppTest, field: str) -> list[dict[str, Any]]:
    """The data behind the chart that plots ``field``."""
    chart = next(c for c in charts(at) if field in json.loads(c.spec)["encoding"]["x"]["field"])
    # st.vega_lite_chart sends its data inline, st.bar_chart as a named dataset.
    arrow = chart.datasets[0].data.data if chart.datasets else chart.data.data
    rows: list[dict[str, Any]] = pa.ipc.open_stream(arrow).read_all().to_pylist()
    return rows


def test_a_fresh_installation_shows_zeros_and_says_nothing_was_decided_yet(app_as: AppAs) -> None:
    at = app_as("bob", "overview")

    assert not at.exception and not at.error
    assert metrics(at) == {"Pending": "0", "Overdue": "0", "Median time to decision": "—", "Decided": "0"}
    assert "Nothing has been decided yet" in at.info[0].value
    assert charts(at) == []


def test_one_approval_and_one_rejection_show_in_the_metrics_and_the_approval_rate(
    ui_service: AgentService, app_as: AppAs
) -> None:
    approved = file_purchase_order(ui_service, quantity=400)
    rejected = file_purchase_order(ui_service, quantity=300)
    file_purchase_order(ui_service, quantity=200)  # still waiting
    ui_service.decide(approved.id, "bob", "approve")
    ui_service.decide(rejected.id, "bob", "reject", reason="one order a week is enough")

    at = app_as("erin", "overview")

    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Pending"] == "1" and shown["Decided"] == "2" and shown["Overdue"] == "0"
    assert shown["Median time to decision"] == "under a minute"
    assert len(charts(at)) == 3  # approval rate, outcomes per action, decisions per day
    assert chart_rows(at, "approval rate (%)") == [{"action": "Purchase order", "approval rate (%)": 50.0}]
    per_day = chart_rows(at, "day")
    assert len(per_day) == 14 and per_day[-1] == {"day": datetime.now(UTC).date().isoformat(), "decisions": 2}
    [row] = at.dataframe[0].value.to_dict("records")
    assert (row["approved"], row["rejected"], row["approval rate"]) == (1, 1, "50%")


def test_an_auditor_sees_the_overview_too(ui_service: AgentService, app_as: AppAs) -> None:
    ui_service.decide(file_purchase_order(ui_service).id, "bob", "approve")

    at = app_as("dave", "overview")

    assert not at.exception and not at.error
    assert metrics(at)["Decided"] == "1" and len(charts(at)) == 3


def test_event_runs_that_need_a_person_are_listed_with_their_owner(
    ui_service: AgentService, app_as: AppAs
) -> None:
    pipeline = ui_service.pipeline
    assert pipeline is not None
    facts = {"product_code": "HB-M8-40", "available": "320", "reorder_point": "500"}  # no supplier
    pipeline.emit(manual_event("stock_below_reorder_point", "HB-M8-40", facts, datetime.now(UTC)))
    pipeline.drain(events=True)

    at = app_as("bob", "overview")

    assert not at.exception
    assert any("1 ERP event run ended without doing what it was for" in w.value for w in at.warning)
    [table] = [d.value for d in at.dataframe if "owner" in d.value.columns]
    assert list(table["owner"]) == ["alice"] and list(table["status"]) == ["needs owner"]
