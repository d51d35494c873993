"""The Chat page as a clerk uses it: ask, watch the tool steps, file a change, see what landed."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from agent.service import AgentService
from erp_acl.events import manual_event
from tests.integration.ui.conftest import AppAs, file_purchase_order

STOCK_QUESTION = "how many hex bolts M8 do we have?"
ORDER = "order 400 hex bolts M8 from Fastenal"


def texts(at: AppTest) -> list[str]:
    """Every markdown text on the page (messages, cards, notes)."""
    return [str(element.value) for element in at.markdown]


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    """Each chat bubble as (who, its text)."""
    return [
        (message.name, " ".join(str(element.value) for element in message.markdown))
        for message in at.chat_message
    ]


def shows_card(at: AppTest, proposal_id: str) -> bool:
    return any(f"`{proposal_id}`" in text for text in texts(at))


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def test_a_clerk_without_conversations_is_told_what_to_ask_and_offered_examples(app_as: AppAs) -> None:
    at = ok(app_as("alice", "chat"))

    assert not at.chat_message
    assert any("becomes a **proposal**" in text for text in texts(at))
    examples = [at.button(key=f"example-{i}").label for i in range(4)]
    assert examples == [
        "How many hex bolts M8 do we have?",
        "List the invoices from Fastenal",
        "What's left in CC210?",
        "Order 400 hex bolts M8 from Fastenal",
    ]
    assert at.button(key="new_conversation")
    assert not at.chat_input[0].disabled
    assert at.chat_input[0].placeholder.startswith("Ask about stock, orders, invoices")


def test_a_clerk_asking_for_stock_sees_the_answer_and_the_tool_step(app_as: AppAs) -> None:
    at = app_as("alice", "chat")

    ok(at.chat_input[0].set_value(STOCK_QUESTION).run())

    (asked, question), (answered, reply) = bubbles(at)
    assert (asked, question) == ("user", STOCK_QUESTION)
    assert answered == "assistant" and "470 PC available" in reply
    steps = {status.label: status.state for status in at.status}
    assert steps["Checked stock · 1 record"] == "complete"
    thread = at.query_params["thread"]
    assert thread.startswith("T-") and at.session_state["chat_thread"] == thread
    assert at.button(key=f"conversation-{thread}").label == STOCK_QUESTION
    assert not at.error


def test_an_example_button_sends_its_request(app_as: AppAs) -> None:
    at = app_as("alice", "chat")

    ok(at.button(key="example-0").click().run())

    assert bubbles(at)[0] == ("user", "How many hex bolts M8 do we have?")
    assert "470 PC available" in bubbles(at)[1][1]


def test_asking_for_an_order_files_a_pending_proposal_and_the_conversation_waits_for_the_decision(
    app_as: AppAs, ui_service: AgentService
) -> None:
    at = app_as("alice", "chat")

    ok(at.chat_input[0].set_value(ORDER).run())

    [proposal] = ui_service.proposals(requester="alice")
    assert proposal.status == "pending"
    assert f"I have filed proposal {proposal.id} for approval" in bubbles(at)[1][1]
    assert shows_card(at, proposal.id)
    assert ":orange-badge[waiting for approval]" in texts(at)
    assert at.status[-1].label == "Proposal filed for approval"
    notice = f"Waiting for the decision on {proposal.id}; you can start a new conversation meanwhile."
    assert [info.value for info in at.info][-1] == notice
    assert at.chat_input[0].disabled
    assert at.chat_input[0].placeholder == f"Waiting for the decision on {proposal.id}"


def test_once_approved_the_card_shows_the_erp_document_and_the_agent_says_what_landed(
    app_as: AppAs, ui_service: AgentService
) -> None:
    at = app_as("alice", "chat")
    ok(at.chat_input[0].set_value(ORDER).run())
    [proposal] = ui_service.proposals(requester="alice")

    ui_service.decide(proposal.id, "bob", "approve")
    ok(at.run())  # what the cards' refresh does once the status changed

    assert [s.value for s in at.success] == ["Committed in the ERP: purchase order 000301"]
    assert ":green-badge[committed]" in texts(at)
    assert "Done — purchase order 000301" in bubbles(at)[-1][1]
    assert at.status[-1].label == f"Proposal · {proposal.id} committed"
    assert not at.info or "Waiting" not in at.info[-1].value
    assert not at.chat_input[0].disabled


def test_a_rejection_reads_as_the_approvers_decision_in_words_never_as_a_refusal_or_json(
    app_as: AppAs, ui_service: AgentService
) -> None:
    at = app_as("alice", "chat")
    ok(at.chat_input[0].set_value(ORDER).run())
    [proposal] = ui_service.proposals(requester="alice")

    ui_service.decide(proposal.id, "bob", "reject", reason="We still have stock.")
    ok(at.run())

    assert at.status[-1].label == "Proposal · rejected by bob: We still have stock"
    assert not any("refused" in s.label for s in at.status)
    assert not any(".." in text for _, text in bubbles(at))
    assert not at.code  # answers are tables and sentences, not raw JSON


def test_resuming_an_older_conversation_from_the_list_shows_its_history(
    app_as: AppAs, ui_service: AgentService
) -> None:
    older = ui_service.chat("alice", STOCK_QUESTION)
    ui_service.chat("alice", "List the invoices from Fastenal")
    at = ok(app_as("alice", "chat"))
    assert not at.chat_message  # nothing is open until the clerk picks a conversation

    ok(at.button(key=f"conversation-{older.thread_id}").click().run())

    assert bubbles(at)[0] == ("user", STOCK_QUESTION)
    assert "470 PC available" in bubbles(at)[1][1]
    assert [s.label for s in at.status] == ["Searched products · 1 result", "Checked stock · 1 record"]
    assert at.query_params["thread"] == older.thread_id
    assert at.title[0].value == STOCK_QUESTION


def test_a_link_to_a_conversation_reopens_it_and_a_new_message_continues_it(
    app_as: AppAs, ui_service: AgentService
) -> None:
    earlier = ui_service.chat("alice", STOCK_QUESTION)
    at = app_as("alice", "chat")
    at.query_params["thread"] = earlier.thread_id
    ok(at.run())
    assert len(at.chat_message) == 2

    ok(at.chat_input[0].set_value("What's left in CC210?").run())

    assert [who for who, _ in bubbles(at)] == ["user", "assistant", "user", "assistant"]
    assert len(ui_service.conversations_of("alice")) == 1


def test_new_conversation_leaves_the_open_one(app_as: AppAs, ui_service: AgentService) -> None:
    proposal = file_purchase_order(ui_service)
    at = app_as("alice", "chat")
    at.query_params["thread"] = proposal.thread_id
    ok(at.run())
    assert at.chat_input[0].disabled

    ok(at.button(key="new_conversation_now").click().run())

    assert not at.chat_message and "thread" not in at.query_params
    assert not at.chat_input[0].disabled
    assert at.button(key="example-0")


def test_a_message_to_a_conversation_that_started_waiting_meanwhile_is_refused_in_one_line(
    app_as: AppAs, ui_service: AgentService
) -> None:
    earlier = ui_service.chat("alice", STOCK_QUESTION)
    at = app_as("alice", "chat")
    at.query_params["thread"] = earlier.thread_id
    ok(at.run())
    ui_service.chat("alice", ORDER, earlier.thread_id)  # from another tab, say

    ok(at.chat_input[0].set_value("and 40 nuts M8 too").run())

    [error] = at.error
    assert "is waiting for the decision on P-" in error.value and "\n" not in error.value
    assert at.chat_input[0].disabled  # and now the page says so above the input
    assert at.info[-1].value.startswith("Waiting for the decision on P-")


def test_a_conversation_of_someone_else_or_unknown_gives_a_one_line_error(
    app_as: AppAs, ui_service: AgentService
) -> None:
    carols = ui_service.chat("carol", STOCK_QUESTION)
    at = app_as("alice", "chat")

    for thread in (carols.thread_id, "T-doesnotexist"):
        at.query_params["thread"] = thread
        ok(at.run())
        [error] = at.error
        assert thread in error.value and "\n" not in error.value
        assert error.value.endswith("Pick one of your conversations, or start a new one.")
        assert not at.chat_message  # nothing of carol's conversation shows
        assert "thread" not in at.query_params


def test_runs_started_by_erp_events_are_listed_apart_from_the_clerks_own_conversations(
    app_as: AppAs, ui_service: AgentService
) -> None:
    own = ui_service.chat("alice", STOCK_QUESTION)
    event_thread, _ = ui_service.run_for_event(
        "alice",
        "How much stock of NUT-M8 is there?",
        "ERP event: Stock of NUT-M8 fell below its reorder point",
    )
    at = ok(app_as("alice", "chat"))

    [events] = [e for e in at.expander if e.label.startswith("Started by ERP events")]
    assert events.label == "Started by ERP events (1)"
    assert [b.key for b in events.button] == [f"conversation-{event_thread}"]
    assert at.button(key=f"conversation-{own.thread_id}").label == STOCK_QUESTION  # in the main list

    ok(at.button(key=f"conversation-{event_thread}").click().run())
    assert at.chat_message[0].markdown[0].value == "How much stock of NUT-M8 is there?"


def test_the_chat_input_takes_no_more_than_a_message_may_hold(app_as: AppAs) -> None:
    from agent.service import MAX_MESSAGE_CHARS

    at = ok(app_as("alice", "chat"))

    # The browser stops typing at the limit; the service refuses longer messages from anywhere.
    assert at.chat_input[0].proto.max_chars == MAX_MESSAGE_CHARS == 8_000


def test_an_erp_event_the_agent_could_not_act_on_is_shown_to_its_owner_with_what_is_missing(
    app_as: AppAs, ui_service: AgentService
) -> None:
    pipeline = ui_service.pipeline
    assert pipeline is not None
    facts = {"product_code": "HB-M8-40", "available": "320", "reorder_point": "500"}  # no supplier
    pipeline.emit(manual_event("stock_below_reorder_point", "HB-M8-40", facts, datetime.now(UTC)))
    pipeline.drain(events=True)

    at = ok(app_as("alice", "chat"))

    assert any("1 ERP event the agent could not act on" in w.value for w in at.warning)
    assert any("gives no supplier code" in c.value for c in at.caption)
    carols = ok(app_as("carol", "chat"))
    assert not any("could not act on" in w.value for w in carols.warning)
