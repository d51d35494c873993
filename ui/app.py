"""Countersign's web app: ``countersign ui`` runs this script with Streamlit.

Signs the person in, then shows the pages their roles open (``ui.navigation``). Every page runs
inside ``feedback.shown_errors``: errors reach people as one line, never as a traceback.
"""

from __future__ import annotations

import streamlit as st

from ui import feedback, navigation, runtime, signin

st.set_page_config(page_title="Countersign", page_icon=":material/approval:", layout="wide")


def _sidebar(name: str, roles: tuple[str, ...]) -> None:
    with st.sidebar:
        st.markdown(f"Signed in as **{name}**")
        st.caption(", ".join(role.replace("_", " ") for role in roles) or "no role")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.session_state.clear()
            if signin.oidc_providers() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()


def main() -> None:
    if feedback.run(runtime.service) is None:
        st.stop()  # a bad configuration was shown in one line; nothing else can work
    user = runtime.current_user()
    if user is None and signin.user_from_identity_provider():
        user = runtime.current_user()
    if user is None:
        st.navigation([st.Page(signin.render, title="Sign in", url_path="signin")], position="hidden").run()
        return
    specs = navigation.pages_for(user.roles)
    if not specs:
        st.warning(f"{user.name}, your account has no role that opens a page. Ask an administrator for one.")
        _sidebar(user.name, user.roles)
        return
    sections: dict[str, list[st.Page]] = {}
    for spec in specs:
        page = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)
        sections.setdefault(spec.section, []).append(page)
    current = st.navigation(sections)
    _sidebar(user.name, user.roles)
    with feedback.shown_errors():
        current.run()


main()
