"""The reconciliation page as an auditor uses it: the latest pass, a pass run on request, and each
discrepancy with its compensating proposal. Discrepancies are planted straight in the legacy ERP's
tables, as a legacy retry or a manual re-entry would leave them (never through the page)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from agent.service import AgentService, Discrepancy
from erp_acl.legacy.adapter import legacy_engine
from tests.integration.pipeline.test_reconciliation import order_rows, reenter_order
from tests.integration.ui.conftest import AppAs, file_purchase_order

pytestmark = pytest.mark.integration


@pytest.fixture
def erp_db(ui_service: AgentService) -> Iterator[Engine]:
    engine = legacy_engine(ui_service.settings.data_dir / "legacy_erp.db")
    yield engine
    engine.dispose()


def plant_duplicate_order(svc: AgentService, erp_db: Engine) -> str:
    """A committed purchase order entered a second time under another number; that number."""
    committed = svc.decide(file_purchase_order(svc).id, "bob", "approve")
    assert committed.receipt is not None
    reenter_order(erp_db, order_rows(erp_db, committed.receipt["document_id"]), "009901")
    return "009901"


def the_duplicate(svc: AgentService, include_resolved: bool = False) -> Discrepancy:
    [found] = svc.discrepancies(include_resolved=include_resolved)
    assert found.kind == "duplicate" and found.compensation_id is not None
    return found


def table(at: AppTest) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = at.dataframe[0].value.to_dict("records")
    return rows


def metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def test_a_fresh_installation_says_no_run_yet_and_offers_to_run_one(app_as: AppAs) -> None:
    at = app_as("dave", "reconciliation")

    assert not at.exception and not at.error
    assert "No reconciliation has run yet" in at.info[0].value
    assert "Nothing has been checked yet" in at.info[1].value
    assert at.button(key="run_now")


def test_run_now_on_a_clean_installation_finds_nothing_and_shows_the_runs_summary(
    ui_service: AgentService, app_as: AppAs
) -> None:
    ui_service.decide(file_purchase_order(ui_service).id, "bob", "approve")
    at = app_as("dave", "reconciliation")

    at.button(key="run_now").click().run()

    assert not at.exception and not at.error
    assert at.status[0].label.startswith("Reconciliation #1 finished")
    assert "no discrepancies" in at.success[0].value
    assert metric(at, "Intended writes") == "1" and metric(at, "Discrepancies") == "0"
    assert "No open discrepancies" in at.info[0].value
    assert ui_service.latest_reconciliation() is not None


def test_a_planted_duplicate_is_listed_with_its_compensation_and_who_must_approve_it(
    ui_service: AgentService, erp_db: Engine, app_as: AppAs
) -> None:
    number = plant_duplicate_order(ui_service, erp_db)
    at = app_as("dave", "reconciliation")

    at.button(key="run_now").click().run()

    assert not at.exception and not at.error
    duplicate = the_duplicate(ui_service)
    [row] = table(at)
    assert row["kind"] == "duplicate" and row["key"] == duplicate.idempotency_key
    assert row["documents"] == f"purchase order {number}"
    assert metric(at, "Discrepancies") == "1"
    shown = " ".join(m.value for m in at.markdown)
    assert f"Compensation `{duplicate.compensation_id}`" in shown
    assert ":orange-badge[waiting for approval]" in shown
    captions = " ".join(c.value for c in at.caption)
    assert "Waits in the Approvals inbox for 1 person with the role approver" in captions


def test_resolved_discrepancies_show_only_when_asked_for(
    ui_service: AgentService, erp_db: Engine, app_as: AppAs
) -> None:
    plant_duplicate_order(ui_service, erp_db)
    ui_service.reconcile()
    compensation = ui_service.decide(str(the_duplicate(ui_service).compensation_id), "bob", "approve")
    assert compensation.status == "committed"
    ui_service.reconcile()  # the cancelled duplicate is gone from the ERP's view: resolved
    at = app_as("dave", "reconciliation")
    assert "No open discrepancies" in at.info[0].value

    at.toggle(key="include_resolved").set_value(True).run()

    assert not at.exception
    [row] = table(at)
    assert row["status"] == "resolved" and row["resolved"]
    shown = " ".join(m.value for m in at.markdown)
    assert ":green-badge[resolved]" in shown and ":green-badge[committed]" in shown
    assert any("Committed in the ERP: purchase order" in c.value for c in at.caption)
