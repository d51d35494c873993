"""Errors as people should see them: one line saying what happened and what to do next.

A refusal the service explains (segregation of duties, already decided, a bad edit) is shown as it
is, with a hint for the next step. Anything unexpected is logged with its traceback under a short
reference and the user sees only that reference: no raw traceback ever reaches a page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from agent.service import USER_ERRORS

T = TypeVar("T")
# Errors raised on purpose with a message meant for people (ValueError: bad input, e.g. a filter).
EXPLAINED: tuple[type[Exception], ...] = (*USER_ERRORS, ValueError)
log = logging.getLogger("countersign.ui")

NEXT_STEP: dict[str, str] = {
    "AlreadyDecided": "The inbox now shows where it stands.",
    "ProposalNotFound": "Check the proposal id, or pick one from the list.",
    "EditError": "Change only the fields the form shows.",
    "ThreadAccessDenied": "Pick one of your conversations, or start a new one.",
    "ErpError": "The ERP did not accept or answer the request; try again in a moment.",
    "BusUnavailable": "The message queue is unreachable; try again in a moment. Nothing was lost.",
    "TokenRefused": "Try again; if it keeps happening, tell your administrator.",
    "StaleProposal": "The ERP data changed since the proposal; reject it and ask the agent again.",
}


def explain(exc: BaseException) -> str:
    """The one line shown for an error the service raised on purpose."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    hint = NEXT_STEP.get(type(exc).__name__)
    return f"{first.rstrip('.')}. {hint}" if hint else first


def _control_flow(exc: BaseException) -> bool:
    # st.stop, st.rerun and st.switch_page work by raising; they are not errors.
    return any(c.__name__ == "ScriptControlException" for c in type(exc).__mro__)


def unexpected(exc: BaseException) -> str:
    reference = uuid.uuid4().hex[:8]
    log.error("unexpected error in the web app (reference %s)", reference, exc_info=exc)
    return (
        f"Something went wrong on our side (reference {reference}). Try again; if it keeps "
        "happening, give this reference to your administrator."
    )


def run(action: Callable[[], T]) -> T | None:
    """Run ``action``; on an error show it in one line (with what to do next) and return None."""
    try:
        return action()
    except EXPLAINED as exc:
        st.error(explain(exc), icon=":material/warning:")
    except Exception as exc:
        if _control_flow(exc):
            raise
        st.error(unexpected(exc), icon=":material/error:")
    return None


def attempt(action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``action``; on an error return its one line instead of showing it, so the page can show
    it where the person is looking (beside the button they clicked)."""
    try:
        return action(), None
    except EXPLAINED as exc:
        return None, explain(exc)
    except Exception as exc:
        if _control_flow(exc):
            raise
        return None, unexpected(exc)


@contextmanager
def shown_errors() -> Iterator[None]:
    """Around a whole page: whatever escapes it is shown as one line instead of a traceback."""
    try:
        yield
    except EXPLAINED as exc:
        st.error(explain(exc), icon=":material/warning:")
    except Exception as exc:
        if _control_flow(exc):
            raise
        st.error(unexpected(exc), icon=":material/error:")
