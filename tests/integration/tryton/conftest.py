"""Fixtures for the Tryton groundwork: one prepared database per test run, copied per module.

The demo database is prepared once per run (``tryton_template``, in tests/support/tryton_fixtures.py,
shared with the ERP contract suite); each test module here gets a copy (milliseconds) and its own
``trytond`` on a free port.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from erp_acl.tryton.adapter import TrytonErp
from erp_acl.tryton.rpc import TrytonRpc
from erp_acl.tryton.server import TrytonServer, start_server
from erp_acl.tryton.setup import copy_database
from tests.support.tryton_fixtures import say

DATABASE = "countersign"


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
    say(request, f"copy {copied * 1000:.0f} ms, server up in {server.started_in:.1f} s on port {server.port}")
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
