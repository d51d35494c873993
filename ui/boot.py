"""The app's process-wide service, built in the background as soon as the server starts, and the
"starting…" page people see until it is ready.

One ``AgentService`` per process and installation, shared by every session; with the embedded
workers it also runs the pipeline (writer, agent worker, reconciliation, expiry) in background
threads. ``python -m ui`` calls ``start()`` before the server takes its first request, so a first
visitor meets a usable page instead of a blank one while LangGraph and LangChain load (seconds).
This module imports nothing of the agent at module level for the same reason: the app imports it
first, to answer at once.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from agent.service import AgentService

# Tests set this False: with the embedded workers and no threads, queued work is drained inline
# right after each decision, which makes a page's outcome deterministic.
START_WORKERS = True

STEPS = ("Loading the agent", "Opening the ERP and the approvals database", "Starting the workers")


class _Build(Future["AgentService"]):
    """A service being built, and the step it has reached (an index into ``STEPS``)."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0


_agent_loaded = threading.Event()
_lock = threading.Lock()
_builds: dict[str, _Build] = {}


def _installation_key() -> str:
    from agent.settings import load_settings

    # Secrets dump masked; the rest (data dir, database and broker URLs) tells installations apart.
    return load_settings().model_dump_json()


def _build(done: _Build) -> None:
    try:
        from agent.logs import configure_logging
        from agent.service import build_service  # LangGraph and LangChain: most of a cold start
        from agent.settings import load_settings

        _agent_loaded.set()
        done.step = 1
        settings = load_settings()
        configure_logging(settings.log_file, settings.log_level)
        svc = build_service(settings)
        done.step = 2
        if START_WORKERS and settings.workers == "embedded" and svc.pipeline is not None:
            svc.pipeline.start(["all"])  # writes, results, ERP events and the standing jobs, in this process
    except BaseException as exc:  # handed to whoever asks for the service, shown there in one line
        done.set_exception(exc)
    else:
        done.set_result(svc)


def start() -> _Build:
    """The build of this installation's service: started now unless it already runs or is done."""
    key = _installation_key()
    with _lock:
        build = _builds.get(key)
        if build is None:
            build = _builds[key] = _Build()
            threading.Thread(target=_build, args=(build,), name="countersign-start", daemon=True).start()
    return build


def ready(wait_seconds: float = 0.0) -> bool:
    """True once the service is built (or its build failed, which the app then shows)."""
    try:
        start().exception(timeout=wait_seconds)
    except TimeoutError:
        return False
    return True


def cold() -> bool:
    """True until the agent's modules have loaded in this process (the slow part of a start)."""
    return not _agent_loaded.is_set()


def service() -> AgentService:
    """The installation this process serves, waiting for its build. A failed build raises its
    error here once and is forgotten, so the next request tries again (a database that was down)."""
    build = start()
    try:
        return build.result()
    except BaseException:
        with _lock:
            for key, known in list(_builds.items()):
                if known is build:
                    del _builds[key]
        raise


def shutdown() -> None:
    """Stop every service this process built (its workers first); the next use builds anew."""
    with _lock:
        builds = list(_builds.values())
        _builds.clear()
    for build in builds:
        if build.done() and build.exception() is None:
            build.result().close()


def show_starting() -> None:
    """The page shown while the service is built: what is happening, refreshed every second until
    the service is ready, when the whole app runs again."""
    with st.container(key="starting"):
        st.subheader("Countersign is starting…")
        st.caption("The server has just started. This page continues by itself in a moment.")
        _starting_progress()


@st.fragment(run_every=1.0)
def _starting_progress() -> None:
    build = start()
    if build.done():
        st.rerun(scope="app")
    step = build.step
    st.progress(step / len(STEPS), text=f"Step {step + 1} of {len(STEPS)} · {STEPS[step]}…")
