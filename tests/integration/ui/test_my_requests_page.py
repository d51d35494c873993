"""The My requests page: a clerk's proposals, where each stands, and the way back to its chat."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from agent.service import AgentService
from tests.integration.ui.conftest import AppAs, file_purchase_order


def cards(at: AppTest) -> list[str]:
    """The proposal ids of the cards on the page, top to bottom."""
    return [
        str(element.value).split("`")[1]
        for element in at.markdown
        if str(element.value).startswith("**") and "· `P-" in str(element.value)
    ]


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def test_a_clerk_sees_her_requests_newest_first_with_who_must_approve_them(
    app_as: AppAs, ui_service: AgentService
) -> None:
    first = file_purchase_order(ui_service, quantity=400)
    second = file_purchase_order(ui_service, quantity=300)
    ui_service.chat("carol", "order 200 hex bolts M8 from Fastenal")  # someone else's

    at = ok(app_as("alice", "requests"))

    assert cards(at) == [second.id, first.id]
    assert at.caption[0].value == "2 request(s), 2 still in flight. Newest first."
    assert (
        "Needs 1 approval by someone with the approver or finance director role. "
        "You cannot approve your own request."
    ) in [c.value for c in at.caption]
    assert at.button(key=f"open-chat-{first.id}") and at.button(key=f"open-chat-{second.id}")


def test_the_status_filter_shows_only_requests_in_that_status(
    app_as: AppAs, ui_service: AgentService
) -> None:
    committed = file_purchase_order(ui_service, quantity=400)
    pending = file_purchase_order(ui_service, quantity=300)
    ui_service.decide(committed.id, "bob", "approve")
    at = ok(app_as("alice", "requests"))

    ok(at.multiselect(key="requests_status").set_value(["committed"]).run())
    assert cards(at) == [committed.id]
    assert [s.value for s in at.success] == ["Committed in the ERP: purchase order 000301"]

    ok(at.multiselect(key="requests_status").set_value(["pending"]).run())
    assert cards(at) == [pending.id]

    ok(at.multiselect(key="requests_status").set_value(["rejected"]).run())
    assert cards(at) == []
    assert at.info[0].value == "No request matches these filters."


def test_the_action_filter_offers_the_actions_requested(app_as: AppAs, ui_service: AgentService) -> None:
    proposal = file_purchase_order(ui_service)
    at = ok(app_as("alice", "requests"))
    action = at.multiselect(key="requests_action")

    assert action.options == ["Purchase order"]
    ok(action.set_value(["create_purchase_order"]).run())
    assert cards(at) == [proposal.id]


def test_a_clerk_without_requests_is_told_how_to_make_one(app_as: AppAs) -> None:
    at = ok(app_as("carol", "requests"))

    assert cards(at) == []
    assert "You have not asked for any change yet" in at.info[0].value
    assert not at.error


def test_open_in_chat_opens_the_conversation_the_request_came_from(
    app_as: AppAs, ui_service: AgentService
) -> None:
    proposal = file_purchase_order(ui_service)
    ui_service.chat("alice", "how many hex bolts M8 do we have?")  # a newer, unrelated conversation
    at = ok(app_as("alice", "requests"))

    ok(at.button(key=f"open-chat-{proposal.id}").click().run())

    assert at.query_params["thread"] == proposal.thread_id
    assert at.session_state["chat_thread"] == proposal.thread_id
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[0].markdown[0].value == "order 400 hex bolts M8 from Fastenal"
    assert at.info[-1].value.startswith(f"Waiting for the decision on {proposal.id}")


def test_alices_card_says_what_bob_changed_before_approving_it(
    app_as: AppAs, ui_service: AgentService
) -> None:
    po = file_purchase_order(ui_service, quantity=400)
    ui_service.decide(po.id, "bob", "edit", edits={"lines.0.quantity": "410"})  # within tolerance

    at = ok(app_as("alice", "requests"))

    notes = [str(i.value) for i in at.info if i.icon == ":material/edit:"]
    assert notes == ["Note: bob changed line 1 quantity from 400 to 410 before approving it."]
    assert any("410 x HB-M8-40" in str(m.value) for m in at.markdown)  # the summary as it stands
