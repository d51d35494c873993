"""Fixtures for the ERP contract suite: each adapter, seeded with the same demo data.

The legacy ERP is seeded once per session into a template SQLite file; each test gets its own
copy (a file copy takes milliseconds), so tests may write freely and run in any order.
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
def memory_erp(seed_data: SeedData) -> InMemoryErp:
    return InMemoryErp(seed_data, today=pinned_today)


@pytest.fixture(params=["memory", "legacy"])
def erp(request: pytest.FixtureRequest) -> Erp:
    """Every adapter in turn: the contract suite must hold for each."""
    adapter: Erp = request.getfixturevalue(f"{request.param}_erp")
    return adapter
