"""Wiring of concrete adapters from settings: the only place that names an ERP technology."""

from __future__ import annotations

from sqlalchemy import Engine

from agent.db import make_engine
from agent.settings import Settings
from erp_acl.ports import Erp


def open_app_engine(settings: Settings) -> Engine:
    return make_engine(settings.app_database_url)


def open_erp(settings: Settings) -> Erp:
    """The ERP adapter the settings point at (the bundled legacy ERP by default)."""
    from erp_acl.legacy.adapter import LegacyErp

    return LegacyErp.open(settings.erp_database_url)
