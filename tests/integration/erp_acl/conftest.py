"""Fixtures for the ERP contract suite: each adapter, seeded with the same demo data.

The legacy ERP is seeded once per session into a template SQLite file; each test gets its own
copy (a file copy takes milliseconds), so tests may write freely and run in any order. Tryton
gets the same: the demo database is prepared once per run and each test works on its own copy,
served by one ``trytond`` per test module.

Not every ERP has a home for everything the bundled ERP keeps. A test marked
``@pytest.mark.needs("budgets")`` runs only on adapters that have budgets; for the others it is
skipped with the reason, and ``test_what_an_erp_lacks_is_refused_in_one_line`` checks instead that
the adapter refuses those reads in one line rather than answering something wrong.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from erp_acl.legacy.adapter import LegacyErp
from erp_acl.legacy.seed import seed_legacy_erp
from erp_acl.memory import InMemoryErp
from erp_acl.ports import Erp
from erp_acl.seed_data import TODAY, SeedData, generate
from erp_acl.tryton.adapter import TrytonErp


def pinned_today() -> date:
    """The demo's today: budgets are for 2026 and new documents are dated 2026-11-21."""
    return TODAY


@pytest.fixture(scope="session")
def seed_data() -> SeedData:
    return generate()


@pytest.fixture(scope="session")
def legacy_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("legacy-erp") / "template.db"
    erp = LegacyErp.open(path)
    seed_legacy_erp(erp.engine, scale=1)
    erp.close()  # the last connection closing folds the WAL back into the file
    return path


@pytest.fixture
def legacy_path(legacy_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "legacy_erp.db"
    shutil.copy(legacy_template, path)
    return path


@pytest.fixture
def legacy_erp(legacy_path: Path) -> Iterator[LegacyErp]:
    erp = LegacyErp.open(legacy_path, today=pinned_today)
    yield erp
    erp.close()


@pytest.fixture
def tryton_erp(tryton_erp_fresh: TrytonErp) -> TrytonErp:
    """Tryton behind the same ports, on a real server, with the demo data restored for this test."""
    return tryton_erp_fresh


@pytest.fixture
def memory_erp(seed_data: SeedData) -> InMemoryErp:
    return InMemoryErp(seed_data, today=pinned_today)


CAPABILITIES = frozenset(
    {
        "budgets",  # cost-center budgets and their commitments
        "supplier_invoices",  # supplier invoices matched to purchase orders
        "events",  # business events detected in the ERP and kept there as alerts
        "goods_issue",  # the ERP's own users issuing stock (a test helper, not a port)
        "cancel_confirmed_purchase",  # cancelling a purchase order the supplier already confirmed
    }
)
LACKS: dict[str, frozenset[str]] = {
    "memory": frozenset(),
    "legacy": frozenset(),
    "tryton": CAPABILITIES,
}
"""What each adapter has no home for (Tryton: see ``erp_acl/tryton/adapter.py``)."""


def needed(request: pytest.FixtureRequest) -> set[str]:
    wanted: set[str] = set()
    for mark in request.node.iter_markers("needs"):
        unknown = set(mark.args) - CAPABILITIES
        if unknown:
            raise pytest.UsageError(f"unknown capability {sorted(unknown)} in {request.node.nodeid}")
        wanted |= set(mark.args)
    return wanted


@pytest.fixture(params=["memory", "legacy", "tryton"])
def erp(request: pytest.FixtureRequest) -> Erp:
    """Every adapter in turn: the contract suite must hold for each."""
    lacking = needed(request) & LACKS[request.param]
    if lacking:
        pytest.skip(f"the {request.param} ERP has no {', '.join(sorted(lacking))}")
    adapter: Erp = request.getfixturevalue(f"{request.param}_erp")
    return adapter


def has(erp: Erp, capability: str) -> bool:
    """Whether the adapter under test has ``capability`` (for the few asserts that differ)."""
    kind = {InMemoryErp: "memory", LegacyErp: "legacy"}.get(type(erp), "tryton")
    return capability not in LACKS[kind]
