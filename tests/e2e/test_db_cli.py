"""``countersign db current`` and ``countersign db upgrade`` as an operator runs them, each its own process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.db import make_engine
from agent.schema import APP_DATABASE, target_metadata
from erp_acl.migrating import head
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e

HEAD = head(APP_DATABASE)


def test_db_current_on_a_fresh_data_dir_says_there_is_no_database_yet_and_creates_none(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    result = run_cli(data_dir, "db", "current", check=True)
    assert (
        f"app database (sqlite:///{data_dir}/countersign.db): no database yet (head {HEAD};" in result.stdout
    )
    assert "legacy ERP" in result.stdout
    assert not (data_dir / "countersign.db").exists() and not (data_dir / "legacy_erp.db").exists()


def test_db_upgrade_creates_both_databases_at_head_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = run_cli(data_dir, "db", "upgrade", check=True)
    assert f"app database (sqlite:///{data_dir}/countersign.db): empty -> {HEAD}" in first.stdout
    assert f"legacy ERP (sqlite:///{data_dir}/legacy_erp.db): empty -> 0001_baseline" in first.stdout

    second = json.loads(run_cli(data_dir, "db", "upgrade", "--json", check=True).stdout)
    assert second["app_database"] == {
        "database": f"sqlite:///{data_dir}/countersign.db",
        "from": HEAD,
        "to": HEAD,
        "changed": False,
        "adopted": False,
    }
    assert second["legacy_erp"]["changed"] is False

    current = json.loads(run_cli(data_dir, "db", "current", "--json", check=True).stdout)
    assert current["app_database"]["revision"] == HEAD and current["app_database"]["at_head"] is True
    assert current["legacy_erp"]["at_head"] is True


def test_db_upgrade_adopts_a_data_dir_made_before_migrations_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    engine = make_engine(f"sqlite:///{data_dir / 'countersign.db'}")
    target_metadata().create_all(engine)  # the way releases before migrations made it
    engine.dispose()

    before = run_cli(data_dir, "db", "current", check=True)
    assert "app database" in before.stdout and "unversioned (made before migrations)" in before.stdout

    upgraded = run_cli(data_dir, "db", "upgrade", check=True)
    assert (
        f"unversioned (made before migrations) -> {HEAD} (adopted at the baseline, rows kept)"
        in upgraded.stdout
    )


def test_db_upgrade_against_an_unreachable_server_fails_in_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    result = run_cli(
        tmp_path / "var",
        "db",
        "upgrade",
        env={
            "COUNTERSIGN_DATABASE_URL": "postgresql+psycopg://countersign:s3cret-pw@127.0.0.1:1/countersign"
        },
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: the app database at postgresql+psycopg://countersign:***@127.0.0.1:1/"
    )
    assert "unreachable" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_a_data_dir_migrated_by_a_newer_release_is_refused_in_one_line_and_left_as_it_is(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    run_cli(data_dir, "db", "upgrade", check=True)
    engine = make_engine(f"sqlite:///{data_dir / 'countersign.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE countersign_alembic_version SET version_num = '0099_from_the_future'")
    engine.dispose()

    result = run_cli(data_dir, "approvals", "list")

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: the app database is at revision 0099_from_the_future, which this")
    assert "COUNTERSIGN_DEBUG" not in result.stderr  # a user error, not a crash
    with make_engine(f"sqlite:///{data_dir / 'countersign.db'}").connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM countersign_alembic_version").scalar_one() == (
            "0099_from_the_future"
        )


@pytest.mark.parametrize(
    ("setting", "url", "said"),
    [
        (
            "COUNTERSIGN_DATABASE_URL",
            "postgresql+psycopg://cs:s3cret-pw@127.0.0.1:1/cs",
            "the app database at",
        ),
        ("COUNTERSIGN_ERP_URL", "postgresql+psycopg://cs:s3cret-pw@127.0.0.1:1/erp", "the ERP at"),
        (
            "COUNTERSIGN_CHECKPOINT_URL",
            "postgresql://cs:s3cret-pw@127.0.0.1:1/cs",
            "the checkpoint database at",
        ),
    ],
)
def test_any_command_against_a_database_that_does_not_answer_says_which_in_one_line(
    tmp_path: Path, setting: str, url: str, said: str
) -> None:
    result = run_cli(tmp_path / "var", "approvals", "list", env={setting: url})

    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {said} ") and ":***@127.0.0.1:1/" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "s3cret-pw" not in result.stderr + result.stdout and "COUNTERSIGN_DEBUG" not in result.stderr
