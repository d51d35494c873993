"""Run a Tryton server on a free local port for a directory of SQLite databases.

Tryton's SQLite backend keeps each database as ``<directory>/<name>.sqlite``; the configuration
file we write points the server there and makes it listen on ``127.0.0.1:<port>``. ``start_server``
waits until the server answers JSON-RPC, or fails with one line that says why (the last line of the
server's log). The server answers one request at a time (``sqlite_server`` says why). Meant for
tests, demos and database preparation, not for production serving.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from erp_acl.errors import ErpError
from erp_acl.tryton.rpc import TrytonRpc, one_line

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
INSTALL_HINT = "install the 'tryton' extra (uv sync --extra tryton)"


def tryton_command(name: str) -> str:
    """Path of a Tryton console script (``trytond``, ``trytond-admin``): next to this Python first."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ErpError(f"{name} is not installed; {INSTALL_HINT}")
    return found


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(directory: Path, port: int | None = None) -> Path:
    """Write ``trytond.conf`` for SQLite databases in ``directory`` (listening on ``port`` if given)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "[database]",
        "uri = sqlite://",
        f"path = {directory}",
        "list = False",
        "",
        "[web]",
        f"listen = {HOST}:{port or 8000}",
        "",
        "[session]",
        "timeout = 3600",
        "",
    ]
    config = directory / "trytond.conf"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def clean_environment() -> dict[str, str]:
    """The environment for Tryton processes, without ``TRYTOND_*`` overrides of our configuration."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRYTOND_")}


@dataclass
class TrytonServer:
    """A running ``trytond``; stop it with ``stop()`` or use it as a context manager."""

    directory: Path
    database: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started_in: float = field(default=0.0)
    """Seconds from launch until the server answered."""

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def rpc_url(self) -> str:
        return f"{self.base_url}/{self.database}/rpc/"

    def client(self, user: str = "admin", password: str = "admin", *, login: bool = True) -> TrytonRpc:
        """A JSON-RPC client on this server's database (logged in unless ``login=False``)."""
        rpc = TrytonRpc(self.base_url, self.database, user, password)
        if login:
            rpc.login()
        return rpc

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (terminate, then kill if it lingers); harmless when already stopped."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> TrytonServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _last_log_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line]
    except OSError:
        return "no log"
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return one_line((errors or lines or ["empty log"])[-1], 200)


def start_server(
    directory: Path, database: str, *, port: int | None = None, timeout: float = START_TIMEOUT
) -> TrytonServer:
    """Start a Tryton server for ``<directory>/<database>.sqlite`` and wait until it answers.

    Raises ``ErpError`` (one line) if the database file is missing, or the server exits or stays
    silent for ``timeout`` seconds.
    """
    directory = directory.resolve()
    if importlib.util.find_spec("trytond") is None:
        raise ErpError(f"trytond is not installed; {INSTALL_HINT}")
    if not (directory / f"{database}.sqlite").exists():
        raise ErpError(f"no Tryton database {database!r} in {directory} (prepare it first)")
    port = port or free_port()
    config = write_config(directory, port)
    log_path = directory / f"trytond-{port}.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            # Not the stock ``trytond``: its threads would share one SQLite connection (see sqlite_server).
            [sys.executable, "-m", "erp_acl.tryton.sqlite_server", "-c", str(config), "-d", database],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=clean_environment(),
            cwd=directory,
        )
    server = TrytonServer(directory, database, port, process, log_path)
    probe = TrytonRpc(server.base_url, database, "", "", timeout=2.0)
    deadline = started + timeout
    while True:
        if process.poll() is not None:
            raise ErpError(
                f"trytond for {database!r} exited with code {process.returncode}: {_last_log_line(log_path)}"
            )
        try:
            probe.server_version()
            break
        except ErpError:
            if time.perf_counter() > deadline:
                server.stop()
                raise ErpError(
                    f"trytond for {database!r} did not answer on port {port} within {timeout:.0f} s: "
                    f"{_last_log_line(log_path)}"
                ) from None
            time.sleep(0.1)
    server.started_in = round(time.perf_counter() - started, 3)
    return server
