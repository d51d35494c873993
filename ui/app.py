"""Countersign's web app: ``countersign ui`` runs this script with Streamlit.

Answers at once: while the service is still being built (``ui.boot``, started with the server)
it shows a "starting…" page that continues by itself; then ``ui.shell`` signs the person in and
shows the pages their roles open (``ui.navigation``).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import boot

# The icon is served by the app itself: a ":material/…:" page icon makes every browser fetch it
# from a third-party host, which a back office behind a firewall (or an auditor) must never see.
ICON = Path(__file__).with_name("assets") / "countersign.png"
st.set_page_config(page_title="Countersign", page_icon=str(ICON), layout="wide")

# A build that finishes within moments (the agent already loaded) goes straight on, without a flash
# of the starting page; during a cold start the page shows at once and continues by itself.
if boot.ready(wait_seconds=0.0 if boot.cold() else 2.0):
    from ui import shell  # imports the agent (seconds on a cold start): only once it is loaded

    shell.main()
else:
    boot.show_starting()
