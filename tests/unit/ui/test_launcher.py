"""The web app's launcher: a headless server that never waits for input, and a browser opened
only where one can appear."""

from __future__ import annotations

from ui.__main__ import can_open_browser, local_url, streamlit_argv, wait_until_healthy


def test_streamlit_always_runs_headless_so_a_first_run_never_prompts() -> None:
    argv = streamlit_argv(8501, "127.0.0.1")
    assert "--server.headless=true" in argv
    assert not any(arg.startswith("--server.headless=false") for arg in argv)


def test_a_browser_opens_on_a_desktop_and_never_on_a_machine_without_a_display() -> None:
    assert can_open_browser("darwin", {})
    assert can_open_browser("win32", {})
    assert can_open_browser("linux", {"DISPLAY": ":0"})
    assert can_open_browser("linux", {"WAYLAND_DISPLAY": "wayland-0"})
    assert not can_open_browser("linux", {})
    assert not can_open_browser("linux", {"DISPLAY": ""})


def test_a_wildcard_bind_is_announced_on_loopback_and_a_named_address_as_it_is() -> None:
    assert local_url("0.0.0.0", 8501) == "http://127.0.0.1:8501"
    assert local_url("10.1.2.3", 9000) == "http://10.1.2.3:9000"


def test_the_health_wait_stops_once_the_server_answers_ok() -> None:
    answers = iter([False, False, True])
    asked: list[str] = []

    def probe(url: str) -> bool:
        asked.append(url)
        return next(answers)

    assert wait_until_healthy("http://127.0.0.1:1", 60, probe=probe, pause=0)
    assert asked == ["http://127.0.0.1:1/_stcore/health"] * 3


def test_the_health_wait_gives_up_when_the_time_is_over() -> None:
    assert not wait_until_healthy("http://127.0.0.1:1", 0, probe=lambda _: True)
