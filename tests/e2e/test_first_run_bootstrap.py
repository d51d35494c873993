"""The set-up on a fresh machine: uv is installed for the user on first use, also on Debian's and
Ubuntu's own Python (which refuses ``pip install --user``, PEP 668), and ``./countersign`` runs the
product's command right after, with nothing added to PATH."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.test_web_app_cli import free_port, lines_of, read_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SYSTEM_PYTHON = Path("/usr/bin/python3")


def externally_managed(python: Path) -> bool:
    if not python.exists():
        return False
    stdlib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


def fresh_machine(home: Path) -> dict[str, str]:
    """A user with an empty home, no uv anywhere on PATH and the system's own Python first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COUNTERSIGN_", "XDG_", "VIRTUAL_ENV", "UV_", "PYENV"))
    }
    env.update(HOME=str(home), PATH="/usr/bin:/bin", PYTHON=str(SYSTEM_PYTHON))
    # The project's packages are already in the uv cache of whoever ran `make test`: share it so
    # only uv itself is fetched (the point here is the bootstrap, not the download speed).
    env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
    return env


@pytest.mark.skipif(
    not externally_managed(SYSTEM_PYTHON), reason="needs a system Python marked externally managed (PEP 668)"
)
def test_an_externally_managed_python_gets_uv_and_the_readmes_next_command_works(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = fresh_machine(home)
    assert subprocess.run(["sh", "-c", "command -v uv"], env=env, capture_output=True).returncode != 0
    refused = subprocess.run(
        [str(SYSTEM_PYTHON), "-m", "pip", "install", "--user", "--dry-run", "uv"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "externally-managed-environment" in refused.stderr  # the trap the bootstrap must avoid

    first = subprocess.run(["sh", str(REPO / "scripts/ensure-uv")], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    uv = Path(first.stdout.strip())
    assert uv.is_relative_to(home) and "Installing uv" in first.stderr
    assert subprocess.run([str(uv), "--version"], capture_output=True).returncode == 0

    again = subprocess.run(["sh", str(REPO / "scripts/ensure-uv")], env=env, capture_output=True, text=True)
    assert again.stdout.strip() == str(uv) and again.stderr == ""

    data_dir = tmp_path / "var"
    listed = subprocess.run(
        [str(REPO / "countersign"), "users", "list"],
        env={**env, "COUNTERSIGN_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    assert "alice" in listed.stdout


def test_the_bootstrap_says_in_one_line_when_there_is_no_python_to_install_uv_with(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": "/nonexistent", "PYTHON": "no-such-python"}
    result = subprocess.run(
        ["/bin/sh", str(REPO / "scripts/ensure-uv")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "install Python 3.11+ (or uv) first" in result.stderr


def test_make_run_from_an_empty_home_serves_the_app_and_the_readmes_next_command_works(
    tmp_path: Path,
) -> None:
    # The README's two set-up steps on a fresh home, no terminal input (a pipe nobody writes to),
    # uv already installed (the bootstrap test above covers installing it).
    home = tmp_path / "home"
    home.mkdir()
    uv = subprocess.run(["sh", str(REPO / "scripts/ensure-uv")], capture_output=True, text=True, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "DISPLAY", "WAYLAND"))}
    env.update(
        HOME=str(home),
        PATH=f"{Path(uv.stdout.strip()).parent}:/usr/bin:/bin",
        COUNTERSIGN_DATA_DIR=str(tmp_path / "var"),
        UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
    )
    port = free_port()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make, uv and the server: stopped together below
    )
    try:
        printed = read_until(lines_of(server), "alice / alice-demo", seconds=240)
        assert f"Countersign is ready: open http://127.0.0.1:{port}" in printed
        asked = subprocess.run(
            [str(REPO / "countersign"), "chat", "--user", "alice", "how many hex bolts M8 do we have?"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert asked.returncode == 0, asked.stderr
        assert "Hex bolt M8" in asked.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=60)
