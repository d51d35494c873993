"""The audit page as an auditor uses it: the chain's status, searching the trail, and one action's
story from the request to the ERP receipt, on a real installation."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from agent.service import AgentService
from tests.integration.ui.conftest import AppAs, file_purchase_order

pytestmark = pytest.mark.integration


def table(at: AppTest) -> list[dict[str, object]]:
    """The rows of the results table."""
    frame = at.dataframe[0].value
    rows: list[dict[str, object]] = frame.to_dict("records")
    return rows


def texts(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.markdown]


def tamper_with_first_record(svc: AgentService) -> None:
    """What only a database administrator could do: drop the guards and rewrite a record."""
    with svc.engine.begin() as conn:
        triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()
        for (name,) in triggers:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        conn.exec_driver_sql("UPDATE audit_records SET actor = 'mallory' WHERE seq = 1")


def test_a_fresh_installation_shows_an_intact_trail_holding_only_its_keys_creation(app_as: AppAs) -> None:
    # The first start makes the audit signing key and records it: record #1 of every trail.
    at = app_as("dave", "audit")

    assert not at.exception
    assert "verified ✓" in at.success[0].value and "head #1 " in at.success[0].value


def test_verification_shows_the_chain_intact_with_its_record_count_and_head_hash(
    ui_service: AgentService, app_as: AppAs
) -> None:
    file_purchase_order(ui_service)
    [head] = ui_service.audit_search(limit=1)

    at = app_as("dave", "audit")

    shown = at.success[0].value
    assert "verified ✓" in shown and f"{head.seq} records" in shown and head.hash in shown
    assert not at.error


def test_an_auditor_sees_one_actions_story_from_request_to_commit(
    ui_service: AgentService, app_as: AppAs
) -> None:
    proposal = file_purchase_order(ui_service)
    committed = ui_service.decide(proposal.id, "bob", "approve")
    assert committed.receipt is not None
    document = committed.receipt["document_id"]

    at = app_as("dave", "audit", proposal=proposal.id)

    assert not at.exception and not at.error
    steps = [t for t in texts(at) if t.startswith(":material/")]
    proposed = next(i for i, t in enumerate(steps) if "Proposed:" in t)
    approved = next(i for i, t in enumerate(steps) if "bob approved" in t)
    landed = next(i for i, t in enumerate(steps) if f"Committed in the ERP: purchase order {document}" in t)
    assert proposed < approved < landed
    assert all("Read `" in t for t in steps[:proposed])  # the evidence it relied on came first
    captions = " ".join(c.value for c in at.caption)
    assert all(f"record hash `{r.hash}`" in captions for r in ui_service.story(proposal.id))
    assert any(f"Receipt: purchase order {document}" in s.value for s in at.success)


def test_an_edited_actions_story_shows_what_it_says_after_the_edit(
    ui_service: AgentService, app_as: AppAs
) -> None:
    proposal = file_purchase_order(ui_service, quantity=400)
    edited = ui_service.decide(proposal.id, "bob", "edit", edits={"quantity": "410"})

    at = app_as("dave", "audit", proposal=proposal.id)

    assert not at.exception and not at.error
    assert "410 x HB-M8-40" in edited.summary
    assert f"Now: {edited.summary}" in texts(at)
    assert edited.summary in " ".join(c.value for c in at.caption)  # the story's heading too


def test_searching_by_proposal_lists_that_proposals_story_and_nothing_else(
    ui_service: AgentService, app_as: AppAs
) -> None:
    wanted = file_purchase_order(ui_service)
    other = file_purchase_order(ui_service, quantity=250)
    at = app_as("dave", "audit")
    assert {r["proposal"] for r in table(at)} >= {wanted.id, other.id}

    at.text_input(key="proposal").input(wanted.id).run()

    assert not at.exception
    # The reads it relied on name no proposal; the list counts what its story shows.
    assert {r["proposal"] for r in table(at)} == {wanted.id, ""}
    assert len(table(at)) == len(ui_service.story(wanted.id))
    assert at.subheader[0].value.endswith(wanted.id)


def test_searching_by_user_finds_what_they_did_and_what_was_done_for_them(
    ui_service: AgentService, app_as: AppAs
) -> None:
    alices = file_purchase_order(ui_service, "alice")
    carols = file_purchase_order(ui_service, "carol")
    at = app_as("dave", "audit")

    at.text_input(key="audit_user").input("carol").run()

    rows = table(at)
    assert rows and all("carol" in (r["actor"], r["on behalf of"]) for r in rows)
    assert carols.id in {r["proposal"] for r in rows} and alices.id not in {r["proposal"] for r in rows}


def test_a_date_range_that_excludes_everything_says_to_widen_the_dates(
    ui_service: AgentService, app_as: AppAs
) -> None:
    file_purchase_order(ui_service)
    at = app_as("dave", "audit")

    at.date_input(key="audit_dates").set_value((date(2020, 1, 1), date(2020, 1, 31))).run()

    assert not at.exception
    assert "No records match" in at.info[0].value and "widen the dates" in at.info[0].value


def test_picking_a_proposal_from_the_results_opens_its_story(ui_service: AgentService, app_as: AppAs) -> None:
    proposal = file_purchase_order(ui_service)
    ui_service.decide(proposal.id, "bob", "reject", reason="we have enough bolts")
    at = app_as("dave", "audit")

    at.selectbox(key="audit_pick").select(proposal.id).run()

    assert not at.exception
    assert at.text_input(key="proposal").value == proposal.id
    assert any("bob rejected" in t for t in texts(at))
    assert "Reason: we have enough bolts" in texts(at)


def test_tampering_is_shown_in_one_line_after_verify_now(ui_service: AgentService, app_as: AppAs) -> None:
    file_purchase_order(ui_service)
    at = app_as("dave", "audit")
    assert "verified ✓" in at.success[0].value

    tamper_with_first_record(ui_service)
    at.button(key="verify_now").click().run()

    assert not at.exception
    [problem] = at.error
    assert "NOT verified: first bad record #1" in problem.value and "\n" not in problem.value
    assert not any("verified ✓" in s.value for s in at.success)


def test_an_unknown_proposal_in_a_link_says_to_check_the_id(app_as: AppAs) -> None:
    at = app_as("dave", "audit", proposal="P-doesnotexist")

    assert not at.exception
    [error] = at.error
    assert "P-doesnotexist" in error.value and "Check the proposal id" in error.value
