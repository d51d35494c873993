"""My requests: every change the signed-in person asked for, where it stands, and the way back.

A request is a proposal they filed (or that was filed on their behalf). Newest first, filtered by
status and action; each shows its card with the live status, who still has to approve it, and a
button that opens the conversation it came from in Chat.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent.service import AgentService, Proposal, User
from ui import components, feedback, runtime

CHAT_PAGE = "views/chat.py"
# The Chat page keeps the open conversation under this session key and the `thread` URL parameter.
CHAT_THREAD_KEY = "chat_thread"
THREAD_PARAM = "thread"
LIMIT = 500
PAGE = 25  # cards per page; "Show more" adds as many again
SHOWN_KEY = "requests_shown"


def _requests_of(svc: AgentService, user_id: str) -> list[Proposal]:
    """Proposals the person filed or that were filed for them, newest first."""
    return svc.proposals(person=user_id, limit=LIMIT)


def _who_decides(gate: dict[str, Any]) -> str:
    """Who must approve a pending proposal, from its gate, in words."""
    count = int(gate.get("approvals_required") or 1)
    roles = (
        " or ".join(str(role).replace("_", " ") for role in gate.get("approver_roles") or []) or "approver"
    )
    needed = "1 approval" if count == 1 else f"{count} approvals from different people"
    required = gate.get("required_role")
    extra = f", one of them a {str(required).replace('_', ' ')}" if required else ""
    return f"Needs {needed} by someone with the {roles} role{extra}."


def _open_in_chat(thread_id: str) -> None:
    st.session_state[CHAT_THREAD_KEY] = thread_id
    st.switch_page(CHAT_PAGE, query_params={THREAD_PARAM: thread_id})


def _filters(requests: list[Proposal]) -> tuple[list[str], list[str]]:
    left, right = st.columns(2)
    statuses = left.multiselect(
        "Status",
        list(components.STATUS_BADGE),
        key="requests_status",
        format_func=lambda status: components.STATUS_BADGE[status][0],
        placeholder="Any status",
    )
    actions = right.multiselect(
        "Action",
        sorted({p.action for p in requests}),
        key="requests_action",
        format_func=components.action_label,
        placeholder="Any action",
    )
    return statuses, actions


def _request(proposal: Proposal, user: User) -> None:
    components.proposal_card(proposal)
    note, button = st.columns([4, 1], vertical_alignment="center")
    if proposal.status == "pending":
        note.caption(f"{_who_decides(proposal.gate)} You cannot approve your own request.")
    # Filed in their own conversation (not on their behalf by someone else): Chat can open it.
    # Not a button callback: switching pages from a callback is not allowed.
    from_their_chat = bool(proposal.thread_id) and proposal.requester == user.id
    if from_their_chat and button.button(
        "Open in chat", key=f"open-chat-{proposal.id}", icon=":material/chat:", width="stretch"
    ):
        _open_in_chat(proposal.thread_id)


def _empty_state() -> None:
    st.info(
        "You have not asked for any change yet. In Chat, ask the agent for one, for example "
        "“order 400 hex bolts M8 from Fastenal”: it files a proposal for approval, and it shows up here.",
        icon=":material/lightbulb:",
    )
    st.page_link(CHAT_PAGE, label="Go to Chat", icon=":material/chat:")


def page() -> None:
    user = runtime.require_user()
    svc = runtime.service()
    st.title("My requests")
    requests = feedback.run(lambda: _requests_of(svc, user.id))
    if requests is None:
        return
    if not requests:
        _empty_state()
        return
    waiting = sum(1 for p in requests if p.status in components.IN_FLIGHT)
    st.caption(f"{len(requests)} request(s), {waiting} still in flight. Newest first.")
    statuses, actions = _filters(requests)
    shown = [
        p for p in requests if (not statuses or p.status in statuses) and (not actions or p.action in actions)
    ]
    if not shown:
        st.info("No request matches these filters.", icon=":material/filter_alt_off:")
    count = int(st.session_state.get(SHOWN_KEY, PAGE))
    for proposal in shown[:count]:
        _request(proposal, user)
    if len(shown) > count:
        st.button(
            f"Show more ({len(shown) - count} older)",
            key="requests_more",
            on_click=lambda: st.session_state.update({SHOWN_KEY: count + PAGE}),
        )


page()
