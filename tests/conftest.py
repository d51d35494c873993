"""Fixtures shared by every test: an isolated data directory with a seeded legacy ERP copy.

The legacy ERP is seeded once per test session into a template file and copied per test
(milliseconds), so every test gets a fresh, real SQLite ERP of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.logs import configure_structlog
from agent.service import AgentService, build_service
from agent.settings import Settings

# Events go through the standard library (as in the product), never to stdout.
configure_structlog()

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.support.tryton_fixtures"]


@pytest.fixture(scope="session")
def seeded_erp_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from erp_acl.legacy.adapter import legacy_engine
    from erp_acl.legacy.seed import seed_legacy_erp

    path = tmp_path_factory.mktemp("erp-template") / "legacy_erp.db"
    engine = legacy_engine(path)
    seed_legacy_erp(engine, scale=1)
    engine.dispose()
    return path


@pytest.fixture
def data_dir(tmp_path: Path, seeded_erp_template: Path) -> Path:
    directory = tmp_path / "var"
    directory.mkdir()
    shutil.copy(seeded_erp_template, directory / "legacy_erp.db")
    return directory


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, model="offline")


@pytest.fixture
def service(settings: Settings) -> Iterator[AgentService]:
    svc = build_service(settings)
    yield svc
    svc.close()


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh installation in ``data_dir`` (none of the caller's settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "OPENAI_"))}
    env["COUNTERSIGN_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_cli(
    data_dir: Path, *args: str, check: bool = False, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``countersign ARGS`` in its own process, as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        cwd=REPO,
        env=cli_env(data_dir, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"countersign {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result
