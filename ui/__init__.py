"""Countersign's web app (Streamlit): chat, my requests, approvals inbox, audit, reconciliation and
overview, behind a sign-in, with navigation that follows the user's roles.

Pages talk only to ``agent.service`` (import-linter checks it); ``ui.runtime`` holds the one
service of the process and the signed-in user of each browser session.
"""
