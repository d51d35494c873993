"""The app once its service is ready: sign-in, then the pages a person's roles open.

Every page keeps its own URL (``/inbox?proposal=P-…`` is a link one can send), also through
sign-in: a link opened before signing in is followed right after. Every page runs inside
``feedback.shown_errors``: errors reach people as one line, never as a traceback.
"""

from __future__ import annotations

import streamlit as st

from agent.service import User
from ui import feedback, navigation, runtime, signin

AFTER_SIGN_IN = "countersign_after_sign_in"


def _page(spec: navigation.PageSpec) -> st.Page:
    return st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)


def _landing() -> None:
    """The app's root URL: send the person to where they were going, or to their first page."""


def _sidebar(user: User, pages: dict[str, st.Page], specs: list[navigation.PageSpec]) -> None:
    with st.sidebar:
        st.markdown(f"Signed in as **{user.name}**")
        st.caption(", ".join(role.replace("_", " ") for role in user.roles) or "no role")
        section = None
        for spec in specs:
            if spec.section != section:
                section = spec.section
                st.caption(section.upper())
            st.page_link(pages[spec.url_path], label=spec.title, icon=spec.icon)
        st.divider()
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.session_state.clear()
            if signin.oidc_providers() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()


def _signed_out() -> None:
    # Every page is registered (hidden) so that a link to one is recognised and kept for later.
    sign_in_page = st.Page(signin.render, title="Sign in", url_path="signin", default=True)
    current = st.navigation([sign_in_page, *(_page(s) for s in navigation.PAGES)], position="hidden")
    if current.url_path not in ("", "signin"):
        st.session_state[AFTER_SIGN_IN] = (current.url_path, st.query_params.to_dict())
    signin.render()


def _signed_in(user: User) -> None:
    specs = navigation.pages_for(user.roles)
    if not specs:
        st.warning(f"{user.name}, your account has no role that opens a page. Ask an administrator for one.")
        return
    pages = {spec.url_path: _page(spec) for spec in specs}
    landing = st.Page(_landing, title="Countersign", url_path="start", default=True)
    current = st.navigation([landing, *pages.values()], position="hidden")
    _sidebar(user, pages, specs)
    if current.url_path in ("", "start"):
        wanted, query = st.session_state.pop(AFTER_SIGN_IN, (specs[0].url_path, st.query_params.to_dict()))
        target = pages.get(wanted)
        if target is None:  # a link to a page this person's roles do not open
            target, query = pages[specs[0].url_path], {}
        st.switch_page(target, query_params=query or None)
    st.session_state.pop(AFTER_SIGN_IN, None)
    with feedback.shown_errors():
        current.run()


def main() -> None:
    if feedback.run(runtime.service) is None:
        st.stop()  # a bad configuration was shown in one line; nothing else can work
    user = runtime.current_user()
    if user is None and signin.user_from_identity_provider():
        user = runtime.current_user()
    if user is None:
        _signed_out()
    else:
        _signed_in(user)
