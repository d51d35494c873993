"""The agent worker: one agent run per ERP business event, on its own conversation.

Each event is routed to its configured owner (``agent/config/events.toml``); the run investigates
with read tools and may file proposals into the approvals inbox, exactly as if the owner had typed
the request. Events are handled at least once, so the worker deduplicates: by event id (the inbox
and the ``event_runs`` table), and by subject — a second event about a product whose replenishment
is still waiting in the inbox joins that run instead of filing a second order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Column, DateTime, Engine, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from agent.approvals import ProposalStore, metadata
from agent.messaging.bus import Delivery, PoisonMessage
from agent.messaging.inbox import Inbox
from agent.pipeline.event_config import EventRoute
from agent.users import Directory
from erp_acl.events import BusinessEvent, parse_event
from tools.observability import correlated, get_logger

CONSUMER = "agent"
OPEN_STATUSES = ("pending", "approved", "committing")
log = get_logger("countersign.agent_worker")

event_runs = Table(
    "event_runs",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("owner", String(64), nullable=False),
    Column("thread_id", String(64), nullable=True),
    # started, answered (no proposal), proposed, joined (another run covers it), ignored, failed,
    # unresolved (expected to propose and did not), needs_owner (a fact the request needs is missing)
    Column("status", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("detail", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class EventRun:
    event_id: str
    kind: str
    subject: str
    owner: str
    thread_id: str | None
    status: str
    summary: str
    detail: str | None
    created_at: datetime


# (owner, request text, conversation title) -> (thread id, ids of the proposals the run filed)
StartRun = Callable[[str, str, str], tuple[str, list[str]]]


class AgentWorker:
    def __init__(
        self,
        *,
        engine: Engine,
        store: ProposalStore,
        inbox: Inbox,
        routes: dict[str, EventRoute],
        directory: Directory,
        start_run: StartRun,
    ) -> None:
        self._engine = engine
        self._store = store
        self._inbox = inbox
        self._routes = routes
        self._directory = directory
        self._start_run = start_run

    def handle(self, delivery: Delivery) -> None:
        try:
            event = parse_event(delivery.body)
        except (ValueError, ValidationError) as exc:
            raise PoisonMessage(f"not a business event: {str(exc).splitlines()[0]}") from None
        if self._inbox.seen(CONSUMER, event.event_id):
            return
        with correlated(event_id=event.event_id):
            status = self._run(event)
            self._inbox.record(CONSUMER, event.event_id, status)
            log.info("erp event handled", kind=event.kind, subject=event.subject, status=status)

    def _run(self, event: BusinessEvent) -> str:
        route = self._routes.get(event.kind)
        summary = event.describe()
        if route is None or not route.enabled:
            return self._note(event, "-", "ignored", summary, detail="no owner is configured for this kind")
        previous = self._get(event.event_id)
        if previous is not None and previous.status != "started":
            return previous.status  # handled before; this is a redelivery
        covering = self._open_run_for(event)
        if covering is not None:
            return self._note(
                event, route.owner, "joined", summary, thread_id=covering, detail=f"covered by {covering}"
            )
        user = self._directory.get(route.owner)
        missing = route.missing(event.typed_facts(), user.default_cost_center)
        if missing:
            # Never a run built around the event's text: its owner is asked for what is missing.
            wanted = " and ".join(name.replace("_", " ") for name in missing)
            question = (
                f"{summary.rstrip('.')}. The event gives no {wanted}, so nothing was proposed: "
                f"ask for it in the chat, naming the {wanted}"
            )
            return self._note(event, route.owner, "needs_owner", summary, detail=question)
        self._note(event, route.owner, "started", summary)
        # The run starts from the typed facts (codes and numbers), never from the facts' text.
        text = route.render(
            summary=summary,
            subject=event.subject,
            facts=event.typed_facts(),
            cost_center=user.default_cost_center,
        )
        try:
            thread_id, filed = self._start_run(route.owner, text, f"ERP event: {summary}")
        except Exception as exc:  # the run's failure is recorded; the bus retries the delivery
            self._update(event.event_id, status="failed", detail=str(exc).splitlines()[0] if str(exc) else "")
            raise
        if filed:
            status, detail = "proposed", ", ".join(filed)
        elif route.expects == "proposal":
            # The run was there to file an order and did not: a person must look, not an "answer".
            status, detail = "unresolved", "the agent filed no proposal: see its conversation"
        else:
            status, detail = "answered", None
        self._update(event.event_id, status=status, thread_id=thread_id, detail=detail)
        return status

    def _open_run_for(self, event: BusinessEvent) -> str | None:
        """The thread of an earlier run on the same subject whose proposal still awaits its outcome."""
        with self._engine.connect() as conn:
            threads = [
                row.thread_id
                for row in conn.execute(
                    select(event_runs.c.thread_id).where(
                        event_runs.c.kind == event.kind,
                        event_runs.c.subject == event.subject,
                        event_runs.c.status == "proposed",
                    )
                )
            ]
        for thread_id in threads:
            if any(p.status in OPEN_STATUSES for p in self._store.list(thread_id=thread_id)):
                return str(thread_id)
        return None

    def _note(
        self,
        event: BusinessEvent,
        owner: str,
        status: str,
        summary: str,
        *,
        thread_id: str | None = None,
        detail: str | None = None,
    ) -> str:
        now = datetime.now(UTC)
        row: dict[str, Any] = {
            "event_id": event.event_id,
            "kind": event.kind,
            "subject": event.subject,
            "owner": owner,
            "thread_id": thread_id,
            "status": status,
            "summary": summary,
            "detail": detail,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(event_runs).values(**row))
        except IntegrityError:
            self._update(event.event_id, status=status, thread_id=thread_id, detail=detail)
        return status

    def _update(self, event_id: str, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None or k == "detail"}
        with self._engine.begin() as conn:
            conn.execute(
                update(event_runs)
                .where(event_runs.c.event_id == event_id)
                .values(updated_at=datetime.now(UTC), **values)
            )

    def _get(self, event_id: str) -> EventRun | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(event_runs).where(event_runs.c.event_id == event_id)).mappings().first()
        return _run_of(dict(row)) if row is not None else None


def recent_event_runs(engine: Engine, limit: int = 50) -> list[EventRun]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(event_runs).order_by(event_runs.c.created_at.desc()).limit(limit)
        ).mappings()
        return [_run_of(dict(r)) for r in rows]


def _run_of(row: dict[str, Any]) -> EventRun:
    created = row["created_at"]
    return EventRun(
        event_id=row["event_id"],
        kind=row["kind"],
        subject=row["subject"],
        owner=row["owner"],
        thread_id=row["thread_id"],
        status=row["status"],
        summary=row["summary"],
        detail=row["detail"],
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
    )
