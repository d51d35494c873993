"""Which threads checkpoint retention may prune, and what it says about it (no databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.approvals import Proposal
from agent.maintenance import (
    ALREADY_PRUNED,
    PAUSED_AT_INTERRUPT,
    PENDING_APPROVAL,
    POSTGRES_LAYOUT,
    RECENTLY_ACTIVE,
    RUN_UNFINISHED,
    SQLITE_LAYOUT,
    UNKNOWN_STATUS,
    WRITE_NOT_COMMITTED,
    Freed,
    PruneReport,
    ThreadFacts,
    keep_reason,
    pruned_note,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def facts(**changes: Any) -> ThreadFacts:
    base: dict[str, Any] = {"thread_id": "T-1", "last_activity": NOW - timedelta(days=40)}
    return ThreadFacts(**{**base, **changes})


@pytest.mark.parametrize("statuses", [(), ("committed",), ("rejected", "expired", "failed", "committed")])
def test_a_finished_thread_whose_proposals_are_all_terminal_may_be_pruned(statuses: tuple[str, ...]) -> None:
    assert keep_reason(facts(statuses=frozenset(statuses)), None) is None


@pytest.mark.parametrize(
    ("statuses", "reason"),
    [
        (("committed", "pending"), PENDING_APPROVAL),
        (("approved",), WRITE_NOT_COMMITTED),
        (("committing", "rejected"), WRITE_NOT_COMMITTED),
        (("on_hold",), UNKNOWN_STATUS),
    ],
)
def test_a_thread_with_an_unfinished_proposal_is_kept(statuses: tuple[str, ...], reason: str) -> None:
    assert keep_reason(facts(statuses=frozenset(statuses)), None) == reason


def test_a_run_paused_at_an_approval_for_a_proposal_the_store_lacks_still_waits_for_a_decision() -> None:
    thread = facts(interrupt_proposals=frozenset({"P-gone"}))
    assert keep_reason(thread, None) == PENDING_APPROVAL


def test_a_run_paused_at_an_interrupt_is_kept_even_when_its_proposal_is_finished() -> None:
    thread = facts(
        statuses=frozenset({"committed"}),
        proposal_ids=frozenset({"P-1"}),
        interrupt_proposals=frozenset({"P-1"}),
    )
    assert keep_reason(thread, None) == PAUSED_AT_INTERRUPT
    assert keep_reason(facts(interrupt_proposals=frozenset({None})), None) == PAUSED_AT_INTERRUPT


def test_a_run_stopped_between_two_steps_is_kept() -> None:
    assert keep_reason(facts(next_nodes=("report_outcome",)), None) == RUN_UNFINISHED


def test_a_thread_that_holds_only_the_note_of_an_earlier_prune_is_left_alone() -> None:
    assert keep_reason(facts(already_pruned=True), None) == ALREADY_PRUNED


def test_older_than_keeps_threads_active_since_the_cutoff() -> None:
    cutoff = NOW - timedelta(days=30)
    assert keep_reason(facts(last_activity=NOW - timedelta(days=29)), cutoff) == RECENTLY_ACTIVE
    assert keep_reason(facts(last_activity=NOW - timedelta(days=31)), cutoff) is None


def test_waiting_for_approval_wins_over_every_other_reason() -> None:
    thread = facts(
        statuses=frozenset({"pending"}), next_nodes=("reason",), already_pruned=True, last_activity=NOW
    )
    assert keep_reason(thread, NOW - timedelta(days=1)) == PENDING_APPROVAL


def proposal(status: str, receipt: dict[str, Any] | None = None) -> Proposal:
    return Proposal(
        id="P-1",
        thread_id="T-1",
        action="create_purchase_order",
        status=status,  # type: ignore[arg-type]
        summary="PO",
        payload={},
        idempotency_key="k",
        fingerprint="f",
        requester="alice",
        on_behalf_of="alice",
        receipt=receipt,
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_note_of_a_pruned_conversation_names_its_proposals_and_the_audit_trail() -> None:
    note = pruned_note("T-1", [proposal("committed", {"document_id": "000301"})], NOW)

    assert note.id == "countersign_pruned-T-1"
    assert "removed on 2026-11-20" in str(note.content)
    assert "proposal P-1 (create_purchase_order) committed as document 000301" in str(note.content)
    assert "countersign audit show --proposal P-1" in str(note.content)


def test_the_note_of_a_conversation_without_proposals_says_so() -> None:
    assert "filed no proposals" in str(pruned_note("T-1", [], NOW).content)


def test_the_report_counts_what_was_freed_and_why_threads_were_kept() -> None:
    report = PruneReport(dry_run=False, backend="sqlite", older_than_days=30, cutoff=NOW)
    report.freed.add(Freed(checkpoints=9, writes=20, bytes=3 * 1024 * 1024))
    report.pruned.extend(["T-1", "T-2"])
    report.threads_examined = 5
    for reason in (PENDING_APPROVAL, PENDING_APPROVAL, RECENTLY_ACTIVE):
        report.keep(reason)

    shape = report.as_json()
    assert shape["threads_pruned"] == 2 and shape["threads_kept"] == 3
    assert shape["kept"] == {PENDING_APPROVAL: 2, RECENTLY_ACTIVE: 1}
    assert (shape["checkpoints_deleted"], shape["writes_deleted"], shape["blobs_deleted"]) == (9, 20, 0)
    assert shape["cutoff"] == NOW.isoformat()
    lines = report.lines()
    assert lines[0] == "Pruned 2 of 5 conversation threads: 9 checkpoints, 20 writes, about 3.0 MB freed."
    assert lines[1] == "Kept 3 threads:"


def test_each_backend_spells_its_placeholders_tables_and_sizes() -> None:
    assert SQLITE_LAYOUT.marks(3) == "?, ?, ?"
    assert POSTGRES_LAYOUT.marks(2) == "%s, %s"
    assert (SQLITE_LAYOUT.writes, SQLITE_LAYOUT.blobs) == ("writes", None)
    assert (POSTGRES_LAYOUT.writes, POSTGRES_LAYOUT.blobs) == ("checkpoint_writes", "checkpoint_blobs")
    assert POSTGRES_LAYOUT.size("blob") == "COALESCE(pg_column_size(blob), 0)"
