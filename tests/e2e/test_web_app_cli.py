"""``countersign ui`` on a fresh installation: it seeds the bundled ERP and serves the app; and the
``countersign users`` commands that manage sign-in."""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from agent.passwords import verify_password
from tests.conftest import REPO, cli_env, run_cli

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"countersign ui exited {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never became healthy")


def test_countersign_ui_seeds_a_fresh_installation_and_serves_the_app(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "ui", "--no-open", "--port", str(port)],
        cwd=REPO,
        env=cli_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
            assert answer.status == 200 and b"<html" in answer.read().lower()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Seeded the legacy ERP" in output
    assert f"http://127.0.0.1:{port}" in output
    again = run_cli(data_dir, "seed", "--if-empty", check=True)
    assert "already has data" in again.stdout


def read_until(lines: queue.Queue[str | None], marker: str, seconds: float) -> str:
    """What was printed up to and including the line containing ``marker``; fails with the output
    so far when ``seconds`` pass or the output ends first."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {seconds:.0f} s; printed:\n{''.join(seen)}")


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """Each line ``process`` prints, as it prints it (None once its output ends)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_a_first_run_from_an_empty_home_never_waits_for_input_and_says_how_to_sign_in(
    tmp_path: Path,
) -> None:
    # A first `make run`: no ~/.streamlit, no display, a terminal nobody types into (a pipe held
    # open). Streamlit's first-run e-mail prompt would wait on it for ever.
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = {k: v for k, v in cli_env(tmp_path / "var").items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "ui", "--port", str(port)],
        cwd=REPO,
        env={**env, "HOME": str(home)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    try:
        printed = read_until(lines_of(process), "dave / dave-demo", seconds=150)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as answer:
            assert answer.read() == b"ok"
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert f"Countersign is ready: open http://127.0.0.1:{port}" in printed
    assert "alice / alice-demo  (Alice Almeida: clerk)" in printed
    assert "Email:" not in printed
    assert not (home / ".streamlit").exists()


def test_a_bad_port_is_refused_in_one_line(data_dir: Path) -> None:
    result = run_cli(data_dir, "ui", "--port", "70000")
    assert result.returncode == 2 and "Invalid value for '--port'" in result.stderr


def test_users_list_shows_how_each_user_signs_in(data_dir: Path) -> None:
    result = run_cli(data_dir, "users", "list", check=True)
    assert "alice" in result.stdout and "password; SSO as alice@example.com" in result.stdout


def hash_password_cli(data_dir: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", "users", "hash-password", "--stdin"],
        cwd=REPO,
        env=cli_env(data_dir),
        input=f"{password}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hash_password_prints_a_hash_for_the_users_file_and_refuses_a_short_one(data_dir: Path) -> None:
    made = hash_password_cli(data_dir, "long enough secret")
    assert made.returncode == 0, made.stderr
    assert verify_password("long enough secret", made.stdout.strip())

    short = hash_password_cli(data_dir, "short")
    assert short.returncode == 1 and short.stderr == "error: a password needs at least 8 characters\n"
