"""One Countersign installation scaled out over many OS processes, for the scale-out e2e tests.

It is what ``docs/deployment.md`` describes, in miniature: the app database (with the LangGraph
checkpoints) and the bundled legacy ERP in PostgreSQL databases of their own, RabbitMQ under a
queue prefix of its own, ``COUNTERSIGN_WORKERS=external``, the signing keys given as settings and
the audit checkpoints in one shared directory. Every process gets a data directory of its own, as
if each ran on its own machine: nothing may depend on files another process wrote locally.

:func:`open_installation` creates the databases; :meth:`Installation.close` stops every process
it started and drops the databases and the queues.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kombu
import psycopg

from agent.checkpoints import postgres_conninfo
from agent.messaging.topology import topology
from tests.conftest import REPO

SERVER = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
RABBIT_URL = os.environ.get("COUNTERSIGN_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


class Unreachable(RuntimeError):
    """PostgreSQL or RabbitMQ does not answer."""


def poll(what: str, ready: Callable[[], bool], seconds: float, every: float = 0.25) -> None:
    """Return once ``ready()`` holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {seconds:g} s")
        time.sleep(every)


def events_file_all_disabled(path: Path) -> Path:
    """The bundled events file with every kind off: the agent files nothing on its own, so the
    only proposals are the ones a test files."""
    bundled = tomllib.loads((REPO / "agent" / "config" / "events.toml").read_text(encoding="utf-8"))
    sections = [
        f'[events.{kind}]\nowner = "{entry["owner"]}"\nrequest = {json.dumps(entry["request"])}\nenabled = false\n'
        for kind, entry in bundled["events"].items()
    ]
    path.write_text("\n".join(sections), encoding="utf-8")
    return path


@dataclass
class Service:
    """A long-running process (a worker or a web app) and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class Installation:
    """One installation's settings, the processes started with them, and how to tear it all down."""

    root: Path
    databases: list[str]
    prefix: str
    settings: dict[str, str]
    services: list[Service] = field(default_factory=list)

    @property
    def app_database(self) -> str:
        return self.databases[0]

    @property
    def erp_database(self) -> str:
        return self.databases[1]

    # ---- processes ----------------------------------------------------------------------------

    def env(self, name: str) -> dict[str, str]:
        """The environment of a process called ``name``: the shared settings, its own data dir."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("COUNTERSIGN_", "OPENAI_")) and k != "PYTHONDONTWRITEBYTECODE"
        }
        data_dir = self.root / "hosts" / name
        data_dir.mkdir(parents=True, exist_ok=True)
        env.update(
            self.settings,
            COUNTERSIGN_DATA_DIR=str(data_dir),
            PYTHONUNBUFFERED="1",
            # Dozens of processes start on two cores: compiling every module in each of them
            # (PYTHONDONTWRITEBYTECODE) would more than double their start. The bytecode goes to
            # this installation's own directory, never into the source tree.
            PYTHONPYCACHEPREFIX=str(self.root / "pycache"),
        )
        return env

    def log_of(self, name: str) -> Path:
        """The structured log of the process called ``name`` (in its own data dir)."""
        return self.root / "hosts" / name / "logs" / "countersign.jsonl"

    def start(self, name: str, *args: str) -> Service:
        """Start ``countersign ARGS`` as a long-running process called ``name``."""
        output = self.root / f"{name}.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "agent.cli", *args],
                cwd=REPO,
                env=self.env(name),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        service = Service(name, process, output)
        self.services.append(service)
        return service

    def spawn(self, name: str, *args: str) -> subprocess.Popen[str]:
        """Start a one-shot ``countersign ARGS``; collect it with :func:`finish`."""
        return subprocess.Popen(
            [sys.executable, "-m", "agent.cli", *args],
            cwd=REPO,
            env=self.env(name),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self, *args: str, name: str = "operator", timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a one-shot ``countersign ARGS`` that must succeed."""
        done = subprocess.run(
            [sys.executable, "-m", "agent.cli", *args],
            cwd=REPO,
            env=self.env(name),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"countersign {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}"
            )
        return done

    def wait_started(self, service: Service, line: str, seconds: float = 150) -> None:
        """Wait until ``service`` printed ``line`` (failing at once if it died)."""

        def started() -> bool:
            if not service.alive():
                raise AssertionError(f"{service.name} exited {service.process.returncode}: {service.text()}")
            return line in service.text()

        poll(f"{service.name} printing {line!r}", started, seconds)

    def wait_healthy(self, service: Service, port: int, seconds: float = 150) -> None:
        """Wait until the web app on ``port`` answers Streamlit's health check."""

        def healthy() -> bool:
            if not service.alive():
                raise AssertionError(f"{service.name} exited {service.process.returncode}: {service.text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    return bool(answer.read() == b"ok")
            except OSError:
                return False

        poll(f"{service.name} answering /_stcore/health", healthy, seconds)

    def kill(self, service: Service) -> None:
        """SIGKILL: no cleanup, no acks, no goodbye."""
        service.process.send_signal(signal.SIGKILL)
        service.process.wait(timeout=30)

    # ---- the databases ------------------------------------------------------------------------

    def query(self, database: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(_url_of(database), autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    # ---- teardown ----------------------------------------------------------------------------

    def close(self) -> None:
        for service in self.services:
            if service.alive():
                service.process.terminate()
        for service in self.services:
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(timeout=30)
        _delete_queues(self.prefix)
        with psycopg.connect(postgres_conninfo(SERVER), autocommit=True) as admin:
            for name in self.databases:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _url_of(database: str) -> str:
    return postgres_conninfo(SERVER.rsplit("/", 1)[0] + f"/{database}")


def _delete_queues(prefix: str) -> None:
    shape = topology(prefix)
    with kombu.Connection(RABBIT_URL, connect_timeout=5) as connection:  # type: ignore[attr-defined,no-untyped-call]
        channel = connection.channel()
        for queue in [*shape.queues.values(), *shape.dead_letter_queues.values()]:
            channel.queue_delete(queue.name)
        for exchange in (shape.exchange, shape.dlx):
            channel.exchange_delete(exchange.name)


def open_installation(root: Path, **overrides: str) -> Installation:
    """A new installation in ``root``: two fresh PostgreSQL databases (app + checkpoints, and the
    ERP), a queue prefix of its own on RabbitMQ, and the settings every process shares."""
    from tools.audit import generate_signing_secret

    try:
        with kombu.Connection(RABBIT_URL, connect_timeout=5) as connection:  # type: ignore[attr-defined,no-untyped-call]
            connection.ensure_connection(max_retries=1)
        admin = psycopg.connect(postgres_conninfo(SERVER), autocommit=True, connect_timeout=5)
    except Exception as exc:
        raise Unreachable(
            f"PostgreSQL at {SERVER} and RabbitMQ are needed ({type(exc).__name__}: {exc})"
        ) from None
    tag = secrets.token_hex(4)
    app, erp = f"cs_scale_{tag}_app", f"cs_scale_{tag}_erp"
    with admin:
        for name in (app, erp):
            admin.execute(f"CREATE DATABASE {name}")
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    prefix = f"scale{tag}."
    settings = {
        "COUNTERSIGN_DATABASE_URL": f"{base}/{app}",
        "COUNTERSIGN_CHECKPOINT_URL": SERVER.rsplit("/", 1)[0] + f"/{app}",
        "COUNTERSIGN_ERP_URL": f"{base}/{erp}",
        "COUNTERSIGN_BROKER_URL": RABBIT_URL,
        "COUNTERSIGN_QUEUE_PREFIX": prefix,
        "COUNTERSIGN_WORKERS": "external",
        "COUNTERSIGN_TOKEN_SIGNING_KEY": secrets.token_urlsafe(48),
        "COUNTERSIGN_AUDIT_SIGNING_KEY": generate_signing_secret(),
        "COUNTERSIGN_AUDIT_CHECKPOINT_DIR": str(root / "audit-checkpoints"),
        "COUNTERSIGN_EVENTS_FILE": str(events_file_all_disabled(root / "events.toml")),
        "COUNTERSIGN_MODEL": "offline",
        **overrides,
    }
    return Installation(root=root, databases=[app, erp], prefix=prefix, settings=settings)
