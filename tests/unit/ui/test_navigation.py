"""Navigation follows roles: which pages each kind of user sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui import navigation


@pytest.mark.parametrize(
    ("roles", "titles"),
    [
        (("clerk",), ["Chat", "My requests"]),
        (("approver",), ["Approvals inbox", "Overview"]),
        (("approver", "clerk"), ["Chat", "My requests", "Approvals inbox", "Overview"]),
        (("finance_director",), ["Approvals inbox", "Overview"]),
        (("auditor",), ["Audit", "Reconciliation", "Overview"]),
        ((), []),
    ],
)
def test_each_role_sees_its_own_pages(roles: tuple[str, ...], titles: list[str]) -> None:
    assert [page.title for page in navigation.pages_for(roles)] == titles


def test_every_page_file_exists_and_url_paths_are_unique() -> None:
    app_dir = Path(navigation.__file__).parent
    assert all((app_dir / page.path).is_file() for page in navigation.PAGES)
    assert len({page.url_path for page in navigation.PAGES}) == len(navigation.PAGES)
