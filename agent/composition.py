"""Wiring of concrete adapters from settings: the only place that names an ERP technology.

``COUNTERSIGN_ERP`` picks the ERP: the bundled legacy ERP (the default) or a Tryton server
(``tryton+http://USER@HOST:PORT/DATABASE``, the password in ``COUNTERSIGN_ERP_PASSWORD``).
Whatever is picked, the layers above see only the ports of ``erp_acl.ports``. The ``countersign erp``
commands also come here for what they need of Tryton itself (a demo database, a server).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from agent.db import make_engine
from agent.settings import Settings, TrytonLocation, shown
from erp_acl.errors import ErpError
from erp_acl.ports import Erp

if TYPE_CHECKING:
    from erp_acl.tryton.rpc import TrytonRpc
    from erp_acl.tryton.server import TrytonServer
    from erp_acl.tryton.setup import DemoSummary

TRYTON_MISSING = "Tryton is not installed here: install the 'tryton' extra with `uv sync --extra tryton`"
TRYTON_ADMIN = "admin"
"""The user ``trytond-admin`` creates in every new database."""
TRYTON_DEMO_PASSWORD = "admin"
"""The admin password of a demo database made without ``--admin-password-file``."""


def open_app_engine(settings: Settings) -> Engine:
    return make_engine(settings.app_database_url)


def open_erp(settings: Settings) -> Erp:
    """The ERP adapter the settings point at (the bundled legacy ERP by default).

    A Tryton adapter logs in on its first call, not here: the app starts while the ERP is down,
    and reads report it unavailable in one line until it answers."""
    location = settings.tryton_erp
    if location is not None:
        from erp_acl.tryton.adapter import TrytonErp

        return TrytonErp(_tryton_rpc(settings, location))
    from erp_acl.legacy.adapter import LegacyErp

    return LegacyErp.open(settings.erp_database_url)


def close_erp(erp: object) -> None:
    """Release what ``open_erp`` opened (connections, a Tryton session); harmless twice."""
    close: Callable[[], None] | None = getattr(erp, "close", None)
    if close is not None:
        with contextlib.suppress(ErpError):  # an ERP already gone has nothing left to release
            close()


def _tryton_rpc(settings: Settings, location: TrytonLocation, *, timeout: float = 60.0) -> TrytonRpc:
    from erp_acl.tryton.rpc import TrytonRpc

    assert settings.erp_password is not None  # the settings refuse Tryton without a password
    return TrytonRpc(
        location.base_url,
        location.database,
        location.user,
        settings.erp_password.get_secret_value(),
        timeout=timeout,
    )


# ---- is it there? ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErpStatus:
    """Which ERP the settings point at and whether it answers (one line in ``detail``)."""

    erp: str
    """``legacy`` or ``tryton``."""
    location: str
    """Where, fit to print (never a password)."""
    answers: bool
    detail: str
    version: str | None = None
    """The Tryton server's series (e.g. ``8.2``), when it answered."""
    signed_in: bool | None = None
    """Whether the configured Tryton user could log in (None when not tried)."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def erp_status(settings: Settings) -> ErpStatus:
    """Ask the configured ERP whether it is there (Tryton: its version, then a login and logout)."""
    location = settings.tryton_erp
    if location is None:
        return _legacy_status(settings)
    where = str(location)
    rpc = _tryton_rpc(settings, location, timeout=15.0)
    try:
        version = str(rpc.server_version())
    except ErpError as exc:
        return ErpStatus("tryton", where, answers=False, detail=str(exc))
    try:
        rpc.login()
    except ErpError as exc:
        return ErpStatus("tryton", where, answers=False, detail=str(exc), version=version, signed_in=False)
    rpc.logout()
    detail = f"Tryton {version} answers; {location.user!r} signed in to database {location.database!r}"
    return ErpStatus("tryton", where, answers=True, detail=detail, version=version, signed_in=True)


def _legacy_status(settings: Settings) -> ErpStatus:
    from sqlalchemy.engine import make_url

    from erp_acl.legacy.adapter import legacy_engine
    from erp_acl.legacy.seed import erp_has_data

    url = settings.erp_database_url
    where = shown(url)
    parsed = make_url(url)
    local = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if local and not Path(str(parsed.database)).exists():
        return ErpStatus(
            "legacy",
            where,
            answers=False,
            detail=f"no legacy ERP database at {parsed.database} yet: run `countersign seed`",
        )
    engine = legacy_engine(url)
    try:
        has_data = erp_has_data(engine)
    except ErpError as exc:
        return ErpStatus("legacy", where, answers=False, detail=str(exc))
    finally:
        engine.dispose()
    if not has_data:
        return ErpStatus(
            "legacy",
            where,
            answers=True,
            detail="the legacy ERP answers but holds no data: run `countersign seed`",
        )
    return ErpStatus("legacy", where, answers=True, detail="the legacy ERP answers and holds data")


# ---- a Tryton database for demos and tests ---------------------------------------------------------


def tryton_installed() -> bool:
    """Whether Tryton's server can run here (the 'tryton' extra); talking to one never needs it."""
    return importlib.util.find_spec("trytond") is not None


def prepare_tryton(
    directory: Path, name: str, *, admin_password: str, progress: Callable[[str], None]
) -> DemoSummary:
    """Create ``<directory>/<name>.sqlite``: company, currency, chart of accounts, demo data.

    ``progress`` is told each step as it starts. Refuses (``ErpError``) an existing database."""
    from erp_acl.tryton.setup import prepare_database

    return prepare_database(
        directory.resolve() / f"{name}.sqlite", admin_password=admin_password, progress=progress
    )


def serve_tryton(directory: Path, name: str, port: int) -> TrytonServer:
    """Start ``trytond`` on ``<directory>/<name>.sqlite`` at 127.0.0.1:``port``; returns once it answers."""
    from erp_acl.tryton.server import start_server

    return start_server(directory, name, port=port)


def tryton_location(name: str, port: int, user: str = TRYTON_ADMIN) -> TrytonLocation:
    """Where ``countersign erp tryton-serve`` serves database ``name``."""
    from erp_acl.tryton.server import HOST

    return TrytonLocation(scheme="http", user=user, host=HOST, port=port, database=name)
