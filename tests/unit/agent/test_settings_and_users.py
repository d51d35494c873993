from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.models import ModelConfigurationError, make_chat_model
from agent.settings import Settings, load_settings
from agent.users import UnknownUser, load_directory


def test_the_embedded_defaults_live_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.erp_database_url == f"sqlite:///{tmp_path / 'legacy_erp.db'}"
    assert settings.app_database_url == f"sqlite:///{tmp_path / 'countersign.db'}"
    assert settings.checkpoint_file == tmp_path / "checkpoints.db"
    assert settings.model == "offline"


@pytest.mark.parametrize("model", ["gpt-4o", "openai:", "anthropic:claude"])
def test_an_unknown_model_setting_is_refused_with_the_allowed_forms(model: str) -> None:
    with pytest.raises(ValidationError, match="'offline' or 'openai:<model>'"):
        Settings(model=model)


def test_an_openai_model_without_a_key_is_refused_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigurationError, match="OPENAI_API_KEY"):
        make_chat_model(Settings(data_dir=tmp_path, model="openai:gpt-test"))


def test_the_api_key_can_come_from_a_secrets_directory_and_never_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "OPENAI_API_KEY").write_text("sk-from-a-file")
    settings = load_settings(secrets_dir=tmp_path)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-from-a-file"
    assert "sk-from-a-file" not in repr(settings)
    assert "sk-from-a-file" not in settings.model_dump_json()


def test_the_demo_users_have_the_documented_roles() -> None:
    directory = load_directory()
    assert directory.get("alice").roles == ("clerk",)
    assert directory.get("bob").has("approver")
    assert directory.get("carol").has("approver") and directory.get("carol").has("clerk")
    assert directory.get("dave").roles == ("auditor",)


def test_an_unknown_user_is_named_with_the_configured_ones() -> None:
    with pytest.raises(UnknownUser, match="alice, bob, carol, dave"):
        load_directory().get("mallory")


def test_a_users_file_with_an_unknown_role_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[users.eve]\nroles = ["superuser"]\n')
    with pytest.raises(ValueError, match="unknown roles"):
        load_directory(path)


def test_a_users_file_giving_an_auditor_another_role_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[users.dave]\nroles = ["auditor", "approver"]\n')
    with pytest.raises(ValueError) as refused:
        load_directory(path)
    assert str(refused.value) == (
        f"{path}: user 'dave' is an auditor and also approver; auditors are read-only,"
        " so give the other roles to a separate user"
    )
