"""Each browser session's signed-in user, and the process-wide service (built by ``ui.boot``).

The signed-in user lives in the session state, set only by ``ui.signin`` after a checked
password or an identity provider.
"""

from __future__ import annotations

import atexit

import streamlit as st

from agent.service import AgentService, User
from ui import boot

USER_KEY = "countersign_user"


def service() -> AgentService:
    """The installation this process serves (built at server start, or on first use)."""
    return boot.service()


def shutdown() -> None:
    """Stop every service this process started (its workers first); the next use builds anew."""
    boot.shutdown()


atexit.register(shutdown)


def current_user() -> User | None:
    user_id = st.session_state.get(USER_KEY)
    if not isinstance(user_id, str):
        return None
    try:
        return service().user(user_id)
    except Exception:  # removed from the users file since: signed out
        st.session_state.pop(USER_KEY, None)
        return None


def sign_in_as(user: User) -> None:
    st.session_state[USER_KEY] = user.id


def require_user() -> User:
    """The signed-in user; a page that runs without one stops here (the app shows the sign-in)."""
    user = current_user()
    if user is None:
        st.warning("Your session has ended. Sign in again to continue.")
        st.stop()
    return user
