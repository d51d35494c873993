"""Fixtures for the Tryton groundwork: one prepared database per test run, copied per module.

Preparing (``trytond-admin`` plus demo data over JSON-RPC) takes most of a minute, so it runs once
per session into a template file; each test module gets a copy (milliseconds) and its own
``trytond`` on a free port.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from erp_acl.tryton.adapter import TrytonErp
from erp_acl.tryton.rpc import TrytonRpc
from erp_acl.tryton.server import TrytonServer, start_server
from erp_acl.tryton.setup import copy_database, prepare_database

DATABASE = "countersign"


def _say(request: pytest.FixtureRequest, text: str) -> None:
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(f"[tryton] {text}")
        return
    with capture.global_and_fixture_disabled():  # shown while the test run is captured
        reporter.write_line(f"[tryton] {text}")


@pytest.fixture(scope="session")
def tryton_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, prepared once per test run (skipped when Tryton is not installed)."""
    if importlib.util.find_spec("trytond") is None:
        pytest.skip("Tryton is not installed (uv sync --extra tryton)")
    started = time.perf_counter()
    summary = prepare_database(
        tmp_path_factory.mktemp("tryton-template") / "template.sqlite",
        progress=lambda step: _say(request, f"{time.perf_counter() - started:5.1f} s  {step}"),
    )
    _say(request, f"prepared: {summary.counts}; timings {summary.timings}")
    return summary.database


@pytest.fixture(scope="module")
def tryton_server(
    request: pytest.FixtureRequest, tryton_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    """A running ``trytond`` on this module's own copy of the demo database."""
    started = time.perf_counter()
    directory = tmp_path_factory.mktemp("tryton")
    copy_database(tryton_template, directory, DATABASE)
    copied = time.perf_counter() - started
    server = start_server(directory, DATABASE)
    _say(
        request, f"copy {copied * 1000:.0f} ms, server up in {server.started_in:.1f} s on port {server.port}"
    )
    yield server
    server.stop()


@pytest.fixture
def rpc(tryton_server: TrytonServer) -> Iterator[TrytonRpc]:
    client = tryton_server.client()
    yield client
    client.logout()


@pytest.fixture
def tryton_erp(tryton_server: TrytonServer) -> Iterator[TrytonErp]:
    """The ports over this module's Tryton server (its own session)."""
    erp = TrytonErp(tryton_server.client())
    yield erp
    erp.close()
