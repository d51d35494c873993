"""My requests: every change the signed-in person asked for, where it stands, and the way back.

A request is a proposal they filed (or that was filed on their behalf). One compact table, newest
first, sortable by any column (click its header), searchable by words, codes or id and filtered by
status and action; choosing a row (or opening ``?proposal=P-…``) shows its card with the live
status, who still has to approve it, and a button that opens the conversation it came from in Chat.
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
PROPOSAL_PARAM = "proposal"
REQUEST_KEY = "requests_open"
LIMIT = 500


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


def matches(proposal: Proposal, words: str) -> bool:
    """Whether every word of a search is in the request's id, summary, action or status (any case)."""
    haystack = " ".join(
        [
            proposal.id,
            proposal.summary,
            components.action_label(proposal.action),
            components.STATUS_BADGE.get(proposal.status, (proposal.status, ""))[0],
            proposal.status,
        ]
    ).casefold()
    return all(word in haystack for word in words.casefold().split())


def _outcome(proposal: Proposal) -> str:
    """Where a request stands beyond its status, in a few words."""
    if proposal.status == "pending":
        approved = len(proposal.current_approvals())
        needs = int(proposal.gate.get("approvals_required") or 1)
        return f"{approved} of {needs} approval{'' if needs == 1 else 's'}"
    if proposal.status == "committed":
        return components.erp_document(proposal) or ""
    if proposal.status in ("rejected", "expired") and proposal.approvals:
        last = proposal.approvals[-1]
        return f"{last.actor}: {last.reason}" if last.reason else last.actor
    if proposal.status == "failed":
        return proposal.error or ""
    return ""


def _table(shown: list[Proposal]) -> None:
    # Narrow columns for the short facts, so the request itself gets the width it needs.
    st.dataframe(
        {
            "ID": [p.id for p in shown],
            "Requested": [p.created_at for p in shown],
            "Request": [p.summary for p in shown],
            "Amount": [components.money(p.gate.get("amount")) for p in shown],
            "Status": [components.STATUS_BADGE.get(p.status, (p.status, ""))[0] for p in shown],
            "Outcome": [_outcome(p) for p in shown],
        },
        key="requests_table",
        hide_index=True,
        width="stretch",
        column_config={
            "ID": st.column_config.TextColumn(width=105),
            "Requested": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", width=130),
            "Request": st.column_config.TextColumn(width=370),
            "Amount": st.column_config.TextColumn(width=95),
            "Status": st.column_config.TextColumn(width=140),
        },
    )


def _chosen(shown: list[Proposal]) -> Proposal | None:
    """The request whose detail is open: chosen below the table, or named in the URL."""
    by_id = {p.id: p for p in shown}
    wanted = st.query_params.get(PROPOSAL_PARAM)
    if wanted in by_id and REQUEST_KEY not in st.session_state:
        st.session_state[REQUEST_KEY] = wanted
    chosen = st.selectbox(
        "Details of a request",
        list(by_id),
        key=REQUEST_KEY,
        index=None,
        format_func=lambda pid: f"{pid} · {by_id[pid].summary}",
        placeholder="Choose a request to see its details",
    )
    if chosen is None:
        st.query_params.pop(PROPOSAL_PARAM, None)
        return None
    st.query_params[PROPOSAL_PARAM] = chosen
    return by_id[chosen]


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
    st.caption(
        f"{components.plural(len(requests), 'request')}, {waiting} still in flight. "
        "Newest first; click a column to sort."
    )
    words = st.text_input(
        "Search", key="requests_search", placeholder="Words, codes or a proposal id", icon=":material/search:"
    )
    statuses, actions = _filters(requests)
    shown = [
        p
        for p in requests
        if (not statuses or p.status in statuses)
        and (not actions or p.action in actions)
        and matches(p, words or "")
    ]
    if not shown:
        st.info("No request matches this search and these filters.", icon=":material/filter_alt_off:")
        return
    _table(shown)
    proposal = _chosen(shown)
    if proposal is not None:
        _request(proposal, user)


page()
