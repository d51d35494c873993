"""Signing in to the web app (passwords and single sign-on) and navigation that follows roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agent.service import AgentService
from tests.integration.ui.conftest import APP, AppAs, file_purchase_order
from ui import runtime

OIDC_SECRETS = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-cookie-secret-for-tests-only",
    "client_id": "countersign",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}


def sign_in(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input(key="sign_in_user").input(user)
    at.text_input(key="sign_in_password").input(password)
    return at.button[0].click().run()


def signed_in_user(at: AppTest) -> str | None:
    user = at.session_state.get(runtime.USER_KEY)
    return user if isinstance(user, str) else None


def nav_titles(at: AppTest) -> list[str]:
    """Titles of the page links in the sidebar."""
    return [link.proto.label for link in at.sidebar.get("page_link")]


def test_the_sign_in_page_renders_with_the_demo_hint_and_no_page_behind_it(app_as: AppAs) -> None:
    at = app_as(None)

    assert not at.exception
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert any("alice-demo" in i.value for i in at.info)
    assert signed_in_user(at) is None


def test_a_wrong_password_gets_one_line_and_the_right_one_signs_in(app_as: AppAs) -> None:
    at = sign_in(app_as(None), "alice", "bob-demo")
    assert [e.value for e in at.error] == ["wrong user name or password"]
    assert signed_in_user(at) is None

    at = sign_in(at, "alice", "alice-demo")
    assert not at.exception
    assert signed_in_user(at) == "alice"
    assert any("Alice Almeida" in m.value for m in at.sidebar.markdown)


def test_an_empty_form_asks_for_both_fields(app_as: AppAs) -> None:
    at = sign_in(app_as(None), "", "")
    assert [e.value for e in at.error] == ["Enter your user name and password."]


@pytest.mark.parametrize(
    ("user", "pages"),
    [
        ("alice", ["Chat", "My requests"]),
        ("bob", ["Approvals inbox", "Overview"]),
        ("carol", ["Chat", "My requests", "Approvals inbox", "Overview"]),
        ("dave", ["Audit", "Reconciliation", "Overview"]),
    ],
)
def test_navigation_shows_only_the_pages_of_the_users_roles(
    app_as: AppAs, user: str, pages: list[str]
) -> None:
    at = app_as(user)
    assert not at.exception
    assert nav_titles(at) == pages


def test_a_link_opened_before_signing_in_is_followed_after_it(
    app_as: AppAs, ui_service: AgentService
) -> None:
    proposal = file_purchase_order(ui_service, "alice")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.query_params["proposal"] = proposal.id
    at.switch_page("views/inbox.py").run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]

    at = sign_in(at, "bob", "bob-demo")

    assert not at.exception
    assert at.query_params.get("proposal") == proposal.id
    assert any(proposal.id in s.value for s in at.subheader)  # the inbox opened on that proposal


def test_signing_out_returns_to_the_sign_in_page(app_as: AppAs) -> None:
    at = app_as("bob")
    at.sidebar.button(key="sign_out").click().run()

    assert signed_in_user(at) is None
    assert [t.label for t in at.text_input] == ["User name", "Password"]


def test_single_sign_on_signs_in_the_user_with_that_email(ui_service: AgentService) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = OIDC_SECRETS
    at.run()
    assert any(b.label == "Sign in with single sign-on" for b in at.button)

    at.user = {"is_logged_in": True, "email": "Bob@example.com", "name": "Bob"}
    at.run()
    assert not at.exception
    assert signed_in_user(at) == "bob"


def test_each_named_identity_provider_gets_its_own_button(ui_service: AgentService) -> None:
    shared = {k: OIDC_SECRETS[k] for k in ("redirect_uri", "cookie_secret")}
    provider = {k: v for k, v in OIDC_SECRETS.items() if k not in shared}
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {**shared, "google": provider, "okta": provider}
    at.run()

    assert not at.exception
    labels = [b.label for b in at.button]
    assert "Sign in with google" in labels and "Sign in with okta" in labels


def test_single_sign_on_for_an_unknown_email_says_whom_to_ask(ui_service: AgentService) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "mallory@example.com"}
    at.run()

    assert not at.exception
    assert signed_in_user(at) is None
    assert ["not a Countersign user" in e.value for e in at.error] == [True]


def test_a_broken_configuration_is_one_line_not_a_traceback(
    ui_service: AgentService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text("this is not = = toml")
    monkeypatch.setenv("COUNTERSIGN_POLICY_FILE", str(bad))

    at = AppTest.from_file(str(APP), default_timeout=60).run()

    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value
