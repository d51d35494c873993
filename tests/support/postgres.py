"""A scratch schema on the test PostgreSQL server (``COUNTERSIGN_TEST_POSTGRES_URL``, by default
the machine's ``test`` database), dropped with everything in it when the test ends."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

PG_URL = os.environ.get("COUNTERSIGN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_schema(prefix: str) -> Iterator[str]:
    """A new schema named ``<prefix>_<random>``; the test is skipped when no server answers."""
    pytest.importorskip("psycopg")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    schema = f"{prefix}_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server reachable: {exc.orig}")
    try:
        yield schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def schema_engine(schema: str) -> Engine:
    """An engine whose connections work in ``schema`` (their search_path)."""
    return create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
