"""The sign-in page: a configured user's password, or single sign-on through ``st.login`` (OIDC)
when the Streamlit secrets hold an ``[auth]`` section. Either way the person must be in the
users file: an identity provider's email is matched to a user's ``email``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from agent.service import SignInRefused
from ui import feedback, runtime


def oidc_providers() -> list[str | None]:
    """Configured identity providers: [None] for a single unnamed one, else their names."""
    try:
        auth: Any = st.secrets.get("auth")
    except Exception:  # no secrets file at all
        return []
    if not auth:
        return []
    if "client_id" in auth:
        return [None]
    return [name for name, value in auth.items() if isinstance(value, Mapping) and "client_id" in value]


def user_from_identity_provider() -> bool:
    """Sign in the person an identity provider vouches for; False when nobody is logged in there."""
    if not oidc_providers() or not getattr(st.user, "is_logged_in", False):
        return False
    email = st.user.get("email")
    if not isinstance(email, str) or not email:
        st.error(
            "Your identity provider did not send an email address; ask an administrator to add the email scope."
        )
        return False
    user = feedback.run(lambda: runtime.service().user_for_email(email))
    if user is None:
        st.button("Sign out of single sign-on", on_click=st.logout)
        return False
    runtime.sign_in_as(user)
    return True


def _password_form() -> None:
    with st.form("sign_in", border=True):
        user_id = st.text_input("User name", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
    if not submitted:
        return
    if not user_id.strip() or not password:
        st.error("Enter your user name and password.")
        return
    try:
        user = runtime.service().authenticate(user_id, password)
    except SignInRefused as refused:
        st.error(str(refused))
        return
    runtime.sign_in_as(user)
    st.rerun()


def render() -> None:
    st.title("Countersign")
    st.caption("Work with the AI agent on the ERP: it proposes, a person approves, the ERP commits once.")
    left, _ = st.columns([2, 3])
    with left:
        for provider in oidc_providers():
            label = "Sign in with single sign-on" if provider is None else f"Sign in with {provider}"
            if st.button(label, key=f"oidc_{provider}", width="stretch"):
                st.login() if provider is None else st.login(provider)
        _password_form()
        if runtime.service().settings.users_file is None:
            st.info(
                "Demo installation: sign in as **alice** (clerk), **bob** (approver), **carol** "
                "(approver and clerk), **erin** (finance director) or **dave** (auditor). Each demo "
                "password is the user name followed by `-demo`, e.g. `alice-demo`.",
                icon=":material/info:",
            )
