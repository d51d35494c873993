"""The My requests page: a clerk's proposals in one searchable, sortable table, where each stands,
its detail on demand, and the way back to its chat."""

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


def rows(at: AppTest) -> list[str]:
    """The proposal ids in the table, top to bottom (none when the table is not shown)."""
    return list(at.dataframe[0].value["ID"]) if at.dataframe else []


def open_detail(at: AppTest, proposal_id: str) -> AppTest:
    return ok(at.selectbox(key="requests_open").set_value(proposal_id).run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def test_a_clerk_sees_her_requests_newest_first_in_one_table_and_each_in_detail_on_demand(
    app_as: AppAs, ui_service: AgentService
) -> None:
    first = file_purchase_order(ui_service, quantity=400)
    second = file_purchase_order(ui_service, quantity=300)
    ui_service.chat("carol", "order 200 hex bolts M8 from Fastenal")  # someone else's

    at = ok(app_as("alice", "requests"))

    assert rows(at) == [second.id, first.id]
    assert list(at.dataframe[0].value["Status"]) == ["waiting for approval"] * 2
    assert list(at.dataframe[0].value["Outcome"]) == ["0 of 1 approval"] * 2
    assert at.caption[0].value == "2 requests, 2 still in flight. Newest first; click a column to sort."
    assert cards(at) == []  # no wall of cards: the detail opens on demand

    open_detail(at, first.id)
    assert cards(at) == [first.id]
    assert at.query_params["proposal"] == first.id
    assert (
        "Needs 1 approval by someone with the approver or finance director role. "
        "You cannot approve your own request."
    ) in [c.value for c in at.caption]
    assert at.button(key=f"open-chat-{first.id}")


def test_a_link_to_a_request_opens_its_detail(app_as: AppAs, ui_service: AgentService) -> None:
    proposal = file_purchase_order(ui_service, quantity=400)
    file_purchase_order(ui_service, quantity=300)

    at = ok(app_as("alice", "requests", proposal=proposal.id))

    assert cards(at) == [proposal.id]


def test_searching_finds_requests_by_words_codes_or_id(app_as: AppAs, ui_service: AgentService) -> None:
    bolts = file_purchase_order(ui_service, quantity=400)
    committed = file_purchase_order(ui_service, quantity=300)
    ui_service.decide(committed.id, "bob", "approve")
    at = ok(app_as("alice", "requests"))

    ok(at.text_input(key="requests_search").input("committed").run())
    assert rows(at) == [committed.id]
    ok(at.text_input(key="requests_search").input(bolts.id.lower()).run())
    assert rows(at) == [bolts.id]
    ok(at.text_input(key="requests_search").input("HB-M8-40 purchase").run())
    assert sorted(rows(at)) == sorted([bolts.id, committed.id])
    ok(at.text_input(key="requests_search").input("no such thing").run())
    assert rows(at) == []
    assert at.info[0].value == "No request matches this search and these filters."


def test_the_status_filter_shows_only_requests_in_that_status(
    app_as: AppAs, ui_service: AgentService
) -> None:
    committed = file_purchase_order(ui_service, quantity=400)
    pending = file_purchase_order(ui_service, quantity=300)
    ui_service.decide(committed.id, "bob", "approve")
    at = ok(app_as("alice", "requests"))

    ok(at.multiselect(key="requests_status").set_value(["committed"]).run())
    assert rows(at) == [committed.id]
    assert list(at.dataframe[0].value["Outcome"]) == ["purchase order 000301"]
    open_detail(at, committed.id)
    assert [s.value for s in at.success] == ["Committed in the ERP: purchase order 000301"]

    ok(at.multiselect(key="requests_status").set_value(["pending"]).run())
    assert rows(at) == [pending.id]

    ok(at.multiselect(key="requests_status").set_value(["rejected"]).run())
    assert rows(at) == []
    assert at.info[0].value == "No request matches this search and these filters."


def test_the_action_filter_offers_the_actions_requested(app_as: AppAs, ui_service: AgentService) -> None:
    proposal = file_purchase_order(ui_service)
    at = ok(app_as("alice", "requests"))
    action = at.multiselect(key="requests_action")

    assert action.options == ["Purchase order"]
    ok(action.set_value(["create_purchase_order"]).run())
    assert rows(at) == [proposal.id]


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
    at = open_detail(ok(app_as("alice", "requests")), proposal.id)

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

    at = open_detail(ok(app_as("alice", "requests")), po.id)

    notes = [str(i.value) for i in at.info if i.icon == ":material/edit:"]
    assert notes == ["Note: bob changed line 1 quantity from 400 to 410 before approving it."]
    assert any("410 x HB-M8-40" in str(m.value) for m in at.markdown)  # the summary as it stands
