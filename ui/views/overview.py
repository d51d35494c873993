"""Overview: how the approval flow is doing, for approvers, finance directors and auditors.

What waits now (pending, overdue), how long people take to decide, and per action how often the
agent's proposals are approved and how they end. These figures are also the evidence for changing
an action's autonomy in the policy, so they come from every proposal, not a sample.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

from agent.service import ActionRate, AgentService, Overview
from ui import components, feedback, runtime

OUTCOME_LABEL: dict[str, tuple[str, str]] = {
    # outcome: (series label, theme colour)
    "approved_unchanged": ("approved as proposed", "green"),
    "edited": ("approved after edits", "blue"),
    "rejected": ("rejected", "red"),
    "expired": ("expired", "gray"),
    "failed": ("failed in the ERP", "orange"),
}
MAX_DAYS_SHOWN = 366
CHART_HEIGHT = 260
MIN_DAYS_SHOWN = 14  # a short history still reads as days on a calendar, not one wide bar


def readable(delta: timedelta | None) -> str:
    """A duration as a person says it; none measured yet is a dash."""
    if delta is None:
        return "—"
    if delta < timedelta(minutes=1):
        return "under a minute"
    return components.age(delta)


def _metrics(figures: Overview) -> None:
    pending, overdue, median, decided = st.columns(4)
    pending.metric("Pending", figures.pending, help="Proposals waiting for a decision now")
    overdue.metric("Overdue", figures.overdue, help="Pending past their reminder time, escalated or expired")
    median.metric(
        "Median time to decision",
        readable(figures.median_time_to_decision),
        help="From the proposal to the decision that settled it",
    )
    decided.metric("Decided", figures.decided, help="Proposals a person approved, edited or rejected")


def _approval_rates(rates: list[ActionRate]) -> None:
    measured = [r for r in rates if r.approval_rate is not None]
    st.markdown("**Approval rate per action**")
    data = {
        "action": [components.action_label(r.action) for r in measured],
        "approval rate (%)": [round(100 * (r.approval_rate or 0.0), 1) for r in measured],
    }
    # A spec rather than st.bar_chart: the axis must run to 100 %, or 50 % fills the whole width.
    spec: dict[str, Any] = {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "action", "type": "nominal", "title": None},
            "x": {
                "field": "approval rate (%)",
                "type": "quantitative",
                "scale": {"domain": [0, 100]},
                "title": "approved, % of decided",
            },
        },
    }
    st.vega_lite_chart(data, spec, width="stretch", height=CHART_HEIGHT)


def _outcomes(outcomes: dict[str, dict[str, int]]) -> None:
    st.markdown("**How proposals ended, per action**")
    actions = sorted(outcomes)
    data: dict[str, list[Any]] = {"action": [components.action_label(a) for a in actions]}
    for outcome, (label, _) in OUTCOME_LABEL.items():
        data[label] = [outcomes[a].get(outcome, 0) for a in actions]
    st.bar_chart(
        data,
        x="action",
        y=[label for label, _ in OUTCOME_LABEL.values()],
        color=[colour for _, colour in OUTCOME_LABEL.values()],
        x_label="",
        y_label="proposals",
        stack=True,
        horizontal=True,
    )


def _every_day(per_day: dict[date, int]) -> dict[str, list[Any]]:
    """Decisions per day with the quiet days as zeros, so gaps read as gaps (two weeks to a year)."""
    last = max(per_day)
    first = min(min(per_day), last - timedelta(days=MIN_DAYS_SHOWN - 1))
    first = max(first, last - timedelta(days=MAX_DAYS_SHOWN - 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {"day": [d.isoformat() for d in days], "decisions": [per_day.get(d, 0) for d in days]}


def _per_day(per_day: dict[date, int]) -> None:
    st.markdown("**Decisions per day (UTC)**")
    # UTC days, each bar a day wide: the browser's time zone must not move a decision to another day.
    spec: dict[str, Any] = {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "day", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": None},
            "y": {"field": "decisions", "type": "quantitative", "axis": {"tickMinStep": 1}},
        },
    }
    st.vega_lite_chart(_every_day(per_day), spec, width="stretch", height=CHART_HEIGHT)


def _table(rates: list[ActionRate]) -> None:
    rows = [
        {
            "action": components.action_label(r.action),
            "decided": r.decided,
            "approved": r.approved,
            "rejected": r.rejected,
            "expired": r.expired,
            "failed in the ERP": r.failed,
            "approval rate": "—" if r.approval_rate is None else f"{r.approval_rate:.0%}",
        }
        for r in rates
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def _charts(svc: AgentService, figures: Overview) -> None:
    ended = feedback.run(svc.outcomes) or {}
    # As plain strings: the outcome names are a Literal type the page has no need to know.
    outcomes = {action: {str(k): n for k, n in counts.items()} for action, counts in ended.items()}
    left, right = st.columns(2)
    with left:
        _approval_rates(figures.rates)
    with right:
        if figures.decisions_per_day:
            _per_day(figures.decisions_per_day)
    if outcomes:
        _outcomes(outcomes)
    _table(figures.rates)


def _events_needing(svc: AgentService) -> None:
    runs = feedback.run(lambda: svc.event_runs_needing_a_person()) or []
    if not runs:
        return
    st.warning(
        f"{components.plural(len(runs), 'ERP event run')} ended without doing what it was for "
        "(a fact missing, no proposal filed, a failure); each owner sees it in their chat.",
        icon=":material/notification_important:",
    )
    st.dataframe(
        {
            "when": [components.when(r.created_at) for r in runs],
            "owner": [r.owner for r in runs],
            "status": [r.status.replace("_", " ") for r in runs],
            "what": [r.detail or r.summary for r in runs],
        },
        hide_index=True,
        width="stretch",
    )


def render() -> None:
    runtime.require_user()
    svc = runtime.service()
    st.title("Overview")
    figures = feedback.run(svc.overview)
    if figures is None:
        return
    _metrics(figures)
    _events_needing(svc)
    if not figures.rates:
        st.info(
            "Nothing has been decided yet: approval rates and outcomes appear here once approvers decide "
            "proposals in their inbox.",
            icon=":material/info:",
        )
        return
    _charts(svc, figures)


render()
