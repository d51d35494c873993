"""Command-line commands of the pipeline: ``worker``, ``events``, ``queue``.

Registered on the main ``countersign`` app by ``agent.cli``; they share its conventions (``--json``,
one line on stderr and exit 1 when refused).
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated, Any

import typer

from agent.cli_common import JsonFlag, emit, fail, guarded, service

events_app = typer.Typer(
    help="Business events from the ERP, and the agent runs they start.", no_args_is_help=True
)
queue_app = typer.Typer(help="The pipeline's queues: what waits, what failed.", no_args_is_help=True)

ROLE_HELP = "writer: applies approved writes and feeds ERP events; agent: results, event runs, standing jobs; all: both"


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command(
        "eval",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )(run_evals)
    app.command("reconcile")(reconcile)
    app.add_typer(events_app, name="events")
    app.add_typer(queue_app, name="queue")


def worker(
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)] = "all",
    once: Annotated[
        bool, typer.Option("--once", help="handle what is queued now (and scan the ERP once), then exit")
    ] = False,
    status_every: Annotated[float, typer.Option(help="seconds between progress lines", min=1)] = 10.0,
) -> None:
    """Run the pipeline's workers in this process until stopped (Ctrl-C or SIGTERM)."""
    from agent.pipeline.runner import ROLES
    from agent.settings import shown

    if role not in ROLES:
        fail(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    with service() as svc:
        pipeline = svc.pipeline
        assert pipeline is not None
        broker = shown(svc.settings.message_broker_url)
        if once:
            if role in ("writer", "all"):
                guarded(pipeline.publish_erp_events)
            guarded(lambda: pipeline.drain(events=role in ("agent", "all")))
            typer.echo(f"worker ({role}) on {broker}: {pipeline.counters.line()}")
            return
        stopping = threading.Event()

        def stop(*_: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        pipeline.start([role])
        rate = svc.settings.writer_max_writes_per_second
        pace = f"{rate:g} writes/s" if rate else "no write limit"
        typer.echo(
            f"worker ({role}) on {broker}: {pace}, {svc.settings.writer_concurrency} in flight (Ctrl-C stops)"
        )
        last = time.monotonic()
        while not stopping.wait(0.2):
            if time.monotonic() - last >= status_every:
                typer.echo(f"  {pipeline.counters.line()}")
                last = time.monotonic()
        typer.echo("stopping: finishing the messages in hand…")
        pipeline.stop()
        typer.echo(f"stopped. {pipeline.counters.line()}")


@events_app.command("emit")
def events_emit(
    kind: Annotated[
        str,
        typer.Argument(
            help="stock_below_reorder_point, sales_order_over_credit_limit or supplier_invoice_mismatch"
        ),
    ],
    subject: Annotated[str, typer.Argument(help="product code, sales order number or invoice number")],
    fact: Annotated[
        list[str] | None, typer.Option("--fact", help="a fact of the event: name=value (repeatable)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Emit one business event by hand, as the ERP would; the agent worker starts a run for it."""
    from datetime import UTC, datetime

    from erp_acl.events import manual_event

    facts: dict[str, str] = {}
    for pair in fact or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail(f"--fact {pair!r} must look like name=value")
        facts[name.strip()] = value.strip()
    with service() as svc:
        pipeline = svc.pipeline
        assert pipeline is not None
        event = guarded(lambda: manual_event(kind, subject, facts, datetime.now(UTC)))
        guarded(lambda: pipeline.emit(event))
        ran = svc.settings.workers == "embedded" and not pipeline.running
        if ran:
            guarded(lambda: pipeline.drain(events=True))
        runs = [r for r in svc.event_runs() if r.event_id == event.event_id]
        if as_json:
            emit({"event": event.model_dump(mode="json"), "run": runs[0].__dict__ if runs else None})
            return
        typer.echo(f"emitted {event.event_id}: {event.describe()}")
        if runs:
            typer.echo(_describe_run(runs[0]))
        elif not ran:
            typer.echo("queued for the agent worker (`countersign worker --role agent`).")


@events_app.command("scan")
def events_scan(as_json: JsonFlag = False) -> None:
    """Let the ERP look for new business events now and publish them."""
    with service() as svc:
        pipeline = svc.pipeline
        assert pipeline is not None
        published = guarded(pipeline.publish_erp_events)
        if svc.settings.workers == "embedded":
            guarded(lambda: pipeline.drain(events=True))
        if as_json:
            emit([e.model_dump(mode="json") for e in published])
            return
        typer.echo("\n".join(f"{e.event_id}  {e.describe()}" for e in published) or "No new events.")


@events_app.command("list")
def events_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, as_json: JsonFlag = False) -> None:
    """The latest events and what the agent did with each."""
    with service() as svc:
        runs = svc.event_runs(limit)
        if as_json:
            emit([r.__dict__ for r in runs])
            return
        typer.echo("\n".join(_describe_run(r) for r in runs) or "No events handled yet.")


def _describe_run(run: Any) -> str:
    where = f" in {run.thread_id}" if run.thread_id else ""
    detail = f" ({run.detail})" if run.detail else ""
    return f"{run.event_id}  {run.status:<11} for {run.owner}{where}{detail}\n  {run.summary}"


@queue_app.command("status")
def queue_status(as_json: JsonFlag = False) -> None:
    """Writes waiting in the outbox, messages in each queue, and dead letters with their reasons."""
    with service() as svc:
        status = guarded(svc.queue_status)
        if as_json:
            emit(status)
            return
        typer.echo(f"broker: {status['broker']}")
        outbox = status["outbox"]
        typer.echo(
            f"outbox: {outbox['pending']} waiting for a result ({outbox['unpublished']} not yet sent, "
            f"{outbox['failing']} failing to send), {outbox['completed']} done"
        )
        for queue, info in status["queues"].items():
            typer.echo(f"{queue}: {info['ready']} ready, {len(info['dead_letters'])} dead-lettered")
            for letter in info["dead_letters"]:
                typer.echo(
                    f"  ✗ {letter['message_id']}: {letter['error']} (after {letter['attempts']} attempts)"
                )


def reconcile(
    watch: Annotated[bool, typer.Option("--watch", help="keep running, one pass per interval")] = False,
    interval: Annotated[
        float | None, typer.Option(help="seconds between passes with --watch (default: the setting)", min=1)
    ] = None,
    show_resolved: Annotated[bool, typer.Option("--all", help="list resolved discrepancies too")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Compare intended writes with what the ERP holds; report and compensate every discrepancy."""
    with service() as svc:
        every = interval or svc.settings.reconcile_interval_seconds
        stopping = threading.Event()
        if watch:
            signal.signal(signal.SIGTERM, lambda *_: stopping.set())
            signal.signal(signal.SIGINT, lambda *_: stopping.set())

        def progress(text: str) -> None:
            if not as_json:
                typer.echo(f"  … {text}", err=True)

        while True:
            report = guarded(lambda: svc.reconcile(progress))
            found = svc.discrepancies(include_resolved=show_resolved)
            if as_json:
                emit(
                    {
                        "run": report.model_dump(mode="json"),
                        "discrepancies": [d.model_dump(mode="json") for d in found],
                    }
                )
            else:
                typer.echo(report.line())
                for item in found:
                    typer.echo(_describe_discrepancy(item))
            if not watch or stopping.wait(every):
                return


def _describe_discrepancy(item: Any) -> str:
    docs = f" [{item.document_type} {', '.join(item.document_ids)}]" if item.document_ids else ""
    lines = [
        f"{item.id}  {item.kind:<9} {item.status:<12} key {item.idempotency_key}{docs}",
        f"  {item.detail}",
    ]
    if item.compensation_id:
        lines.append(f"  compensation {item.compensation_id}: {item.compensation_note}")
    elif item.compensation_note:
        lines.append(f"  no compensation: {item.compensation_note}")
    return "\n".join(lines)


def run_evals(ctx: typer.Context) -> None:
    """Run the offline eval suite (`python -m evals`; `countersign eval --help` lists its options)."""
    import os
    import sys

    # The suite sits above the agent in the dependency rule, so the agent starts it as its own
    # program instead of importing it; the exit code and progress are the suite's own.
    os.execv(sys.executable, [sys.executable, "-m", "evals", *ctx.args])
