"""Which pages a person sees: navigation follows their roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str  # page file, relative to ui/app.py
    title: str
    icon: str
    url_path: str
    section: str
    roles: frozenset[str]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/chat.py", "Chat", ":material/chat:", "chat", "Work", frozenset({"clerk"})),
    PageSpec(
        "views/my_requests.py", "My requests", ":material/list_alt:", "requests", "Work", frozenset({"clerk"})
    ),
    PageSpec(
        "views/inbox.py",
        "Approvals inbox",
        ":material/inbox:",
        "inbox",
        "Decide",
        frozenset({"approver", "finance_director"}),
    ),
    PageSpec("views/audit.py", "Audit", ":material/policy:", "audit", "Oversight", frozenset({"auditor"})),
    PageSpec(
        "views/reconciliation.py",
        "Reconciliation",
        ":material/balance:",
        "reconciliation",
        "Oversight",
        frozenset({"auditor"}),
    ),
    PageSpec(
        "views/overview.py",
        "Overview",
        ":material/monitoring:",
        "overview",
        "Oversight",
        frozenset({"approver", "finance_director", "auditor"}),
    ),
)


def pages_for(roles: Iterable[str]) -> list[PageSpec]:
    """The pages a person with ``roles`` may open, in menu order."""
    held = set(roles)
    return [page for page in PAGES if page.roles & held]
