"""Fixtures for the web app's page tests: a fresh installation served by ``ui.runtime`` and
``AppTest`` runs of the real ``ui/app.py`` as a signed-in user.

The service runs without worker threads, so queued writes drain inline after each decision and
every page's outcome is deterministic. Tests arrange data through the same service object the
pages use (``ui_service``), then drive the page as a person would.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.service import AgentService, Proposal
from ui import boot, runtime

APP = Path(runtime.__file__).with_name("app.py")
PAGES = {
    "chat": "views/chat.py",
    "requests": "views/my_requests.py",
    "inbox": "views/inbox.py",
    "audit": "views/audit.py",
    "reconciliation": "views/reconciliation.py",
    "overview": "views/overview.py",
}


@pytest.fixture
def ui_service(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AgentService]:
    for name in [n for n in os.environ if n.startswith(("COUNTERSIGN_", "OPENAI_"))]:
        monkeypatch.delenv(name)  # a fresh installation: none of the caller's settings
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(data_dir))
    monkeypatch.setattr(boot, "START_WORKERS", False)
    svc = runtime.service()
    yield svc
    runtime.shutdown()


AppAs = Callable[..., AppTest]


@pytest.fixture
def app_as(ui_service: AgentService) -> AppAs:
    """``app_as("bob", "inbox")``: the app as it renders for a signed-in user on one page."""

    def open_app(user_id: str | None, page: str | None = None, **query: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        if user_id is not None:
            at.session_state[runtime.USER_KEY] = user_id
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page is not None:
            at.switch_page(PAGES[page]).run()
        return at

    return open_app


def file_purchase_order(svc: AgentService, user_id: str = "alice", quantity: int = 400) -> Proposal:
    """A pending purchase order filed through a real chat turn."""
    result = svc.chat(user_id, f"order {quantity} hex bolts M8 from Fastenal")
    assert result.proposals, result.reply
    return result.proposals[0]
