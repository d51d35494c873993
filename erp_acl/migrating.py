"""Schema migrations run from code: an alembic environment upgraded under a lock, no alembic.ini.

Each database Countersign owns (the app database, the bundled legacy ERP) keeps its schema as an
alembic environment — a folder with ``env.py`` and ``versions/`` — with a version table of its
own, so both can share one PostgreSQL database. This module runs such an environment:

- :func:`upgrade` brings a database to the head revision in one transaction. On PostgreSQL that
  transaction first takes an advisory lock, so of several processes starting at once one runs the
  DDL and the others wait, then find nothing to do. On SQLite the transaction begins IMMEDIATE
  (with the product's engines), which serialises the same way.
- A database an earlier release made (its tables present, no version table) is *adopted*: the
  baseline revision fills in what that release may lack (tables, nullable columns, indexes)
  instead of creating everything, and records itself; later revisions then run as usual.
- :func:`state` reads where a database stands without changing it.

It lives in ``erp_acl`` (the lowest layer) only because both environments use it; it knows
nothing of either schema.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command, context, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Engine, MetaData, inspect, text


@dataclass(frozen=True)
class Environment:
    """One alembic environment and how to run it."""

    label: str
    """What the database is, for messages ("app database")."""
    directory: Path
    """The folder holding ``env.py`` and ``versions/``."""
    version_table: str
    lock_key: int
    """The PostgreSQL advisory lock key (signed 64-bit) serialising upgrades of this schema."""
    known_tables: frozenset[str]
    """The baseline's tables: a database holding any of them but no version table predates migrations."""
    sqlite_begin: Mapping[str, Any] = field(default_factory=dict)
    """Execution options that make a SQLite transaction take the write lock from its first statement."""


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the revision before (None: empty or unversioned) and after."""

    before: str | None
    after: str
    adopted: bool = False
    """True when the database predated migrations and was adopted at the baseline."""

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class State:
    """Where a database stands: its revision, the code's head, and whether it predates migrations."""

    revision: str | None
    head: str
    unversioned: bool = False

    @property
    def at_head(self) -> bool:
        return self.revision == self.head


# alembic's ``context`` and ``op`` are process-wide proxies: two threads running migrations at once
# would swap each other's connection. Threads take turns here; processes, at the database lock.
_ALEMBIC = threading.Lock()


class UnknownRevision(RuntimeError):
    """The database is at a revision the code does not have (a newer release migrated it)."""


@lru_cache(maxsize=8)
def _known(directory: Path) -> frozenset[str]:
    return frozenset(script.revision for script in _script(directory).walk_revisions())


@lru_cache(maxsize=8)
def _script(directory: Path) -> ScriptDirectory:
    return ScriptDirectory.from_config(_bare_config(directory))


def _bare_config(directory: Path) -> Config:
    config = Config()
    # ConfigParser interpolates '%': a data dir with one in its path must not break the lookup.
    config.set_main_option("script_location", str(directory).replace("%", "%%"))
    return config


def head(env: Environment) -> str:
    """The revision the code expects (the environment must have exactly one head)."""
    found = _script(env.directory).get_current_head()
    if found is None:  # pragma: no cover - the packaged environments always have a baseline
        raise RuntimeError(f"the {env.label} migrations have no revision")
    return found


def _revision(conn: Connection, env: Environment) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": env.version_table}).get_current_revision()


def _unversioned(conn: Connection, env: Environment) -> bool:
    tables = set(inspect(conn).get_table_names())
    return env.version_table not in tables and bool(tables & env.known_tables)


def state(engine: Engine, env: Environment) -> State:
    """The database's revision and the code's head; reads only."""
    with engine.connect() as conn:
        revision = _revision(conn, env)
        unversioned = revision is None and _unversioned(conn, env)
    return State(revision=revision, head=head(env), unversioned=unversioned)


def upgrade(engine: Engine, env: Environment) -> Upgrade:
    """Bring the database behind ``engine`` to the head revision (a no-op when it is there)."""
    target = head(env)
    with engine.connect() as conn:
        before = _revision(conn, env)  # a quick look: most starts find the database current
        conn.rollback()
        if before == target:
            return Upgrade(before=before, after=target)
        if before is not None and before not in _known(env.directory):
            raise UnknownRevision(
                f"the {env.label} is at revision {before}, which this version of Countersign does not "
                f"know (its newest is {target}): a newer release upgraded it; run that release"
            )
        if conn.dialect.name == "sqlite" and env.sqlite_begin:
            conn = conn.execution_options(**env.sqlite_begin)
        config = _bare_config(env.directory)
        config.attributes.update(connection=conn, environment=env)
        with _ALEMBIC:
            command.upgrade(config, "head")
        after = _revision(conn, env)
        conn.rollback()
    report: dict[str, Any] = config.attributes.get("report", {})
    return Upgrade(
        before=report.get("before", before), after=after or target, adopted=bool(report.get("adopted"))
    )


# ---- inside env.py and the revisions ------------------------------------------------------------


def run_environment(target_metadata: MetaData) -> None:
    """The body of an ``env.py``: run the migrations on the connection :func:`upgrade` passed."""
    config = context.config
    conn: Connection | None = config.attributes.get("connection")
    env: Environment | None = config.attributes.get("environment")
    if conn is None or env is None or context.is_offline_mode():
        raise RuntimeError("these migrations run from code (countersign db upgrade), not the alembic command")
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        version_table=env.version_table,
        # One transaction for the whole upgrade, SQLite included (it has transactional DDL): a
        # failed step leaves the database as it was, and the lock below covers reading the
        # version as well as changing it.
        transactional_ddl=True,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if conn.dialect.name == "postgresql":
            # Held to the end of this transaction: a second process starting now waits here and
            # then finds the version already moved.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": env.lock_key})
        before = _revision(conn, env)
        adopted = before is None and _unversioned(conn, env)
        config.attributes["adopting"] = adopted
        config.attributes["report"] = {"before": before, "adopted": adopted}
        context.run_migrations()


def adopting() -> bool:
    """True while the baseline runs over a database an earlier release made (tables already there)."""
    return bool(context.config.attributes.get("adopting", False))


def create_table(name: str, *elements: Any, **kw: Any) -> None:
    """``op.create_table``; when adopting an existing table, add only the nullable columns it lacks.

    Releases before migrations created tables with ``create_all`` and added new nullable columns
    to existing tables; a column they could not add (one that may not be NULL) makes adoption
    fail with its name rather than leave a schema the code cannot use."""
    bind = op.get_bind()
    if not (adopting() and inspect(bind).has_table(name)):
        op.create_table(name, *elements, **kw)
        return
    present = {column["name"] for column in inspect(bind).get_columns(name)}
    for column in elements:
        if not isinstance(column, Column) or column.name in present:
            continue
        if not column.nullable:
            raise RuntimeError(
                f"cannot adopt this database: table {name} lacks the required column {column.name}"
            )
        op.add_column(name, column)


def create_index(name: str, table: str, columns: list[str], *, unique: bool = False) -> None:
    """``op.create_index``; when adopting, skip an index the database already has."""
    if adopting() and name in {index["name"] for index in inspect(op.get_bind()).get_indexes(table)}:
        return
    op.create_index(name, table, columns, unique=unique)
