"""``COUNTERSIGN_ERP``: the bundled legacy ERP by default, or a Tryton server by URL whose password
is a setting of its own; every mistake is one line that never quotes a password."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.composition import open_erp
from agent.settings import Settings, TrytonLocation, load_settings, parse_erp

SECRET = "s3cret-Pa55"


@pytest.fixture(autouse=True)
def no_erp_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "COUNTERSIGN_ERP",
        "COUNTERSIGN_ERP_PASSWORD",
        "COUNTERSIGN_ERP_URL",
        "COUNTERSIGN_SECRETS_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


def one_line_error(value: str, **settings: object) -> str:
    """The message of the one error ``Settings(erp=value)`` raises, checked to show no password."""
    with pytest.raises(ValidationError) as caught:
        Settings(erp=value, **settings)  # type: ignore[arg-type]
    [error] = caught.value.errors()
    message = str(error["msg"])
    assert "\n" not in message
    assert SECRET not in str(caught.value)
    return message


def test_the_legacy_erp_is_the_default_and_keeps_its_database_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.erp == "legacy"
    assert settings.erp_kind == "legacy"
    assert settings.tryton_erp is None
    assert settings.erp_shown == f"the legacy ERP at sqlite:///{tmp_path / 'legacy_erp.db'}"


@pytest.mark.parametrize("value", ["legacy", "LEGACY", " legacy ", ""])
def test_legacy_in_any_case_or_an_empty_value_means_the_bundled_erp(value: str) -> None:
    assert Settings(erp=value).erp == "legacy"


def test_a_tryton_url_names_the_scheme_user_host_port_and_database() -> None:
    assert parse_erp("tryton+http://admin@127.0.0.1:8000/countersign") == TrytonLocation(
        scheme="http", user="admin", host="127.0.0.1", port=8000, database="countersign"
    )


def test_a_tryton_https_url_without_a_port_uses_443_and_without_http_s_8000() -> None:
    https = parse_erp("tryton+https://clerk@erp.example.com/prod")
    assert https is not None and https.port == 443 and https.base_url == "https://erp.example.com:443"
    http = parse_erp("tryton+http://clerk@erp.example.com/prod")
    assert http is not None and http.port == 8000


def test_percent_escapes_in_the_user_and_database_are_decoded_and_written_back() -> None:
    location = parse_erp("tryton+http://ana%40acme@h:8000/demo%20db")
    assert location is not None
    assert (location.user, location.database) == ("ana@acme", "demo db")
    assert str(location) == "tryton+http://ana%40acme@h:8000/demo%20db"


def test_an_ipv6_host_is_bracketed_in_the_server_url() -> None:
    location = parse_erp("tryton+http://admin@[::1]:8000/countersign")
    assert location is not None and location.base_url == "http://[::1]:8000"


def test_the_settings_keep_the_url_in_its_canonical_form_and_select_tryton() -> None:
    settings = Settings(erp="TRYTON+HTTP://admin@localhost/countersign", erp_password=SECRET)  # type: ignore[arg-type]
    assert settings.erp == "tryton+http://admin@localhost:8000/countersign"
    assert settings.erp_kind == "tryton"
    assert settings.erp_shown == "the Tryton ERP at tryton+http://admin@localhost:8000/countersign"


def test_the_tryton_password_comes_from_its_own_variable_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNTERSIGN_ERP", "tryton+http://admin@127.0.0.1:8000/countersign")
    monkeypatch.setenv("COUNTERSIGN_ERP_PASSWORD", SECRET)
    settings = load_settings()
    assert settings.erp_password is not None and settings.erp_password.get_secret_value() == SECRET
    for text in (repr(settings), str(settings), settings.model_dump_json(), settings.erp_shown):
        assert SECRET not in text


def test_the_tryton_password_can_come_from_a_secrets_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COUNTERSIGN_ERP_PASSWORD", raising=False)
    monkeypatch.setenv("COUNTERSIGN_ERP", "tryton+http://admin@127.0.0.1:8000/countersign")
    (tmp_path / "countersign_erp_password").write_text(SECRET)
    settings = load_settings(secrets_dir=tmp_path)
    assert settings.erp_password is not None and settings.erp_password.get_secret_value() == SECRET


def test_a_password_inside_the_url_is_refused_and_points_at_the_password_variable() -> None:
    message = one_line_error(f"tryton+http://admin:{SECRET}@127.0.0.1:8000/countersign")
    assert "must not carry a password" in message
    assert "COUNTERSIGN_ERP_PASSWORD" in message


def test_tryton_without_a_password_is_refused_naming_the_variable_and_the_user() -> None:
    with pytest.raises(ValidationError, match=r"COUNTERSIGN_ERP_PASSWORD is not set.*'admin'"):
        Settings(erp="tryton+http://admin@127.0.0.1:8000/countersign")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("odoo://admin@h:8069/db", "must be 'legacy' or 'tryton+http://USER@HOST:PORT/DATABASE'"),
        ("http://admin@h:8000/db", "must be 'legacy' or 'tryton+http://USER@HOST:PORT/DATABASE'"),
        ("tryton", "must be 'legacy' or 'tryton+http://USER@HOST:PORT/DATABASE'"),
        ("tryton+http://h:8000/db", "names no Tryton user"),
        ("tryton+http://admin@:8000/db", "names no host"),
        ("tryton+http://admin@h:80a/db", "bad port"),
        ("tryton+http://admin@h:70000/db", "bad port"),
        ("tryton+http://admin@h:0/db", "bad port"),
        ("tryton+http://admin@h:8000", "names no database"),
        ("tryton+http://admin@h:8000/", "names no database"),
        ("tryton+http://admin@h:8000/a/b", "only the database name"),
        ("tryton+http://admin@h:8000/db?ssl=1", "no query or fragment"),
    ],
)
def test_a_malformed_erp_setting_is_refused_in_one_line_saying_what_is_wrong(value: str, says: str) -> None:
    assert says in one_line_error(value, erp_password=SECRET)


def test_an_unknown_scheme_with_a_password_is_quoted_with_the_password_masked() -> None:
    message = one_line_error(f"postgresql://erp:{SECRET}@db.example.com/erp")
    assert "postgresql://erp:***@db.example.com/erp" in message


def test_the_composition_root_opens_tryton_without_contacting_it_until_the_first_call(
    tmp_path: Path,
) -> None:
    pytest.importorskip("erp_acl.tryton.adapter")
    settings = Settings(
        data_dir=tmp_path,
        erp="tryton+http://admin@127.0.0.1:9/countersign",  # nothing listens on the discard port
        erp_password=SECRET,  # type: ignore[arg-type]
    )
    erp = open_erp(settings)
    assert type(erp).__name__ == "TrytonErp"
    assert SECRET not in repr(getattr(erp, "rpc", ""))
