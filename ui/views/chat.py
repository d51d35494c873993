"""The Chat page: where clerks ask the agent about the ERP and ask it for changes.

The agent answers from ERP reads and turns every change into a proposal that an approver must
accept; the ERP commits it once and the agent then reports here what landed. The page lists the
person's conversations, shows the open one (its messages and, compactly, each tool step), streams
each new turn as it happens, and keeps the conversation's proposal cards live until their outcome
is known. The open conversation lives in the session and in the URL (``?thread=T-…``), so a link
reopens it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import streamlit as st

from agent.service import (
    MAX_MESSAGE_CHARS,
    AgentService,
    ChatEvent,
    ChatResult,
    Conversation,
    Proposal,
    User,
)
from ui import components, feedback, runtime

if TYPE_CHECKING:
    from streamlit.elements.lib.mutable_status_container import StatusContainer

# Session keys. My requests sets THREAD_KEY (and the URL's `thread`) to open a conversation here.
THREAD_KEY = "chat_thread"
PROMPT_KEY = "chat_prompt"
OUTBOX_KEY = "chat_outbox"  # the message this run sends: typed, or an example button's
FULL_RUN_KEY = "chat_full_run"  # set by the page's run, so the cards fragment knows it is not refreshing
THREAD_PARAM = "thread"
REFRESH_SECONDS = 2.5
EVENT_TITLE = "ERP event:"  # how the agent worker titles the runs it starts on ERP events
PLACEHOLDER = "Ask about stock, orders, invoices… or ask for a change"
EXAMPLES = (
    "How many hex bolts M8 do we have?",
    "List the invoices from Fastenal",
    "What's left in CC210?",
    "Order 400 hex bolts M8 from Fastenal",
)
# How the graph marks ERP text and refused tool calls (tools.rendering); only undone for display.
ERROR_PREFIX = "Error: "
RESULT_PREVIEW_CHARS = 4000
RESULT_ROWS = 20  # rows of a list answer shown in a step; the agent read them all


# ---- what the page keeps between runs ---------------------------------------------------------


def _queue(text: str) -> None:
    """Remember a message for this run to send (an example button's)."""
    st.session_state[OUTBOX_KEY] = text


def _queue_typed() -> None:
    _queue(str(st.session_state.get(PROMPT_KEY) or ""))


def _open(thread_id: str | None) -> None:
    """Open a conversation (None: a new one), in the session and in the URL."""
    st.session_state[THREAD_KEY] = thread_id
    if thread_id is None:
        st.query_params.pop(THREAD_PARAM, None)
    else:
        st.query_params[THREAD_PARAM] = thread_id


def _selected_thread() -> str | None:
    # The URL wins when it names a conversation (a link, or My requests' "open in chat"); otherwise
    # the session remembers the open one, and the URL is brought back in line with it.
    from_url = st.query_params.get(THREAD_PARAM)
    thread_id = from_url or st.session_state.get(THREAD_KEY)
    thread_id = thread_id if isinstance(thread_id, str) and thread_id else None
    if thread_id != from_url or thread_id != st.session_state.get(THREAD_KEY):
        _open(thread_id)
    return thread_id


def _as_markdown(text: str) -> str:
    """Plain chat text as markdown that keeps its lines: a line after a list starts a paragraph of
    its own instead of joining the last item, other single line breaks stay breaks, and a dollar
    amount is not read as the start of a formula."""
    lines = text.replace("$", "\\$").split("\n")
    shaped: list[str] = []
    for previous, line in zip(["", *lines], lines, strict=False):
        if shaped and line.strip() and previous.strip() and not _list_item(line):
            if _list_item(previous):
                shaped.append("")
            else:
                shaped[-1] += "  "
        shaped.append(line)
    return "\n".join(shaped)


def _list_item(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("- ", "* ")) or stripped.split(". ", 1)[0].isdigit()


# ---- tool steps -------------------------------------------------------------------------------


@dataclass
class Step:
    """One tool call and, once it came back, what it returned."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    result: str | None = None


def _is_error(text: str) -> bool:
    return text.startswith(ERROR_PREFIX)


def _parsed(text: str) -> Any:
    """The ``result`` of a successful tool message, or None when it is not one."""
    try:
        envelope = json.loads(text)
    except ValueError:
        return None
    return (
        components.without_untrusted_markers(envelope["result"])
        if isinstance(envelope, dict) and "result" in envelope
        else None
    )


DECIDED = re.compile(r"^proposal (P-\S+) (was rejected by .*|expired without a decision.*)$")


def _summary(text: str) -> str:
    """A few words on what a tool returned: a count, an outcome, or the refusal's first line."""
    if _is_error(text):
        first = (text[len(ERROR_PREFIX) :].strip().splitlines() or [""])[0]
        decided = DECIDED.match(first)
        if decided:  # a person's decision, not a refusal by the software
            return decided.group(2).removeprefix("was ").split(". Nothing was written")[0]
        return "refused: " + first
    result = _parsed(text)
    if isinstance(result, list):
        return components.plural(len(result), "result")
    if isinstance(result, dict) and "status" in result and "proposal_id" in result:
        return f"{result['proposal_id']} {result['status']}"
    if isinstance(result, dict):
        return "1 record"
    return "done" if result is not None else "answered"


def _files_proposal(tool: str) -> bool:
    return tool.startswith("propose_")


def tool_phrase(tool: str) -> str:
    """What a tool did, in words a clerk reads: ``check_stock`` → "Checked stock",
    ``search_products`` → "Searched products"; any ``propose_*`` tool → "Proposal"."""
    if _files_proposal(tool):
        return "Proposal"
    verb, _, rest = tool.partition("_")
    words = rest.replace("_", " ")
    past = {"get": "Looked up", "find": "Found", "search": "Searched", "list": "Listed"}
    done = past.get(verb) or (verb + ("d" if verb.endswith("e") else "ed")).capitalize()
    return f"{done} {words}".strip()


def _label(step: Step) -> str:
    if step.result is not None:
        return f"{tool_phrase(step.tool)} · {_summary(step.result)}"
    return (
        "Proposal filed for approval"
        if _files_proposal(step.tool)
        else f"{tool_phrase(step.tool)} · no answer"
    )


def _as_words(args: dict[str, Any]) -> str:
    """A tool's arguments as a person reads them: "product code HB-M8-40, warehouse main"."""
    return ", ".join(
        f"{key.replace('_', ' ')} {value}" for key, value in args.items() if value not in (None, "")
    )


def _show_result(text: str) -> None:
    result = _parsed(text)
    if isinstance(result, dict):
        rows = components.payload_rows(result)
        st.table({"field": [r["field"] for r in rows], "value": [r["value"] for r in rows]}, hide_index=True)
        return
    if isinstance(result, list) and result and all(isinstance(item, dict) for item in result):
        shown = result[:RESULT_ROWS]
        columns = list(dict.fromkeys(key for item in shown for key in item))
        st.dataframe(
            {key.replace("_", " "): [_cell(item.get(key)) for item in shown] for key in columns},
            hide_index=True,
        )
        if len(result) > RESULT_ROWS:
            st.caption(f"… and {len(result) - RESULT_ROWS} more")
        return
    said = text[len(ERROR_PREFIX) :].strip() if _is_error(text) else text if result is None else str(result)
    if len(said) > RESULT_PREVIEW_CHARS:
        said = said[:RESULT_PREVIEW_CHARS] + " … (shortened)"
    st.caption(said)


def _cell(value: Any) -> str:
    if isinstance(value, list | dict):
        return components.plural(len(value), "item")
    return "" if value is None else str(value)


def _step_details(step: Step) -> None:
    if step.args:
        st.caption(f"Asked for {_as_words(step.args)}")
    if step.result is not None:
        _show_result(step.result)


def _show_step(step: Step) -> None:
    """A past tool step: a collapsed status box, red when the tool refused."""
    state: Literal["complete", "error"] = (
        "error" if step.result is not None and _is_error(step.result) else "complete"
    )
    with st.status(_label(step), state=state, expanded=False):
        _step_details(step)


# ---- history ----------------------------------------------------------------------------------


@dataclass
class Bubble:
    """One chat bubble: the person's message, or the agent's text and tool steps in order."""

    role: str
    parts: list[str | Step] = field(default_factory=list)


def _bubbles(messages: list[dict[str, Any]]) -> list[Bubble]:
    """The transcript as bubbles, each tool result paired with the call that asked for it."""
    bubbles: list[Bubble] = []
    waiting: list[Step] = []  # calls without a result yet, oldest first
    for message in messages:
        role, content = message.get("role"), str(message.get("content") or "")
        if role == "user":
            bubbles.append(Bubble("user", [content]))
            continue
        if role not in ("assistant", "tool"):
            continue  # the system prompt is not part of the conversation a person sees
        if not bubbles or bubbles[-1].role != "assistant":
            bubbles.append(Bubble("assistant"))
        parts = bubbles[-1].parts
        if role == "assistant":
            if content.strip():
                parts.append(content)
            for call in message.get("tool_calls") or []:
                step = Step(str(call.get("name")), dict(call.get("args") or {}))
                parts.append(step)
                waiting.append(step)
        else:
            # An outcome message after an approval carries no tool name: pair it with the oldest call.
            name = message.get("name")
            answered = next((s for s in waiting if s.tool == name), waiting[0] if waiting else None)
            if answered is None:
                parts.append(Step(str(name or "tool"), result=content))
            else:
                waiting.remove(answered)
                answered.result = content
    return bubbles


def _show_history(messages: list[dict[str, Any]]) -> None:
    for bubble in _bubbles(messages):
        with st.chat_message(bubble.role):
            for part in bubble.parts:
                if isinstance(part, Step):
                    _show_step(part)
                else:
                    st.markdown(_as_markdown(part))


def _awaits_outcome(messages: list[dict[str, Any]]) -> bool:
    """True while the conversation ends in a tool call nobody answered yet: the run is paused on a
    proposal, and the agent's message about what landed is still to come."""
    last = next((m for m in reversed(messages) if m.get("role") in ("assistant", "tool", "user")), None)
    return bool(last and last.get("role") == "assistant" and last.get("tool_calls"))


# ---- a new turn, streamed ---------------------------------------------------------------------


class LiveTurn:
    """The agent's bubble while a turn streams: text as it arrives, a status box per tool step."""

    def __init__(self) -> None:
        self.text = ""
        self.everything = ""
        self.slot = st.empty()
        self.open: list[tuple[Step, StatusContainer]] = []  # tool steps still running, and their box

    def add_text(self, chunk: str) -> None:
        self.text += chunk
        self.everything += chunk
        self.slot.markdown(_as_markdown(self.text) + " ▌")

    def _close_text(self) -> None:
        if self.text:
            self.slot.markdown(_as_markdown(self.text))
        self.text = ""

    def start_step(self, tool: str, args: dict[str, Any]) -> None:
        self._close_text()
        step = Step(tool, args)
        doing = "Filing a proposal" if _files_proposal(tool) else f"Reading the ERP: {tool.replace('_', ' ')}"
        box = st.status(f"{doing}…", state="running", expanded=False)
        with box:
            _step_details(step)
        self.open.append((step, box))
        self.slot = st.empty()  # later text goes below the step

    def finish_step(self, tool: str | None, text: str, ok: bool) -> None:
        match = next((entry for entry in self.open if entry[0].tool == tool), None)
        if match is None:
            return
        self.open.remove(match)
        step, box = match
        step.result = text
        with box:
            _show_result(text)
        box.update(label=_label(step), state="complete" if ok else "error")

    def finish(self, result: ChatResult | None) -> None:
        self._close_text()
        for step, box in self.open:  # a proposal's step waits for the approval: it is filed, not stuck
            box.update(label=_label(step), state="complete")
        self.open.clear()
        reply = (result.reply if result else "").strip()
        if reply and reply not in self.everything:
            st.markdown(_as_markdown(reply))  # e.g. "I have filed proposal P-… for approval"


def _stream(events: Iterator[ChatEvent]) -> ChatResult | None:
    turn = LiveTurn()
    result: ChatResult | None = None
    try:
        for event in events:
            if event.kind == "text":
                turn.add_text(event.text)
            elif event.kind == "tool_call":
                turn.start_step(event.tool or "tool", event.args or {})
            elif event.kind == "tool_result":
                turn.finish_step(event.tool, event.text, event.ok)
            elif event.kind == "done":
                result = event.result
    finally:
        turn.finish(result)
    return result


def _send(svc: AgentService, user: User, text: str, thread_id: str | None) -> str | None:
    """Send one message and stream the turn; the conversation it went to, or None when refused."""
    with st.chat_message("user"):
        st.markdown(_as_markdown(text))
    events = svc.chat_stream(user.id, text, thread_id)
    # The first step also checks the request (empty, or the conversation waits for a decision):
    # a refusal shows as one line under the message, not as an empty agent bubble.
    with st.spinner("Thinking…"):
        first = feedback.run(lambda: next(events))
    if first is None:
        return None
    with st.chat_message("assistant"):
        result = feedback.run(lambda: _stream(itertools.chain([first], events)))
    return result.thread_id if result is not None else thread_id


def _history(svc: AgentService, thread_id: str, user_id: str) -> list[dict[str, Any]]:
    """The conversation's messages; one that is not theirs (or does not exist) is refused."""
    return svc.transcript(thread_id, user_id)


# ---- proposals of the conversation ------------------------------------------------------------


def _thread_proposals(svc: AgentService, user_id: str, thread_id: str) -> list[Proposal]:
    """The conversation's proposals, oldest first (the order the agent filed them)."""
    filed = svc.proposals(thread_id=thread_id, person=user_id, limit=1000)
    return sorted(filed, key=lambda p: p.created_at)


def _show_cards(user_id: str, thread_id: str, shown: list[tuple[str, str]], length: int, live: bool) -> None:
    """The conversation's proposal cards. While ``live`` this runs again every few seconds as a
    fragment, and re-runs the whole page as soon as a status changes or the agent adds a message,
    so that its follow-up (what landed, with the ERP document) appears in the history."""
    svc = runtime.service()
    proposals = feedback.run(lambda: _thread_proposals(svc, user_id, thread_id))
    if proposals is None:
        return
    # The page's own run just read all this; only the fragment's later runs compare.
    refreshing = not st.session_state.pop(FULL_RUN_KEY, False)
    if live and refreshing:
        messages = feedback.run(lambda: svc.transcript(thread_id, user_id))
        changed = [(p.id, p.status) for p in proposals] != shown
        if changed or (messages is not None and len(messages) != length):
            st.rerun()
    if proposals:
        st.caption("Proposals in this conversation")
    for proposal in proposals:
        components.proposal_card(proposal)


def _cards(user: User, thread_id: str, proposals: list[Proposal], messages: list[dict[str, Any]]) -> None:
    live = _awaits_outcome(messages) or any(p.status in components.IN_FLIGHT for p in proposals)
    shown = [(p.id, p.status) for p in proposals]
    st.session_state[FULL_RUN_KEY] = True
    fragment: Callable[..., None] = st.fragment(_show_cards, run_every=REFRESH_SECONDS if live else None)
    fragment(user.id, thread_id, shown, len(messages), live)


# ---- the page ---------------------------------------------------------------------------------


def _ago(moment: datetime) -> str:
    now = datetime.now(UTC) if moment.tzinfo else datetime.now(UTC).replace(tzinfo=None)
    words = components.age(now - moment)
    return words if words == "just now" else f"{words} ago"


def _conversation_button(conversation: Conversation, current: str | None) -> None:
    title = conversation.title if len(conversation.title) <= 60 else conversation.title[:59] + "…"
    st.button(
        title,
        key=f"conversation-{conversation.thread_id}",
        on_click=_open,
        args=(conversation.thread_id,),
        type="primary" if conversation.thread_id == current else "tertiary",
        help=f"{conversation.thread_id} · last message {_ago(conversation.updated_at)}",
        width="stretch",
    )


def _conversation_list(slot: Any, conversations: list[Conversation], current: str | None) -> None:
    # Runs the agent started on an ERP event (a stock alert, an invoice mismatch) can be many: they
    # go in their own collapsed list so that the person's own conversations stay in sight.
    own = [c for c in conversations if not c.title.startswith(EVENT_TITLE)]
    events = [c for c in conversations if c.title.startswith(EVENT_TITLE)]
    with slot:
        st.button(
            "New conversation",
            key="new_conversation",
            icon=":material/add_comment:",
            on_click=_open,
            args=(None,),
            type="primary" if current is None else "secondary",
            width="stretch",
        )
        if not conversations:
            st.caption("Your conversations will be listed here.")
        for conversation in own:
            _conversation_button(conversation, current)
        if events:
            opened = any(c.thread_id == current for c in events)
            with st.expander(f"Started by ERP events ({len(events)})", expanded=opened):
                for conversation in events:
                    _conversation_button(conversation, current)


def _events_needing(svc: AgentService, user_id: str) -> None:
    """ERP events the agent could not act on for this person: each says what is missing."""
    runs = feedback.run(lambda: svc.event_runs_needing_a_person(user_id)) or []
    if not runs:
        return
    with st.container(key="events-needing-you"):
        st.warning(
            f"{components.plural(len(runs), 'ERP event')} the agent could not act on: "
            "each needs you to ask in the chat.",
            icon=":material/notification_important:",
        )
        for run in runs[:10]:
            where = f" (conversation {run.thread_id})" if run.thread_id else ""
            st.caption(f"{components.when(run.created_at)} · {run.detail or run.summary}{where}")


def _empty_state() -> None:
    st.markdown(
        "Ask about stock, orders, invoices or budgets, or ask for a change. The agent reads the ERP "
        "for you; a change becomes a **proposal** that an approver must accept before anything is "
        "written, and the agent tells you here what landed."
    )
    st.caption("Try one of these")
    # Two to a row: four in one row cut their own words off on a laptop's screen.
    columns = st.columns(2)
    for index, example in enumerate(EXAMPLES):
        columns[index % 2].button(
            example, key=f"example-{index}", on_click=_queue, args=(example,), width="stretch"
        )


def _waiting_notice(svc: AgentService, user_id: str, thread_id: str, proposals: list[Proposal]) -> str | None:
    """What the conversation waits for before it can take another message, if anything: the
    same proposal the service would name when refusing a message."""
    waiting = feedback.run(lambda: svc.waiting_for(thread_id, user_id))
    if waiting is None:
        return None
    status = next((p.status for p in proposals if p.id == waiting), "pending")
    what = "the decision on" if status == "pending" else "the ERP's answer on"
    return f"Waiting for {what} {waiting}; you can start a new conversation meanwhile."


def page() -> None:
    user = runtime.require_user()
    svc = runtime.service()
    outbox = st.session_state.pop(OUTBOX_KEY, None)
    with st.sidebar:
        st.divider()
        st.markdown("**Conversations**")
        list_slot = st.container()  # filled last, so a conversation this run started is in it

    thread_id = _selected_thread()
    messages: list[dict[str, Any]] = []
    if thread_id is not None:
        asked = thread_id
        loaded = feedback.run(lambda: _history(svc, asked, user.id))
        if loaded is None:  # not theirs, or gone: the error says so; start afresh below it
            _open(None)
            thread_id = None
        else:
            messages = loaded

    conversations = feedback.run(lambda: svc.conversations_of(user.id)) or []
    conversation = next((c for c in conversations if c.thread_id == thread_id), None)
    st.title(conversation.title if conversation else "Chat")
    if conversation:
        st.caption(
            f"Conversation {conversation.thread_id} · started {components.when(conversation.created_at)}"
        )
    if thread_id is None and not outbox:
        _events_needing(svc, user.id)
        _empty_state()
    _show_history(messages)

    if isinstance(outbox, str) and outbox.strip():
        sent_to = _send(svc, user, outbox.strip(), thread_id)
        if sent_to is not None and sent_to != thread_id:
            _open(sent_to)
            thread_id = sent_to
            conversations = feedback.run(lambda: svc.conversations_of(user.id)) or conversations

    notice = None
    if thread_id is not None:
        current = thread_id
        proposals = feedback.run(lambda: _thread_proposals(svc, user.id, current)) or []
        if outbox:  # the turn added to the conversation: the cards compare against it as it is now
            messages = feedback.run(lambda: svc.transcript(current, user.id)) or messages
        _cards(user, current, proposals, messages)
        notice = _waiting_notice(svc, user.id, current, proposals)
    if notice:
        st.info(notice, icon=":material/hourglass_top:")
        st.button("Start a new conversation", key="new_conversation_now", on_click=_open, args=(None,))
    st.chat_input(
        notice.split(";")[0] if notice else PLACEHOLDER,
        key=PROMPT_KEY,
        on_submit=_queue_typed,
        disabled=notice is not None,
        max_chars=MAX_MESSAGE_CHARS,
    )
    _conversation_list(list_slot, conversations, thread_id)


page()
