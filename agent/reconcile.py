"""Reconciliation: what Countersign meant to write against what the ERP actually holds.

One pass reads three sets in bulk — the intended writes (approved proposals, from the app
database), the ERP's idempotency ledger, and every ERP document that carries an agent key in its
reference field — and joins them in memory by key (a hash join; no query per intent). It finds:

- **missing**: approved, but nothing landed under its key after ``missing_after``; or it landed and
  is gone since (the document deleted or soft-deleted in the ERP, its ledger row intact; the record
  it changed in place no longer there);
- **duplicate**: two or more live ERP documents carry one intent's key (a legacy retry, a
  manual re-entry that copied the reference);
- **divergent**: a field the approved command set no longer says what it said — the document's
  lines, amounts, supplier, cost center, memo, date or description, or (for a change made in place)
  the credit limit, list price or cancelled status of the record as it stands now; of several
  approved changes to one record only the one that landed last must still hold;
- **orphan**: a document (or ledger entry) claims an agent key that no proposal has;
- **unauthorized**: a write landed for a proposal whose decisions in the audit trail do not satisfy
  the gate the trail recorded (an "approved" set by hand in the database, a payload changed after
  approval): see ``agent.authorization``.

Each discrepancy is stored once (seen again, it is only re-dated) and gets one compensating
proposal — a cancellation of a duplicate or divergent order, a reversing journal entry, a re-send
of the missing command under its original key (under a key derived from it once the original key
is spent: the ledger would only replay the old receipt), the approved value set again on a record
changed in place — filed as the reconciler's own identity and gated by the policy like any write.
An intent whose key did land but whose result never came back is not a discrepancy: the pass
marks it committed from the ledger (the authority) and tells its run.
"""

from __future__ import annotations

import gc
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, Text, insert, select, update

from agent.approvals import metadata, proposals
from agent.authorization import UnauthorizedWrite
from erp_acl.commands import (
    CancelPurchaseOrder,
    CancelSalesOrder,
    Command,
    JournalLineSpec,
    PostJournalEntry,
    parse_command,
)
from erp_acl.domain import LandedDocument, LedgerEntry
from erp_acl.landing import changed_record, divergence, record_divergence
from erp_acl.rules import MAX_DESCRIPTION

DiscrepancyKind = Literal["missing", "duplicate", "divergent", "orphan", "unauthorized"]
INTENDED = ("approved", "committing", "committed")

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("intents", Integer, nullable=False, default=0),
    Column("ledger_entries", Integer, nullable=False, default=0),
    Column("documents", Integer, nullable=False, default=0),
    Column("found", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("healed", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
)

discrepancies = Table(
    "discrepancies",
    metadata,
    Column("id", String(32), primary_key=True),
    # kind + key + documents: the same problem seen by a later pass is the same row.
    Column("identity", String(200), nullable=False, unique=True),
    Column("kind", String(16), nullable=False, index=True),
    Column("idempotency_key", String(64), nullable=False, index=True),
    Column("proposal_id", String(32), nullable=True),
    Column("action", String(64), nullable=True),
    Column("document_type", String(32), nullable=True),
    Column("document_ids", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False),
    # open: reported; compensating: a compensation waits or runs; resolved: gone from the ERP's view
    Column("status", String(16), nullable=False, index=True),
    Column("compensation_id", String(32), nullable=True),
    Column("compensation_note", Text, nullable=True),
    Column("first_run", Integer, nullable=False),
    Column("last_run", Integer, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
)


class Discrepancy(BaseModel):
    id: str
    kind: DiscrepancyKind
    idempotency_key: str
    proposal_id: str | None
    action: str | None
    document_type: str | None
    document_ids: list[str]
    detail: str
    status: str
    compensation_id: str | None
    compensation_note: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class RunReport(BaseModel):
    run_id: int
    started_at: datetime
    finished_at: datetime | None
    intents: int
    ledger_entries: int
    documents: int
    found: int
    new: int
    healed: int
    error: str | None = None

    def line(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds() if self.finished_at else 0.0
        return (
            f"reconciliation #{self.run_id}: {self.intents} intents, {self.ledger_entries} ledger entries, "
            f"{self.documents} keyed documents checked in {seconds:.2f} s; {self.found} discrepancies "
            f"({self.new} new), {self.healed} landed writes confirmed from the ledger"
        )


@dataclass(frozen=True)
class Intent:
    """An approved proposal as reconciliation needs it (a narrow row, not the whole proposal)."""

    proposal_id: str
    status: str
    key: str
    action: str
    payload: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class Finding:
    kind: DiscrepancyKind
    key: str
    detail: str
    proposal_id: str | None = None
    action: str | None = None
    documents: tuple[LandedDocument, ...] = ()
    # The key a re-send of a missing write goes under: its own key, or a derived one once spent.
    resend_key: str | None = None

    @property
    def identity(self) -> str:
        ids = ",".join(sorted(d.document_id for d in self.documents))
        return f"{self.kind}|{self.key}|{ids}"[:200]


@dataclass
class Comparison:
    findings: list[Finding] = field(default_factory=list)
    landed_unconfirmed: list[tuple[Intent, LedgerEntry]] = field(default_factory=list)


def compare(
    intents: Iterable[Intent],
    ledger: Iterable[LedgerEntry],
    documents: Iterable[LandedDocument],
    *,
    now: datetime,
    missing_after: timedelta,
    records: Mapping[str, LandedDocument | None] | None = None,
) -> Comparison:
    """The pure heart of a pass: three bulk sets in, findings out (hash joins by key).

    ``records`` holds, per record changed in place (``latest_changes``), that record as the ERP
    holds it now (None: gone); without it, changes in place are not compared."""
    everything = list(intents)
    by_key: dict[str, Intent] = {}
    for intent in everything:
        # A re-send shares its original's key: the one further along speaks for the intent.
        if intent.key not in by_key or intent.status == "committed":
            by_key[intent.key] = intent
    entries = {entry.idempotency_key: entry for entry in ledger}
    changes = _latest_keys(by_key.values(), entries) if records is not None else {}
    docs: dict[str, list[LandedDocument]] = defaultdict(list)
    for document in documents:
        docs[document.reference].append(document)
    result = Comparison()
    for key, intent in by_key.items():
        entry = entries.get(key)
        if entry is None or entry.receipt is None:
            overdue = now - intent.updated_at >= missing_after
            if intent.status == "committed" or overdue:
                detail = (
                    "recorded as committed but the ERP ledger has no entry for its key"
                    if intent.status == "committed"
                    else f"approved {_age(now - intent.updated_at)} ago and not landed in the ERP"
                )
                result.findings.append(Finding("missing", key, detail, intent.proposal_id, intent.action))
            continue
        live = [d for d in docs.get(key, []) if not d.cancelled]
        receipt_id = entry.receipt.document_id
        if len(live) > 1:
            extra = tuple(d for d in live if d.document_id != receipt_id) or tuple(live[1:])
            ids = ", ".join(d.document_id for d in extra)
            detail = (
                f"{len(live)} live {live[0].document_type} documents carry one key: {receipt_id} and {ids}"
            )
            result.findings.append(
                Finding("duplicate", key, detail, intent.proposal_id, intent.action, extra)
            )
        for document in live:
            if _plainly_matches(intent.payload, document):
                continue  # the common case, decided without building the command
            command = _command(intent.payload)
            difference = (
                divergence(command, document) if command is not None else "the command cannot be read"
            )
            if difference is not None:
                result.findings.append(
                    Finding("divergent", key, difference, intent.proposal_id, intent.action, (document,))
                )
        result.findings += _gone_or_changed(intent, entry, docs, entries, changes, records or {})
    for intent in everything:
        entry = entries.get(intent.key)
        if intent.status in ("approved", "committing") and entry is not None and entry.receipt is not None:
            result.landed_unconfirmed.append((intent, entry))
    for key, landed in docs.items():
        if key in by_key:
            continue
        claiming = tuple(d for d in landed if not d.cancelled)
        if claiming:
            ids = ", ".join(d.document_id for d in claiming)
            detail = f"{claiming[0].document_type} {ids} carries agent key {key}, which no proposal has"
            result.findings.append(Finding("orphan", key, detail, documents=claiming))
    for key, entry in entries.items():
        if key not in by_key and key not in docs and entry.receipt is not None:
            detail = f"the ERP ledger holds a {entry.action} under key {key}, which no proposal has"
            result.findings.append(Finding("orphan", key, detail, action=entry.action))
    return result


DOCUMENT_ACTIONS = {"create_purchase_order": "purchase order", "post_journal_entry": "journal entry"}
"""Commands that land a document of their own (carrying their key), and that document's name."""
_RESEND = uuid.UUID("5b0c8f1e-2a57-4d4e-9a51-6c0de4e1a7b3")


def resend_key(key: str) -> str:
    """The key a write is re-sent under once its own is spent (its document gone, its ledger row
    kept): derived from the original, so that however often it is re-filed it lands once."""
    return str(uuid.uuid5(_RESEND, key))


def _latest_keys(intents: Iterable[Intent], entries: Mapping[str, LedgerEntry]) -> dict[str, str]:
    """Key -> record, for the changes in place that landed last on their record."""
    return {intent.key: ref for ref, (intent, _) in latest_changes(intents, entries.values()).items()}


def latest_changes(
    intents: Iterable[Intent], ledger: Iterable[LedgerEntry]
) -> dict[str, tuple[Intent, Command]]:
    """Per record changed in place (``customer:C00001``), the landed intent that changed it last
    and its command: what the record must still hold. An earlier change is superseded, not undone."""
    landed = {e.idempotency_key: e for e in ledger if e.receipt is not None}
    latest: dict[str, tuple[datetime, Intent, Command]] = {}
    for intent in intents:
        entry = landed.get(intent.key)
        if entry is None or intent.action in DOCUMENT_ACTIONS:
            continue
        command = _command(intent.payload)
        ref = changed_record(command) if command is not None else None
        if command is None or ref is None:
            continue
        if ref not in latest or entry.created_at >= latest[ref][0]:
            latest[ref] = (entry.created_at, intent, command)
    return {ref: (intent, command) for ref, (_, intent, command) in latest.items()}


def _gone_or_changed(
    intent: Intent,
    entry: LedgerEntry,
    docs: Mapping[str, list[LandedDocument]],
    entries: Mapping[str, LedgerEntry],
    changes: Mapping[str, str],
    records: Mapping[str, LandedDocument | None],
) -> list[Finding]:
    """A landed write checked against the ERP as it stands now: its document gone (soft-deleted
    included) is missing; the record it changed in place, gone or holding something else."""
    key, receipt = intent.key, entry.receipt
    assert receipt is not None
    name = DOCUMENT_ACTIONS.get(intent.action)
    if name is not None:
        if docs.get(key):
            return []  # cancelled or not, a document still carries the key
        gone = (
            f"{name} {receipt.document_id} landed under its key and is no longer in the ERP "
            "(deleted after it landed)"
        )
    else:
        ref = changes.get(key)
        if ref is None or ref not in records:
            return []  # superseded by a later change, or not read
        record = records[ref]
        if record is not None:
            command = _command(intent.payload)
            difference = record_divergence(command, record) if command is not None else None
            if difference is None:
                return []
            return [Finding("divergent", key, difference, intent.proposal_id, intent.action, (record,))]
        kind, _, code = ref.partition(":")
        gone = f"{kind.replace('_', ' ')} {code}, which it changed, is no longer in the ERP"
    again = resend_key(key)
    resent = entries.get(again)
    if resent is not None and resent.receipt is not None:
        return []  # re-sent under its derived key, which landed: the re-send speaks for it now
    return [Finding("missing", key, gone, intent.proposal_id, intent.action, resend_key=again)]


def _plainly_matches(payload: dict[str, Any], document: LandedDocument) -> bool:
    """A sound shortcut: True only when the raw payload's lines are exactly the landed lines (as
    ``divergence`` would also find); anything else is left to ``divergence`` to explain."""
    lines = payload.get("lines")
    action = payload.get("action")
    if not isinstance(lines, list):
        return False
    try:
        if action == "create_purchase_order" and document.document_type == "purchase_order":
            # Every field the command set, typed exactly as landed (else ``divergence`` decides).
            if (
                payload.get("supplier_code") != document.party
                or payload.get("cost_center") != document.cost_center
                or str(payload.get("memo", "")).strip() != document.description.strip()
            ):
                return False
            wanted = Counter((str(x["product_code"]), Decimal(str(x["quantity"]))) for x in lines)
            if wanted != Counter((line.code, line.quantity) for line in document.lines):
                return False
            priced = {
                (str(x["product_code"]), Decimal(str(x["quantity"])), Decimal(str(x["unit_price"])))
                for x in lines
                if x.get("unit_price") is not None
            }
            return priced <= {(line.code, line.quantity, line.unit_price) for line in document.lines}
        if action == "post_journal_entry" and document.document_type == "journal_entry":
            if (
                document.created_on is None
                or payload.get("entry_date") != document.created_on.isoformat()
                or str(payload.get("description", "")).strip() != document.description.strip()
            ):
                return False
            posted = Counter(
                (str(x["account_code"]), Decimal(str(x.get("debit", 0))), Decimal(str(x.get("credit", 0))))
                for x in lines
            )
            return posted == Counter((line.code, line.debit, line.credit) for line in document.lines)
    except (KeyError, TypeError, ArithmeticError):
        return False
    return False


def _command(payload: dict[str, Any]) -> Command | None:
    try:
        return parse_command(payload)
    except ValueError:
        return None


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def compensation_for(
    finding: Finding, intent_payload: dict[str, Any] | None
) -> tuple[Command, str | None] | str:
    """The compensating command for a finding (and the ERP key it must be written under), or why
    there is none."""
    if finding.kind == "missing":
        if intent_payload is None:
            return "the approved command cannot be read back"
        command = _command(intent_payload)
        if command is None:
            return "the approved command cannot be read back"
        # A re-send under the original key can never land twice; once that key is spent (its
        # document deleted after it landed) the derived one takes its place, just as once.
        return command, finding.resend_key or finding.key
    if not finding.documents:
        return "nothing in the ERP to reverse: only a ledger entry claims the key; check it by hand"
    document = finding.documents[0]
    why = {
        "duplicate": f"duplicate of the write under key {finding.key}",
        "divergent": f"landed differently from the approved command: {finding.detail}",
        "orphan": f"carries agent key {finding.key}, which no proposal has",
        "unauthorized": f"written without an authorizing decision: {finding.detail}",
    }[finding.kind]
    if document.document_type == "purchase_order":
        return CancelPurchaseOrder(order_number=document.document_id, reason=why[:200]), None
    if document.document_type == "sales_order":
        return CancelSalesOrder(order_number=document.document_id, reason=why[:200]), None
    if document.document_type in ("customer", "product") and intent_payload is not None:
        # A credit limit or list price changed again in the ERP: set the approved value again.
        approved = _command(intent_payload)
        if approved is None:
            return "the approved command cannot be read back"
        return approved.model_copy(update={"based_on": {}, "reason": why[:200]}), None
    if document.document_type == "journal_entry":
        return reversing_entry(document, why), None
    return f"no compensation is defined for a {document.document_type}"


def reversing_entry(document: LandedDocument, why: str) -> PostJournalEntry:
    """A journal entry that swaps every debit and credit of the landed one."""
    lines = [
        JournalLineSpec(account_code=line.code, debit=line.credit, credit=line.debit)
        for line in document.lines
    ]
    return PostJournalEntry(
        entry_date=datetime.now(UTC).date(),
        # The ERP keeps a description this wide; a longer finding would refuse the reversal itself.
        description=f"Reversal of journal entry {document.document_id}: {why}"[:MAX_DESCRIPTION],
        lines=lines,
    )


# (finding, command, erp key) -> id of the compensating proposal filed
FileCompensation = Callable[[Discrepancy, Command, str | None], str]
# (key, fingerprint) of each ledger write -> those no authorized proposal accounts for
FindUnauthorized = Callable[[Iterable[tuple[str, str]]], list[UnauthorizedWrite]]


def unauthorized_findings(
    intents: Iterable[Intent],
    ledger: Iterable[LedgerEntry],
    documents: Iterable[LandedDocument],
    find: FindUnauthorized,
) -> list[Finding]:
    """The landed writes of intents that the audit trail's decisions do not authorize. A key no
    proposal has is left to the orphan check; this is about writes with a proposal behind them."""
    by_key = {intent.key: intent for intent in intents}
    landed = [
        (e.idempotency_key, e.fingerprint)
        for e in ledger
        if e.receipt is not None and e.idempotency_key in by_key
    ]
    live: dict[str, list[LandedDocument]] = defaultdict(list)
    for document in documents:
        if not document.cancelled:
            live[document.reference].append(document)
    findings = []
    for write in find(landed):
        intent = by_key[write.idempotency_key]
        detail = f"proposal {intent.proposal_id} landed without an authorizing decision: {write.reason}"
        findings.append(
            Finding(
                "unauthorized",
                write.idempotency_key,
                detail,
                intent.proposal_id,
                intent.action,
                tuple(live.get(write.idempotency_key, ())),
            )
        )
    return findings


class Reconciler:
    """Runs passes and keeps their findings in the app database."""

    def __init__(
        self,
        *,
        engine: Engine,
        ledger: Callable[[], Iterable[LedgerEntry]],
        documents: Callable[[], Iterable[LandedDocument]],
        file_compensation: FileCompensation | None,
        confirm_landed: Callable[[str, LedgerEntry], None],
        missing_after: timedelta,
        unauthorized: FindUnauthorized | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        read_record: Callable[[Command], LandedDocument | None] | None = None,
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        self._documents = documents
        self._file = file_compensation
        self._confirm = confirm_landed
        self._unauthorized = unauthorized
        self._missing_after = missing_after
        self._now = now
        # Reads the record a change in place changed (None: gone); one read per record changed.
        self._read_record = read_record

    def run(self, progress: Callable[[str], None] = lambda _: None) -> RunReport:
        started = self._now()
        with self._engine.begin() as conn:
            inserted = conn.execute(
                insert(reconciliation_runs).values(started_at=started)
            ).inserted_primary_key
            assert inserted is not None
            run_id = int(inserted[0])
        try:
            # Hundreds of thousands of small objects, none of them cyclic: the cyclic collector
            # would only rescan them again and again while they are built.
            with _collector_paused():
                progress("reading intended writes")
                intents = self._intents()
                progress(f"{len(intents)} intents; reading the ERP ledger")
                ledger = list(self._ledger())
                progress(f"{len(ledger)} ledger entries; reading keyed ERP documents")
                documents = list(self._documents())
                records = self._records(intents, ledger, progress)
                progress(f"{len(documents)} documents; comparing")
                comparison = compare(
                    intents,
                    ledger,
                    documents,
                    now=self._now(),
                    missing_after=self._missing_after,
                    records=records,
                )
                if self._unauthorized is not None:
                    found = unauthorized_findings(intents, ledger, documents, self._unauthorized)
                    comparison.findings.extend(found)
            for intent, entry in comparison.landed_unconfirmed:
                self._confirm(intent.proposal_id, entry)
            payloads = {i.key: i.payload for i in intents}
            new = self._store(run_id, comparison.findings, payloads, progress)
            report = dict(
                intents=len(intents),
                ledger_entries=len(ledger),
                documents=len(documents),
                found=len(comparison.findings),
                new=new,
                healed=len(comparison.landed_unconfirmed),
            )
        except Exception as exc:
            self._finish(run_id, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise
        self._finish(run_id, **report)
        return self.report(run_id)

    def _records(
        self, intents: list[Intent], ledger: list[LedgerEntry], progress: Callable[[str], None]
    ) -> dict[str, LandedDocument | None] | None:
        """Each record changed in place, as it stands now: one read per record, not per intent."""
        if self._read_record is None:
            return None
        changes = latest_changes(intents, ledger)
        if changes:
            progress(f"reading {len(changes)} records changed in place")
        return {ref: self._read_record(command) for ref, (_, command) in changes.items()}

    def _intents(self) -> list[Intent]:
        columns = (
            proposals.c.id,
            proposals.c.status,
            proposals.c.idempotency_key,
            proposals.c.erp_key,
            proposals.c.action,
            proposals.c.payload,
            proposals.c.updated_at,
        )
        with self._engine.connect() as conn:
            rows = conn.execute(select(*columns).where(proposals.c.status.in_(INTENDED))).all()
        return [
            Intent(
                row.id,
                row.status,
                row.erp_key or row.idempotency_key,
                row.action,
                row.payload if isinstance(row.payload, dict) else _json(row.payload),
                _aware(row.updated_at),
            )
            for row in rows
        ]

    def _store(
        self,
        run_id: int,
        findings: list[Finding],
        payloads: dict[str, dict[str, Any]],
        progress: Callable[[str], None],
    ) -> int:
        now = self._now()
        with self._engine.connect() as conn:
            known = {
                row.identity: row.id
                for row in conn.execute(
                    select(discrepancies.c.identity, discrepancies.c.id).where(
                        discrepancies.c.resolved_at.is_(None)
                    )
                )
            }
        seen_ids = {known[f.identity] for f in findings if f.identity in known}
        fresh = [f for f in findings if f.identity not in known]
        with self._engine.begin() as conn:
            if seen_ids:
                conn.execute(
                    update(discrepancies)
                    .where(discrepancies.c.id.in_(seen_ids))
                    .values(last_run=run_id, last_seen_at=now)
                )
            # Gone from the ERP's view since the last pass: settled (by a compensation or by hand).
            conn.execute(
                update(discrepancies)
                .where(discrepancies.c.resolved_at.is_(None), discrepancies.c.id.not_in(seen_ids))
                .values(status="resolved", resolved_at=now)
            )
            for finding in fresh:
                conn.execute(
                    insert(discrepancies).values(
                        id="D-" + uuid.uuid4().hex[:10],
                        identity=finding.identity,
                        kind=finding.kind,
                        idempotency_key=finding.key,
                        proposal_id=finding.proposal_id,
                        action=finding.action,
                        document_type=finding.documents[0].document_type if finding.documents else None,
                        document_ids=",".join(d.document_id for d in finding.documents),
                        detail=finding.detail,
                        status="open",
                        first_run=run_id,
                        last_run=run_id,
                        first_seen_at=now,
                        last_seen_at=now,
                    )
                )
        if fresh:
            progress(f"{len(fresh)} new discrepancies; filing compensations")
        for finding in fresh:
            self._compensate(self._by_identity(finding.identity), finding, payloads.get(finding.key))
        return len(fresh)

    def _compensate(self, discrepancy: Discrepancy, finding: Finding, payload: dict[str, Any] | None) -> None:
        if self._file is None:
            self._note(discrepancy.id, note="no reconciler identity is configured; compensate by hand")
            return
        planned = compensation_for(finding, payload)
        if isinstance(planned, str):
            self._note(discrepancy.id, note=planned)
            return
        command, erp_key = planned
        try:
            proposal_id = self._file(discrepancy, command, erp_key)
        except Exception as exc:  # the discrepancy stays reported with why it has no compensation
            self._note(
                discrepancy.id, note=f"no compensation filed: {str(exc).splitlines()[0] if str(exc) else exc}"
            )
            return
        self._note(discrepancy.id, note=command.summary(), compensation_id=proposal_id, status="compensating")

    def _note(
        self, discrepancy_id: str, *, note: str, compensation_id: str | None = None, status: str | None = None
    ) -> None:
        values: dict[str, Any] = {"compensation_note": note}
        if compensation_id is not None:
            values["compensation_id"] = compensation_id
        if status is not None:
            values["status"] = status
        with self._engine.begin() as conn:
            conn.execute(update(discrepancies).where(discrepancies.c.id == discrepancy_id).values(**values))

    def _finish(self, run_id: int, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(reconciliation_runs)
                .where(reconciliation_runs.c.id == run_id)
                .values(finished_at=self._now(), **values)
            )

    # ---- reading back -----------------------------------------------------------------------

    def report(self, run_id: int) -> RunReport:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(reconciliation_runs).where(reconciliation_runs.c.id == run_id))
                .mappings()
                .one()
            )
        return _report(dict(row))

    def latest(self) -> RunReport | None:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(reconciliation_runs).order_by(reconciliation_runs.c.id.desc()).limit(1))
                .mappings()
                .first()
            )
        return _report(dict(row)) if row is not None else None

    def discrepancies(self, *, include_resolved: bool = False, limit: int = 500) -> list[Discrepancy]:
        query = select(discrepancies).order_by(discrepancies.c.first_seen_at.desc()).limit(limit)
        if not include_resolved:
            query = query.where(discrepancies.c.resolved_at.is_(None))
        with self._engine.connect() as conn:
            return [_discrepancy(dict(r)) for r in conn.execute(query).mappings()]

    def _by_identity(self, identity: str) -> Discrepancy:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(discrepancies).where(discrepancies.c.identity == identity))
                .mappings()
                .one()
            )
        return _discrepancy(dict(row))


@contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _report(row: dict[str, Any]) -> RunReport:
    row["started_at"] = _aware(row["started_at"])
    row["finished_at"] = _aware(row["finished_at"]) if row["finished_at"] is not None else None
    row["run_id"] = row.pop("id")
    return RunReport.model_validate(row)


def _discrepancy(row: dict[str, Any]) -> Discrepancy:
    row["document_ids"] = [d for d in (row["document_ids"] or "").split(",") if d]
    for name in ("first_seen_at", "last_seen_at", "resolved_at"):
        if row[name] is not None:
            row[name] = _aware(row[name])
    for name in ("identity", "first_run", "last_run"):
        row.pop(name)
    return Discrepancy.model_validate(row)


def _json(value: Any) -> dict[str, Any]:
    import json

    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
