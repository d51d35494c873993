"""The bundled legacy ERP's schema: an alembic environment (``env.py``, ``versions/``) and its runner.

``LegacyErp.open`` and the seed upgrade to head; ``countersign db upgrade`` does it on demand. The
version lives in ``legacy_erp_alembic_version``, so the emulator and the app database may share one
PostgreSQL database. A database an earlier release made (tables, no version table) is adopted.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from erp_acl.legacy.adapter import BEGIN_OPTION, prepare_engine, reachable
from erp_acl.legacy.schema import metadata
from erp_acl.migrating import Environment, State, Upgrade, state, upgrade

__all__ = ["LEGACY_ERP", "State", "Upgrade", "drop_erp_tables", "erp_database_state", "upgrade_erp_database"]

LEGACY_ERP = Environment(
    label="legacy ERP",
    directory=Path(__file__).resolve().parent,
    version_table="legacy_erp_alembic_version",
    lock_key=int.from_bytes(b"cs-erpdb"),
    known_tables=frozenset(table.name for table in metadata.sorted_tables),
    sqlite_begin={BEGIN_OPTION: "IMMEDIATE"},
)


def upgrade_erp_database(engine: Engine) -> Upgrade:
    """Bring the legacy ERP's database to the head revision (adopting one an earlier release made)."""
    prepare_engine(engine)
    with reachable(engine):
        return upgrade(engine, LEGACY_ERP)


def erp_database_state(engine: Engine) -> State:
    """The legacy ERP database's revision against the code's head (reads only)."""
    prepare_engine(engine)
    with reachable(engine):
        return state(engine, LEGACY_ERP)


def drop_erp_tables(engine: Engine) -> None:
    """Drop the legacy ERP's tables and its version table (and nothing else in that database)."""
    prepare_engine(engine)
    with reachable(engine):
        metadata.drop_all(engine)
        if inspect(engine).has_table(LEGACY_ERP.version_table):
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE {LEGACY_ERP.version_table}"))
