"""Schema migrations on real SQLite files and a real PostgreSQL server.

Both alembic environments — the app database (``agent/migrations``) and the bundled legacy ERP
(``erp_acl/legacy/migrations``) — are upgraded from empty, compared with the metadata the code
declares (the guard against drift: a table or column added to a store without a revision fails
here), adopted from databases made the old way (``create_all``, no version table), and upgraded
by several engines at once. PostgreSQL tests use a fresh schema each, dropped after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from agent.approvals import ProposalStore, proposals
from agent.conversations import threads
from agent.db import make_engine
from agent.schema import APP_DATABASE, app_database_revision, target_metadata, upgrade_app_database
from erp_acl.legacy.adapter import LegacyErp, legacy_engine
from erp_acl.legacy.migrations import LEGACY_ERP, erp_database_state, upgrade_erp_database
from erp_acl.legacy.schema import ZCS
from erp_acl.legacy.schema import metadata as erp_metadata
from erp_acl.migrating import Environment, UnknownRevision, Upgrade, head
from tests.support.postgres import PG_URL, schema_engine, scratch_schema
from tools.audit import AuditEvent, AuditTrail, CheckpointSigner, InMemoryCheckpointStore

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

EngineFactory = Callable[[], Engine]


class Databases:
    """Engines on one database of one backend; each engine made here is disposed after the test."""

    def __init__(self, backend: str, make: Callable[[str], Engine]) -> None:
        self.backend = backend
        self._make = make
        self._engines: list[Engine] = []

    def app(self) -> Engine:
        return self._keep(self._make("app"))

    def erp(self) -> Engine:
        return self._keep(self._make("erp"))

    def _keep(self, engine: Engine) -> Engine:
        self._engines.append(engine)
        return engine

    def dispose(self) -> None:
        for engine in self._engines:
            engine.dispose()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with scratch_schema("migrations_test") as schema:
        yield schema


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """The app database and the legacy ERP as the product opens them, on each backend in turn.

    On SQLite they are two files; on PostgreSQL both live in one fresh schema (their version
    tables differ, so they can)."""
    if request.param == "sqlite":
        made = Databases(
            "sqlite",
            lambda kind: (
                make_engine(f"sqlite:///{tmp_path / 'countersign.db'}")
                if kind == "app"
                else legacy_engine(tmp_path / "legacy_erp.db")
            ),
        )
    else:
        schema = request.getfixturevalue("pg_schema")
        made = Databases("postgresql", lambda _kind: schema_engine(schema))
    try:
        yield made
    finally:
        made.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _differences(engine: Engine, env: Environment, metadata: MetaData) -> list[Any]:
    """What alembic's autogenerate would change to make the database match the metadata."""
    others = (APP_DATABASE if env is LEGACY_ERP else LEGACY_ERP).known_tables | {
        (APP_DATABASE if env is LEGACY_ERP else LEGACY_ERP).version_table
    }

    def mine(name: str | None, kind: str, _parent: object) -> bool:
        return not (kind == "table" and name in others)  # the other environment may share the database

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": env.version_table, "include_name": mine, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))


def _version_rows(engine: Engine, env: Environment) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(f"SELECT version_num FROM {env.version_table}")).scalars())


# ---- from empty ---------------------------------------------------------------------------------


def test_upgrading_an_empty_app_database_creates_exactly_the_tables_the_stores_use(
    databases: Databases,
) -> None:
    engine = databases.app()
    done = upgrade_app_database(engine)
    assert done == Upgrade(before=None, after=head(APP_DATABASE))
    assert _tables(engine) == set(target_metadata().tables) | {"countersign_alembic_version"}
    assert (
        set(target_metadata().tables) == APP_DATABASE.known_tables
    )  # every store's table is in the baseline
    assert _version_rows(engine, APP_DATABASE) == [head(APP_DATABASE)]


def test_upgrading_an_empty_legacy_erp_database_creates_exactly_its_tables(databases: Databases) -> None:
    engine = databases.erp()
    done = upgrade_erp_database(engine)
    assert done == Upgrade(before=None, after=head(LEGACY_ERP))
    assert _tables(engine) == set(erp_metadata.tables) | {"legacy_erp_alembic_version"}
    assert _version_rows(engine, LEGACY_ERP) == [head(LEGACY_ERP)]


def test_the_app_head_revision_matches_the_metadata_the_stores_declare(databases: Databases) -> None:
    engine = databases.app()
    upgrade_app_database(engine)
    assert _differences(engine, APP_DATABASE, target_metadata()) == []


def test_the_legacy_erp_head_revision_matches_the_metadata_of_its_tables(databases: Databases) -> None:
    engine = databases.erp()
    upgrade_erp_database(engine)
    assert _differences(engine, LEGACY_ERP, erp_metadata) == []


def test_an_upgrade_at_head_changes_nothing_and_says_so(databases: Databases) -> None:
    engine = databases.app()
    upgrade_app_database(engine)
    again = upgrade_app_database(engine)
    assert not again.changed and again.before == again.after == head(APP_DATABASE)
    assert _version_rows(engine, APP_DATABASE) == [head(APP_DATABASE)]


def test_the_app_database_and_the_legacy_erp_keep_their_own_version_in_one_database(
    databases: Databases,
) -> None:
    app, erp = databases.app(), databases.erp()
    upgrade_app_database(app)
    upgrade_erp_database(erp)
    assert app_database_revision(app) == head(APP_DATABASE)
    assert erp_database_state(erp).at_head
    assert _differences(app, APP_DATABASE, target_metadata()) == []
    assert _differences(erp, LEGACY_ERP, erp_metadata) == []


def test_the_audit_trails_guards_come_with_the_migration(databases: Databases) -> None:
    engine = databases.app()
    upgrade_app_database(engine)
    trail = AuditTrail(engine, signer=CheckpointSigner.generate(), checkpoint_store=InMemoryCheckpointStore())
    trail.append(AuditEvent(type="read", actor="alice", details={"n": 1}))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET actor = 'mallory'"))
    assert trail.verify().ok


def test_a_stores_create_schema_makes_the_whole_schema_through_the_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        ProposalStore(engine).create_schema()
        assert app_database_revision(engine) == head(APP_DATABASE)
        assert _tables(engine) == set(target_metadata().tables) | {"countersign_alembic_version"}
    finally:
        engine.dispose()


def test_opening_the_legacy_erp_upgrades_its_database(tmp_path: Path) -> None:
    erp = LegacyErp.open(tmp_path / "legacy_erp.db")
    try:
        assert erp_database_state(erp.engine).at_head
    finally:
        erp.close()


# ---- databases made before migrations -----------------------------------------------------------


def _made_the_old_way(engine: Engine) -> None:
    """What the release before migrations left: create_all, then the audit control row, and a
    proposals table from before ``compensates`` and ``told_at`` (added later, without an index)."""
    target_metadata().create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_proposals_compensates"))
        conn.execute(text("ALTER TABLE proposals DROP COLUMN compensates"))
        conn.execute(text("ALTER TABLE proposals DROP COLUMN told_at"))
        conn.execute(
            text(
                "INSERT INTO audit_retention (id, pruned_through_seq, pruned_through_hash)"
                f" VALUES (1, 0, '{'0' * 64}')"
            )
        )
        conn.execute(
            insert(threads).values(
                thread_id="T-old", owner="alice", title="old", created_at=NOW, updated_at=NOW
            )
        )
        conn.execute(
            insert(proposals).values(
                id="P-old",
                thread_id="T-old",
                tool_call_id="call-1",
                action="change_price",
                status="pending",
                summary="Change list price",
                payload={"action": "change_price"},
                idempotency_key="key-old",
                fingerprint="fp",
                requester="alice",
                on_behalf_of="alice",
                evidence=[],
                gate={},
                revision=0,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def test_an_app_database_made_the_old_way_is_adopted_at_the_baseline_and_keeps_its_rows(
    databases: Databases,
) -> None:
    engine = databases.app()
    _made_the_old_way(engine)
    done = upgrade_app_database(engine)
    assert done.adopted and done.before is None and done.after == head(APP_DATABASE)
    assert _version_rows(engine, APP_DATABASE) == [head(APP_DATABASE)]
    assert _differences(engine, APP_DATABASE, target_metadata()) == []  # columns and index filled in
    with engine.connect() as conn:
        assert conn.execute(select(proposals.c.id, proposals.c.told_at)).all() == [("P-old", None)]
        assert conn.execute(select(threads.c.thread_id)).scalars().all() == ["T-old"]
    store = ProposalStore(engine)
    assert [p.id for p in store.list()] == ["P-old"]
    trail = AuditTrail(engine, signer=CheckpointSigner.generate(), checkpoint_store=InMemoryCheckpointStore())
    trail.append(AuditEvent(type="read", actor="alice", details={"n": 1}))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_records"))


def test_a_legacy_erp_made_the_old_way_is_adopted_and_keeps_its_rows(databases: Databases) -> None:
    engine = databases.erp()
    erp_metadata.create_all(engine)
    row = {
        "ZCS_CHAVE": "key-1",
        "ZCS_HASH": "h",
        "ZCS_ACAO": "create_purchase_order",
        "ZCS_COMANDO": "{}",
        "ZCS_CRIADO": "2026-11-21T09:00:00+00:00",
        "ZCS_ALTERA": "2026-11-21T09:00:00+00:00",
    }
    with engine.begin() as conn:
        conn.execute(insert(ZCS).values(row))
    done = upgrade_erp_database(engine)
    assert done.adopted and done.after == head(LEGACY_ERP)
    with engine.connect() as conn:
        assert conn.execute(select(ZCS.c.ZCS_CHAVE)).scalars().all() == ["key-1"]
    assert _differences(engine, LEGACY_ERP, erp_metadata) == []


def test_an_app_database_lacking_a_required_column_is_not_adopted_and_stays_unversioned(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        target_metadata().create_all(engine)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE threads DROP COLUMN title"))
        with pytest.raises(RuntimeError, match="table threads lacks the required column title"):
            upgrade_app_database(engine)
        assert "countersign_alembic_version" not in _tables(engine)  # one transaction: nothing half-done
    finally:
        engine.dispose()


def test_a_database_at_a_revision_the_code_does_not_know_is_refused_in_one_sentence(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        upgrade_app_database(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE countersign_alembic_version SET version_num = '0099_from_the_future'"))
        with pytest.raises(UnknownRevision, match="0099_from_the_future, which this version"):
            upgrade_app_database(engine)
    finally:
        engine.dispose()


# ---- concurrent starts --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["app", "erp"])
def test_four_engines_upgrading_one_database_at_once_all_succeed_and_leave_one_version_row(
    databases: Databases, which: str
) -> None:
    env, upgrade = (
        (APP_DATABASE, upgrade_app_database) if which == "app" else (LEGACY_ERP, upgrade_erp_database)
    )
    engines = [databases.app() if which == "app" else databases.erp() for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[Upgrade] = []
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            barrier.wait()
            results.append(upgrade(engine))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sorted(r.changed for r in results) == [False, False, False, True]  # one ran the DDL
    assert _version_rows(engines[0], env) == [head(env)]


UPGRADER = """
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine

from agent.db import make_engine
from agent.schema import APP_DATABASE, upgrade_app_database
from erp_acl.migrating import head

url, schema, folder, name = sys.argv[1:5]
if url.startswith("sqlite"):
    engine = make_engine(url)
else:
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
head(APP_DATABASE)  # everything imported and read before the start line
(Path(folder) / f"ready-{name}").touch()
while not (Path(folder) / "go").exists():
    time.sleep(0.002)
print(upgrade_app_database(engine).changed)
"""


def test_three_processes_starting_at_once_on_one_database_upgrade_it_once(
    databases: Databases, tmp_path: Path
) -> None:
    if databases.backend == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'countersign.db'}", ""
    else:
        url, schema = PG_URL, _search_path(databases.app())
    folder = tmp_path / "start"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    names = [f"p{i}" for i in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADER, url, schema, str(folder), name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 120
    while not all((folder / f"ready-{name}").exists() for name in names):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes), "an upgrader died"
        time.sleep(0.01)
    (folder / "go").touch()
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in outputs]
    assert sorted(out.strip() for out, _ in outputs) == ["False", "False", "True"]  # one ran the DDL
    assert _version_rows(databases.app(), APP_DATABASE) == [head(APP_DATABASE)]


def _search_path(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar_one())
