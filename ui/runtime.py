"""The app's process-wide service and each browser session's signed-in user.

One ``AgentService`` per process and installation (``st.cache_resource``), shared by every
session; with the embedded workers it also runs the pipeline (writer, agent worker,
reconciliation, expiry) in background threads, as the chat REPL does. The signed-in user lives in
the session state, set only by ``ui.signin`` after a checked password or an identity provider.
"""

from __future__ import annotations

import atexit
import threading

import streamlit as st

from agent.logs import configure_logging
from agent.service import AgentService, User, build_service
from agent.settings import Settings, load_settings

USER_KEY = "countersign_user"
# Tests set this False: with the embedded workers and no threads, queued work is drained inline
# right after each decision, which makes a page's outcome deterministic.
START_WORKERS = True
_started: list[AgentService] = []
_lock = threading.Lock()


def _installation_key(settings: Settings) -> str:
    # Secrets dump masked; the rest (data dir, database and broker URLs) tells installations apart.
    return settings.model_dump_json()


@st.cache_resource(show_spinner="Starting Countersign…", max_entries=4)
def _service_for(key: str) -> AgentService:
    settings = load_settings()
    configure_logging(settings.log_file, settings.log_level)
    svc = build_service(settings)
    if START_WORKERS and settings.workers == "embedded" and svc.pipeline is not None:
        svc.pipeline.start(["all"])  # writes, results, ERP events and the standing jobs, in this process
    with _lock:
        _started.append(svc)
    return svc


def service() -> AgentService:
    """The installation this process serves (built on first use)."""
    return _service_for(_installation_key(load_settings()))


def shutdown() -> None:
    """Stop every service this process started (its workers first); the next use builds anew."""
    with _lock:
        started = list(_started)
        _started.clear()
    for svc in started:
        svc.close()
    _service_for.clear()


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
