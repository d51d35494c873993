"""Runs the pipeline: the outbox relay, the ERP writer, the result consumer, the ERP event feed,
the agent worker and the standing jobs (expiry, telling untold requesters, reconciliation, audit
checkpoints).

Three ways to run it, one code path:

- ``start(roles)``: background threads, used by ``countersign worker`` and by the app itself on the
  embedded defaults (``COUNTERSIGN_WORKERS=embedded``);
- ``drain()``: handle everything queued now, in the caller's thread, and return — what one-shot
  commands (``countersign approve``) do on the embedded defaults so that they finish their own work;
- nothing at all in a process that only enqueues (``COUNTERSIGN_WORKERS=external``): separate
  worker processes pick the work up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from agent.messaging.bus import Bus, BusUnavailable, Delivery
from agent.messaging.inbox import Inbox
from agent.messaging.outbox import Outbox
from agent.messaging.topology import COMMANDS, EVENTS, RESULTS
from agent.pipeline.agent_worker import AgentWorker
from agent.pipeline.event_config import load_event_routes
from agent.pipeline.messages import CommitResult
from agent.pipeline.results import ResultConsumer
from agent.pipeline.writer import ErpWriterWorker
from erp_acl.events import BusinessEvent
from tools.observability import get_logger

if TYPE_CHECKING:
    from agent.service import AgentService

Role = Literal["writer", "agent", "all"]
ROLES: tuple[Role, ...] = ("writer", "agent", "all")
log = get_logger("countersign.pipeline")
# How long an ended proposal's run must have been still before the standing job tells it: longer
# than any result consumer takes between recording an outcome and resuming the run itself.
UNTOLD_QUIET = timedelta(minutes=5)


@dataclass
class Counters:
    """What this process has handled since it started (shown by `countersign worker`)."""

    commands: int = 0
    results: int = 0
    events: int = 0
    relayed: int = 0
    published_events: int = 0
    errors: int = 0
    jobs: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"commands {self.commands} · results {self.results} · events {self.events} · "
            f"relayed {self.relayed} · erp events published {self.published_events} · errors {self.errors}"
        )


@dataclass
class PeriodicJob:
    name: str
    every_seconds: float
    run: Callable[[], object]
    next_at: float = 0.0


class Pipeline:
    def __init__(self, service: AgentService, bus: Bus) -> None:
        settings = service.settings
        self.service = service
        self.bus = bus
        self.outbox = Outbox(service.engine)
        self.inbox = Inbox(service.engine)
        self.counters = Counters()
        self._redeliver_after = timedelta(seconds=settings.outbox_redeliver_after_seconds)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.writer = ErpWriterWorker(
            store=service.store,
            gateway=service.gateway,
            inbox=self.inbox,
            publish=self._publish_result,
            # Raises (so the delivery is retried) while an approval's audit record is on its way.
            authorize=service.authorize_write,
        )
        self.results = ResultConsumer(
            engine=service.engine,
            store=service.store,
            outbox=self.outbox,
            inbox=self.inbox,
            resume=service.resume_with_outcome,
        )
        self.agent = AgentWorker(
            engine=service.engine,
            store=service.store,
            inbox=self.inbox,
            routes=load_event_routes(settings.events_file, service.directory),
            directory=service.directory,
            start_run=service.run_for_event,
        )

    # ---- pieces -----------------------------------------------------------------------------

    def _publish_result(self, result: CommitResult) -> None:
        self.bus.publish(RESULTS, result.model_dump(mode="json"), message_id=result.message_id())

    def relay(self) -> int:
        """Send queued commands from the outbox to the commands queue."""
        sent = self.outbox.relay(self.bus, redeliver_after=self._redeliver_after)
        self.counters.relayed += sent
        return sent

    def publish_erp_events(self, now: datetime | None = None) -> list[BusinessEvent]:
        """Let the ERP detect new business events, then publish every one not yet published."""
        erp = self.service.erp
        erp.scan_events(now or datetime.now(UTC))
        published: list[BusinessEvent] = []
        while batch := erp.unpublished_events(limit=100):
            for event in batch:
                self.bus.publish(EVENTS, event.model_dump(mode="json"), message_id=event.event_id)
            erp.mark_events_published([e.event_id for e in batch])
            published += batch
        self.counters.published_events += len(published)
        return published

    def emit(self, event: BusinessEvent) -> None:
        """Publish one event by hand (``countersign events emit``)."""
        self.bus.publish(EVENTS, event.model_dump(mode="json"), message_id=event.event_id)

    def _counted(self, name: str, handler: Callable[[Delivery], None]) -> Callable[[Delivery], None]:
        def handle(delivery: Delivery) -> None:
            try:
                handler(delivery)
            except Exception:
                self.counters.errors += 1
                raise
            setattr(self.counters, name, getattr(self.counters, name) + 1)

        return handle

    # ---- in the caller's thread ---------------------------------------------------------------

    def drain(self, *, timeout: float = 120.0, events: bool = False) -> None:
        """Handle what is queued now: relay the outbox, write the commands, record the results
        (and, with ``events``, run the agent on queued ERP events); return when all is quiet."""
        deadline = time.monotonic() + timeout
        queues = [(COMMANDS, "commands", self.writer.handle), (RESULTS, "results", self.results.handle)]
        if events:
            queues.append((EVENTS, "events", self.agent.handle))
        while time.monotonic() < deadline:
            busy = self.relay()
            for queue, name, handler in queues:
                busy += self._consume_available(queue, self._counted(name, handler))
            if not busy and not self.outbox.unpublished_count():
                return

    def _consume_available(self, queue: str, handler: Callable[[Delivery], None]) -> int:
        # Ask the queue first and stop once that many are handled: waiting out an idle poll on
        # every queue of every pass cost each approval ~200 ms on the embedded defaults. What a
        # handler queues meanwhile is picked up by the caller's next pass; the idle poll stays
        # only as the way out when another consumer took some of the messages counted.
        waiting = self.bus.size(queue)
        if waiting == 0:
            return 0
        handled = 0
        stop = threading.Event()

        def counting(delivery: Delivery) -> None:
            nonlocal handled
            handled += 1
            try:
                handler(delivery)
            finally:
                if handled >= waiting:
                    stop.set()

        self.bus.consume(queue, counting, stop=stop, idle=stop.set, poll_seconds=0.05)
        return handled

    def kick(self) -> None:
        """Work was queued: wake the background threads, or, on the embedded defaults in a process
        without them, finish it now."""
        if self._threads:
            self._wake.set()
        elif self.service.settings.workers == "embedded":
            try:
                self.drain()
            except BusUnavailable as exc:
                # The work was committed to the outbox with its decision: it is not lost, and the
                # next relay (any command, a worker) sends it once the queue answers again.
                log.warning("queue unreachable; queued work waits in the outbox", error=str(exc))

    # ---- background threads -----------------------------------------------------------------

    def start(self, roles: Iterable[Role] = ("all",)) -> None:
        wanted = set(roles)
        writer = bool(wanted & {"writer", "all"})
        agent = bool(wanted & {"agent", "all"})
        settings = self.service.settings
        if writer:
            for n in range(settings.writer_concurrency):
                self._consumer(f"writer-{n + 1}", COMMANDS, self._counted("commands", self.writer.handle))
        if agent:
            self._consumer("results", RESULTS, self._counted("results", self.results.handle))
            self._consumer("agent", EVENTS, self._counted("events", self.agent.handle))
        jobs = self.standing_jobs(writer=writer, agent=agent)
        self._spawn("jobs", lambda: self._run_jobs(jobs))

    def standing_jobs(self, *, writer: bool, agent: bool) -> list[PeriodicJob]:
        """The periodic jobs a process with these roles runs beside its consumers."""
        settings = self.service.settings
        jobs = [PeriodicJob("relay", 1.0, self.relay)]
        if writer:
            jobs.append(PeriodicJob("erp-events", settings.events_scan_seconds, self.publish_erp_events))
        if agent:
            jobs += [
                PeriodicJob("expiry", 30.0, self.service.expire_overdue),
                # A requester whose run a crash left untold is told, once, after a quiet spell.
                PeriodicJob("tell-untold", 60.0, lambda: self.service.tell_untold(quiet_for=UNTOLD_QUIET)),
                PeriodicJob("audit-checkpoint", 30.0, self.service.audit.maybe_checkpoint),
                PeriodicJob("reconcile", settings.reconcile_interval_seconds, self.service.reconcile_quietly),
                PeriodicJob("prune-delivered", 3600.0, lambda: self.bus.prune_delivered(timedelta(days=1))),
            ]
        return jobs

    def _consumer(self, name: str, queue: str, handler: Callable[[Delivery], None]) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.bus.consume(queue, handler, stop=self._stop, poll_seconds=0.5)
                except BusUnavailable as exc:
                    log.warning("queue unavailable; retrying", queue=queue, error=str(exc))
                    self._stop.wait(2.0)

        self._spawn(name, run)

    def _run_jobs(self, jobs: list[PeriodicJob]) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            woken = self._wake.is_set()
            self._wake.clear()
            for job in jobs:
                if now >= job.next_at or (woken and job.name == "relay"):
                    job.next_at = now + job.every_seconds
                    try:
                        job.run()
                        self.counters.jobs[job.name] = "ok"
                    except Exception as exc:  # a standing job logs and tries again next time
                        self.counters.jobs[job.name] = (
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                        )
                        log.exception("periodic job failed", job=job.name)
            self._wake.wait(min(0.5, *(max(0.01, j.next_at - time.monotonic()) for j in jobs)))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"countersign-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._stop.clear()
