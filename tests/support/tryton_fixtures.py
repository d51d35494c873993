"""Fixtures for tests against a real Tryton server (a pytest plugin, see tests/conftest.py).

Preparing the demo database (``trytond-admin`` plus the demo data over JSON-RPC) takes most of a
minute, so it runs once per test run into a template file. Tests that need a pristine database
each (the ERP contract suite) share one running ``trytond`` and get the template restored into
its database before every test through SQLite's online backup API: a consistent copy written
while the server keeps running, in well under a second.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from erp_acl.seed_data import TODAY
from erp_acl.tryton.adapter import TrytonErp
from erp_acl.tryton.server import TrytonServer, start_server
from erp_acl.tryton.setup import copy_database, prepare_database

CONTRACT_DATABASE = "contract"


def say(request: pytest.FixtureRequest, text: str) -> None:
    """A progress line on the terminal, shown even while output is captured."""
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(f"[tryton] {text}")
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[tryton] {text}")


@pytest.fixture(scope="session")
def tryton_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, prepared once per test run (skipped when Tryton is not installed)."""
    if importlib.util.find_spec("trytond") is None:
        pytest.skip("Tryton is not installed (uv sync --extra tryton)")
    started = time.perf_counter()
    summary = prepare_database(
        tmp_path_factory.mktemp("tryton-template") / "template.sqlite",
        progress=lambda step: say(request, f"{time.perf_counter() - started:5.1f} s  {step}"),
    )
    say(request, f"prepared: {summary.counts}; timings {summary.timings}")
    return summary.database


@pytest.fixture(scope="session")
def tryton_contract_server(
    request: pytest.FixtureRequest, tryton_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    """One ``trytond`` for the contract suite, on a copy of the demo database restored per test."""
    directory = tmp_path_factory.mktemp("tryton-contract")
    copy_database(tryton_template, directory, CONTRACT_DATABASE)
    server = start_server(directory, CONTRACT_DATABASE)
    say(request, f"contract server up in {server.started_in:.1f} s on port {server.port}")
    yield server
    server.stop()


def restore(template: Path, live: Path) -> None:
    """Write the template's content into the live database (the server keeps running)."""
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(live, timeout=30)) as target:
        source.backup(target)


def pinned_today() -> date:
    return TODAY


@pytest.fixture
def tryton_erp_fresh(tryton_template: Path, tryton_contract_server: TrytonServer) -> Iterator[TrytonErp]:
    """The ports over a pristine demo database (restored for this test), "today" pinned."""
    restore(tryton_template, tryton_contract_server.directory / f"{CONTRACT_DATABASE}.sqlite")
    erp = TrytonErp(tryton_contract_server.client(), today=pinned_today)
    yield erp
    erp.close()
