"""A cold start answers at once: while the service is being built the app shows where the start
has got to, and it continues to the sign-in by itself once the service is ready."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import boot
from ui.boot import _Build

APP = Path(boot.__file__).with_name("app.py")


def test_a_page_opened_during_a_cold_start_says_what_is_happening_then_continues(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("COUNTERSIGN_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COUNTERSIGN_DATA_DIR", str(data_dir))
    monkeypatch.setattr(boot, "START_WORKERS", False)
    release = threading.Event()
    real_build = boot._build

    def slow_build(done: _Build) -> None:
        done.step = 1  # as if the agent had loaded and the databases were being opened
        assert release.wait(timeout=120), "the test never released the build"
        real_build(done)

    monkeypatch.setattr(boot, "_build", slow_build)
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception
        assert [h.value for h in at.subheader] == ["Countersign is starting…"]
        assert "Step 2 of 3 · Opening the ERP and the approvals database" in at.get("progress")[0].proto.text

        release.set()
        boot.service()  # the build finishes
        at.run()
        assert not at.exception
        assert not at.subheader or at.subheader[0].value != "Countersign is starting…"
        assert at.text_input(key="sign_in_user") is not None
    finally:
        release.set()
        boot.shutdown()
