"""``countersign db``: the schema revision of the databases Countersign owns, and upgrading them.

Two databases have a schema managed by migrations: the app database (``COUNTERSIGN_DATABASE_URL``,
default a SQLite file in the data directory) and, when the bundled legacy ERP is in use, its
database (``COUNTERSIGN_ERP_URL``). A Tryton ERP manages its own schema. Registered on the main
``countersign`` app by ``agent.cli``; one line on stderr and exit 1 when refused, as every command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy.engine import make_url

from agent.cli_common import JsonFlag, emit, fail, guarded, settings_or_fail
from agent.settings import Settings, shown

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from erp_acl.migrating import State, Upgrade

db_app = typer.Typer(
    help="The schema of Countersign's databases (the app database and the bundled legacy ERP): "
    "which revision each is at, and upgrading them to the one this version needs.",
    no_args_is_help=True,
)


def _missing_file(url: str) -> str | None:
    """The path of a SQLite database file that does not exist yet (None: not SQLite, or present)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return None if Path(str(parsed.database)).exists() else str(parsed.database)


def _targets(settings: Settings) -> list[tuple[str, str, str]]:
    """(key, label, url) of each database with a migrated schema under these settings."""
    targets = [("app_database", "app database", settings.app_database_url)]
    if settings.erp_kind == "legacy":
        targets.append(("legacy_erp", "legacy ERP", settings.erp_database_url))
    return targets


def _engine(key: str, url: str) -> Engine:
    if key == "app_database":
        from agent.db import make_engine

        return make_engine(url)
    from erp_acl.legacy.adapter import legacy_engine

    return legacy_engine(url)


def _with_engine(key: str, label: str, url: str, action: Callable[[Engine], Any]) -> Any:
    from sqlalchemy.exc import OperationalError

    from agent.db import unavailable

    engine = _engine(key, url)
    try:
        try:
            with engine.connect():
                pass
        except OperationalError as exc:
            # A server that does not answer: one line, the first of the driver's (never a password).
            fail(str(unavailable(label, url, exc)))
        return guarded(lambda: action(engine))
    finally:
        engine.dispose()


def _upgrade(key: str) -> Callable[[Engine], Upgrade]:
    if key == "app_database":
        from agent.schema import upgrade_app_database

        return upgrade_app_database
    from erp_acl.legacy.migrations import upgrade_erp_database

    return upgrade_erp_database


def _state(key: str) -> Callable[[Engine], State]:
    if key == "app_database":
        from agent.schema import app_database_state

        return app_database_state
    from erp_acl.legacy.migrations import erp_database_state

    return erp_database_state


def _revision_text(revision: str | None, unversioned: bool = False) -> str:
    if revision is not None:
        return revision
    return "unversioned (made before migrations)" if unversioned else "empty"


@db_app.command(
    "current",
    help="Which schema revision each database is at, and the one this version of Countersign needs.\n\n"
    "Reads only; a database file that does not exist yet is reported, not created.",
)
def current(as_json: JsonFlag = False) -> None:
    """Each database's revision against the code's head (the help is in the decorator)."""
    settings = settings_or_fail()
    report: dict[str, Any] = {}
    lines: list[str] = []
    for key, label, url in _targets(settings):
        where = shown(url)
        missing = _missing_file(url)
        if missing is not None:
            from agent.schema import APP_DATABASE
            from erp_acl.legacy.migrations import LEGACY_ERP
            from erp_acl.migrating import head

            target = head(APP_DATABASE if key == "app_database" else LEGACY_ERP)
            report[key] = {"database": where, "exists": False, "revision": None, "head": target}
            lines.append(
                f"{label} ({where}): no database yet (head {target}; `countersign db upgrade` creates it)"
            )
            continue
        found: State = _with_engine(key, label, url, _state(key))
        report[key] = {
            "database": where,
            "exists": True,
            "revision": found.revision,
            "head": found.head,
            "at_head": found.at_head,
            "unversioned": found.unversioned,
        }
        status = "at head" if found.at_head else f"head is {found.head}: run `countersign db upgrade`"
        lines.append(f"{label} ({where}): {_revision_text(found.revision, found.unversioned)} ({status})")
    if settings.erp_kind != "legacy":
        lines.append(f"ERP: {settings.erp_shown} keeps its own schema (not managed here)")
    if as_json:
        emit(report)
    else:
        typer.echo("\n".join(lines))


@db_app.command(
    "upgrade",
    help="Upgrade the app database and (when it is in use) the bundled legacy ERP to the schema "
    "this version needs; prints each one's revision before and after.\n\n"
    "Creates a database that does not exist yet; a database made by a release before migrations "
    "(tables, no version) is adopted at the baseline first and keeps its rows. Safe to run while "
    "other Countersign processes start: they wait for one upgrade instead of racing it. "
    "The app and the ERP upgrade themselves at start too; this command does it ahead of time.",
)
def upgrade(as_json: JsonFlag = False) -> None:
    """Upgrade each database to head (the help is in the decorator)."""
    settings = settings_or_fail()
    report: dict[str, Any] = {}
    lines: list[str] = []
    for key, label, url in _targets(settings):
        where = shown(url)
        done: Upgrade = _with_engine(key, label, url, _upgrade(key))
        report[key] = {
            "database": where,
            "from": done.before,
            "to": done.after,
            "changed": done.changed,
            "adopted": done.adopted,
        }
        before = _revision_text(done.before, done.adopted)
        if not done.changed:
            lines.append(f"{label} ({where}): already at {done.after}")
        else:
            adopted = " (adopted at the baseline, rows kept)" if done.adopted else ""
            lines.append(f"{label} ({where}): {before} -> {done.after}{adopted}")
    if settings.erp_kind != "legacy":
        lines.append(f"ERP: {settings.erp_shown} keeps its own schema (not managed here)")
    if as_json:
        emit(report)
    else:
        typer.echo("\n".join(lines))
