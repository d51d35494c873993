"""Seeding reports progress in the records its summary counts, so the two never disagree."""

from __future__ import annotations

from pathlib import Path

from erp_acl.legacy.adapter import legacy_engine
from erp_acl.legacy.seed import seed_legacy_erp


def test_each_tables_last_progress_line_matches_the_summarys_count(tmp_path: Path) -> None:
    engine = legacy_engine(tmp_path / "erp.db")
    last: dict[str, tuple[int, int]] = {}
    try:
        summary = seed_legacy_erp(
            engine, progress=lambda what, done, total: last.update({what: (done, total)})
        )
    finally:
        engine.dispose()
    for what, (done, total) in last.items():
        assert done == total, what
        key = what.replace(" ", "_")
        if key in summary.counts:
            assert total == summary.counts[key], what
    reported = {what.replace(" ", "_") for what in last}
    assert {"customers", "purchase_orders", "journal_entries", "stock_levels"} <= reported
