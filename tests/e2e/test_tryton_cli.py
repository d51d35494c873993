"""``countersign erp`` in real processes, as an operator uses it: create a Tryton database with the
demo data, serve it in the foreground, point the settings at it and ask whether it answers; then
stop the server as Ctrl-C does."""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from erp_acl.errors import ErpError
from erp_acl.tryton.rpc import TrytonRpc
from erp_acl.tryton.server import HOST, free_port
from tests.conftest import REPO, cli_env, run_cli

# Creating the database loads the whole demo data set into Tryton: minutes on a small machine.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1200)]

NAME = "demo"
PASSWORD = "demo-admin-pw"


def server_answers(port: int) -> bool:
    try:
        TrytonRpc(f"http://{HOST}:{port}", NAME, "", "", timeout=2.0).server_version()
    except ErpError:
        return False
    return True


def wait_until_served(serve: subprocess.Popen[str], port: int, timeout: float = 180.0) -> None:
    """Poll until the server answers (or fail with what the command said when it exited)."""
    deadline = time.monotonic() + timeout
    while not server_answers(port):
        if serve.poll() is not None:
            out, err = serve.communicate()
            pytest.fail(f"tryton-serve exited with {serve.returncode}: {err or out}")
        if time.monotonic() > deadline:
            pytest.fail(f"tryton-serve did not answer on port {port} within {timeout:.0f} s")
        time.sleep(0.2)


def single_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_tryton_setup_then_serve_then_status_answers_and_ctrl_c_stops_the_server(tmp_path: Path) -> None:
    if importlib.util.find_spec("trytond") is None:
        pytest.skip("Tryton is not installed (uv sync --extra tryton)")
    data_dir, directory = tmp_path / "var", tmp_path / "tryton"
    password_file = tmp_path / "admin-password"
    password_file.write_text(PASSWORD + "\n")

    setup = run_cli(
        data_dir,
        "erp",
        "tryton-setup",
        "--directory",
        str(directory),
        "--name",
        NAME,
        "--admin-password-file",
        str(password_file),
        timeout=1100,
    )

    assert setup.returncode == 0, setup.stderr
    assert (directory / f"{NAME}.sqlite").is_file()
    steps = re.findall(r"^\s+\d+\.\d s  \S.*$", setup.stderr, re.M)
    assert len(steps) >= 3, setup.stderr  # each step's progress, as it starts
    erp_line = re.search(r"^COUNTERSIGN_ERP=(\S+)$", setup.stdout, re.M)
    assert erp_line is not None, setup.stdout
    assert erp_line.group(1) == f"tryton+http://admin@{HOST}:8000/{NAME}"
    assert f"tryton-serve --directory {directory.resolve()} --name {NAME}" in setup.stdout
    assert PASSWORD not in setup.stdout + setup.stderr

    again = run_cli(data_dir, "erp", "tryton-setup", "--directory", str(directory), "--name", NAME)
    assert "already exists" in single_error_line(again)

    port = free_port()
    erp = f"tryton+http://admin@{HOST}:{port}/{NAME}"
    serve_args = ["erp", "tryton-serve", "--directory", str(directory), "--name", NAME, "--port", str(port)]
    serve = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", *serve_args],
        cwd=REPO,
        env=cli_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_served(serve, port)
        env = {"COUNTERSIGN_ERP": erp, "COUNTERSIGN_ERP_PASSWORD": PASSWORD}

        status = run_cli(data_dir, "erp", "status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["erp"] == "tryton"
        assert report["location"] == erp
        assert report["answers"] is True
        assert report["version"] == "8.2"
        assert report["signed_in"] is True

        said = run_cli(data_dir, "erp", "status", env=env)
        assert said.returncode == 0, said.stderr
        assert f"ERP: tryton at {erp}" in said.stdout
        assert "Tryton 8.2 answers" in said.stdout

        refused = run_cli(
            data_dir, "erp", "status", env={**env, "COUNTERSIGN_ERP_PASSWORD": "not-the-password"}
        )
        assert "refused the login of 'admin'" in single_error_line(refused)
        assert "not-the-password" not in refused.stdout + refused.stderr

        seeding = run_cli(data_dir, "seed", env=env)
        assert "countersign erp tryton-setup" in single_error_line(seeding)
    finally:
        serve.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, err = serve.communicate(timeout=60)

    assert serve.returncode == 0, err
    assert f"on http://{HOST}:{port}" in out
    assert f"COUNTERSIGN_ERP={erp}" in out
    assert not server_answers(port)  # trytond went with it


def test_the_erp_commands_refuse_in_one_line_what_they_cannot_do(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"

    no_database = run_cli(data_dir, "erp", "tryton-serve", "--directory", str(tmp_path / "none"))
    assert "countersign erp tryton-setup" in single_error_line(no_database)

    unreachable = run_cli(
        data_dir,
        "erp",
        "status",
        env={
            "COUNTERSIGN_ERP": f"tryton+http://admin@{HOST}:{free_port()}/x",
            "COUNTERSIGN_ERP_PASSWORD": "pw",
        },
    )
    assert "unreachable" in single_error_line(unreachable)

    password_in_url = run_cli(
        data_dir, "erp", "status", env={"COUNTERSIGN_ERP": f"tryton+http://admin:hunter22@{HOST}:8000/x"}
    )
    line = single_error_line(password_in_url)
    assert "COUNTERSIGN_ERP_PASSWORD" in line
    assert "hunter22" not in password_in_url.stdout + password_in_url.stderr

    legacy = run_cli(data_dir, "erp", "status", "--json")
    assert legacy.returncode == 1
    assert json.loads(legacy.stdout)["erp"] == "legacy"
    assert "countersign seed" in legacy.stderr
