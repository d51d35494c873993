"""The ``countersign`` command line. Every command that reports takes ``--json``.

Exit codes: 0 ok; 1 refused or failed (one line on stderr saying why); 2 usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli_common import JsonFlag, T, UserOpt, emit, fail, guarded, service, settings_or_fail
from agent.cli_db import db_app
from agent.cli_erp import erp_app
from agent.cli_maintenance import maintenance_app
from agent.cli_pipeline import register as register_pipeline_commands
from agent.cli_users import users_app
from agent.settings import shown
from agent.users import demo_sign_ins, load_directory

if TYPE_CHECKING:
    # LangGraph and LangChain take over a second to import: commands load them only when needed.
    from agent.approvals import Proposal, ProposalStatus
    from agent.service import AgentService, ChatResult

app = typer.Typer(
    help="Countersign: an AI agent that proposes ERP writes; people approve; the ERP commits once.",
    no_args_is_help=True,
    add_completion=False,
)
approvals_app = typer.Typer(help="List and inspect proposals.", no_args_is_help=True)
tools_app = typer.Typer(help="The gateway's named tools.", no_args_is_help=True)
threads_app = typer.Typer(help="Your conversations with the agent.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The tamper-evident audit trail: verify, tell a story, export, prune.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
policy_app = typer.Typer(
    help="The approval policy in force, and maker-checker changes to it.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")
app.add_typer(approvals_app, name="approvals")
app.add_typer(threads_app, name="threads")
app.add_typer(tools_app, name="tools")
app.add_typer(users_app, name="users")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(erp_app, name="erp")
app.add_typer(db_app, name="db")


def _count(n: int, noun: str) -> str:
    """``_count(1, "record")`` → "1 record"; ``_count(9, "record")`` → "9 records"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def describe(proposal: Proposal, attention: str | None = None) -> str:
    from agent.policy import Gate

    lines = [
        f"{proposal.id}  {proposal.status:<10} {proposal.action}  requested by {proposal.requester}"
        f"  {proposal.created_at:%Y-%m-%d %H:%M} UTC",
        f"  {proposal.summary}",
    ]
    if proposal.gate:
        gate = Gate.from_json(proposal.gate)
        lines.append(f"  gate: {gate.requirement()}")
    if attention:
        lines.append(f"  ⚠ {attention}")
    for decision in proposal.approvals:
        extra = f": {decision.reason}" if decision.reason else ""
        edits = f" edits {decision.edits}" if decision.edits else ""
        lines.append(f"  {decision.decision} by {decision.actor}{edits}{extra}")
    if proposal.receipt:
        lines.append(
            f"  committed: {proposal.receipt['summary']} (document {proposal.receipt['document_id']})"
        )
    if proposal.error:
        lines.append(f"  failed: {proposal.error}")
    return "\n".join(lines)


# ---- seed ---------------------------------------------------------------------------------------


@app.command()
def seed(
    reset: Annotated[bool, typer.Option(help="wipe the bundled ERP first")] = False,
    scale: Annotated[int, typer.Option(min=1, max=100, help="multiply the amount of demo data")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="do nothing if the ERP already has data")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create and fill the bundled legacy ERP with deterministic demo data (not a Tryton ERP)."""
    from erp_acl.legacy.adapter import legacy_engine
    from erp_acl.legacy.seed import erp_has_data, seed_legacy_erp

    settings = settings_or_fail()
    if settings.erp_kind != "legacy":
        fail(
            f"COUNTERSIGN_ERP points at {settings.erp_shown}: `countersign seed` fills only the bundled "
            "legacy ERP; create a Tryton database with demo data with `countersign erp tryton-setup`"
        )
    engine = legacy_engine(settings.erp_database_url)
    try:
        if if_empty and not reset and erp_has_data(engine):
            if as_json:
                emit({"seeded": False, "reason": "already has data"})
            else:
                typer.echo(f"The ERP at {shown(settings.erp_database_url)} already has data; keeping it.")
            return

        live = sys.stderr.isatty()  # a log file or a pipe gets each table's final line only

        def progress(table: str, done: int, total: int) -> None:
            if not as_json and (live or done >= total):
                typer.echo(
                    f"{chr(13) if live else ''}  {table:<24} {done:>7}/{total:<7}", nl=done >= total, err=True
                )

        summary = guarded(lambda: seed_legacy_erp(engine, scale=scale, reset=reset, progress=progress))
    finally:
        engine.dispose()
    if as_json:
        emit({"seeded": True, "counts": summary.counts})
    else:
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in summary.counts.items())
        typer.echo(f"Seeded the legacy ERP at {shown(settings.erp_database_url)}: {counts}.")


# ---- the web app --------------------------------------------------------------------------------


@app.command("ui")
def web_app(
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to serve on")] = 8501,
    address: Annotated[
        str, typer.Option(help="address to bind; 0.0.0.0 serves other machines")
    ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="open a browser window")] = True,
    seed_if_empty: Annotated[
        bool,
        typer.Option(
            "--seed/--no-seed", help="seed the bundled legacy ERP first when it is empty (never a Tryton ERP)"
        ),
    ] = True,
) -> None:
    """Start the web app (chat, approvals inbox, audit, reconciliation, overview) at http://ADDRESS:PORT."""
    import os

    settings = settings_or_fail()
    if settings.erp_kind != "legacy":
        typer.echo(f"ERP: {settings.erp_shown} (nothing to seed)")
    elif seed_if_empty and settings.erp_url is None:
        seed(reset=False, scale=1, if_empty=True, as_json=False)
    typer.echo(f"Starting the Countersign web app on http://{address}:{port} (Ctrl-C stops)…")
    hints = []
    if settings.users_file is None:
        hints = ["Sign in as one of the demo users (user / password):", *demo_sign_ins(load_directory())]
    # The agent never imports the UI (the dependency rule); the app runs as its own module.
    command = [sys.executable, "-m", "ui", "--port", str(port), "--address", address]
    command += [f"--hint={hint}" for hint in hints]
    os.execv(sys.executable, [*command, *([] if open_browser else ["--no-open"])])


# ---- chat ---------------------------------------------------------------------------------------


def _print_chat(result: ChatResult) -> None:
    typer.echo(result.reply)
    for proposal in result.proposals:
        typer.echo(f"\n[proposal {proposal.id} · {proposal.status}] {proposal.summary}")
    typer.echo(f"\n(thread {result.thread_id})", err=True)


@app.command()
def chat(
    text: Annotated[
        str | None, typer.Argument(help="your request; omit it for an interactive session")
    ] = None,
    user: UserOpt = "alice",
    thread: Annotated[str | None, typer.Option("--thread", "-t", help="continue this conversation")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Talk to the agent: one request, or an interactive session when no text is given."""
    with service() as svc:
        guarded(lambda: svc.user(user))
        if text is not None:
            result = guarded(lambda: svc.chat(user, text, thread))
            emit(result.as_json()) if as_json else _print_chat(result)
            return
        if svc.settings.workers == "embedded" and svc.pipeline is not None:
            # The app runs its own writer, agent worker and standing jobs on the embedded defaults.
            svc.pipeline.start(["all"])
        _repl(svc, user, thread)


REPL_HELP = """Commands: /new (start a new conversation), /approvals (pending proposals),
/show ID (one proposal), /history, /help, /quit. Anything else is a message to the agent."""


def _repl(svc: AgentService, user: str, thread: str | None) -> None:
    who = svc.user(user)
    typer.echo(f"Countersign — chatting as {who.name} ({user}). {REPL_HELP}")
    agent = svc.agent
    writes = ", ".join(agent.write_actions()) or "nothing (read-only)"
    typer.echo(f"The agent acts as {agent.display_name} ({agent.id}); it may propose: {writes}.")
    typer.echo('Try: "how many hex bolts M8 do we have?" or "order 400 hex bolts M8 from Fastenal"')
    known: dict[str, str] = {p.id: p.status for p in svc.proposals(requester=user)}
    while True:
        for news in _changed_proposals(svc, user, known):
            typer.secho(news, bold=True)
        try:
            line = input(f"{user}> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line == "/help":
            typer.echo(REPL_HELP)
        elif line == "/new":
            thread = None
            typer.echo("(new conversation)")
        elif line == "/approvals":
            pending = svc.proposals(status="pending")
            typer.echo("\n".join(describe(p) for p in pending) or "No pending proposals.")
        elif line.startswith("/show "):
            shown = _repl_step(svc.proposal, line.split(maxsplit=1)[1])
            if shown is not None:
                typer.echo(describe(shown))
        elif line == "/history":
            for message in svc.messages(thread) if thread else []:
                typer.echo(f"[{message.type}] {message.content}")
        else:
            result = _repl_step(_stream_turn, svc, user, line, thread)
            if result is not None:
                thread = result.thread_id
                if result.proposals:
                    # The conversation now waits for an approver; the next message starts a fresh one.
                    typer.echo("(waiting for approval; your next message starts a new conversation)")
                    thread = None


def _stream_turn(svc: AgentService, user: str, text: str, thread: str | None) -> ChatResult:
    """Show the agent's steps and its reply as they stream in."""
    result: ChatResult | None = None
    streamed = mid_line = False
    for event in svc.chat_stream(user, text, thread):
        if event.kind in ("tool_call", "tool_result") and mid_line:
            typer.echo("")
            mid_line = False
        if event.kind == "tool_call":
            typer.secho(f"  → {event.tool}({json.dumps(event.args, ensure_ascii=False)})", dim=True)
        elif event.kind == "tool_result" and not event.ok:
            typer.secho(f"  ✗ {event.text}", dim=True)
        elif event.kind == "text":
            typer.echo(event.text, nl=False)
            streamed = mid_line = True
        elif event.kind == "done":
            result = event.result
    assert result is not None
    if mid_line:
        typer.echo("")
    if result.proposals or not streamed:
        _print_chat(result)
    return result


def _changed_proposals(svc: AgentService, user: str, known: dict[str, str]) -> list[str]:
    """What happened to this user's proposals since the last prompt (approvals, commits, refusals
    happen elsewhere: in the inbox, in the writer)."""
    news = []
    for proposal in svc.proposals(requester=user):
        before = known.get(proposal.id)
        known[proposal.id] = proposal.status
        if before is None or before == proposal.status:
            continue
        if proposal.status == "committed" and proposal.receipt:
            news.append(f"(proposal {proposal.id} committed: {proposal.receipt['summary']})")
        elif proposal.status in ("rejected", "expired", "failed"):
            why = proposal.error or (proposal.approvals[-1].reason if proposal.approvals else None) or ""
            news.append(f"(proposal {proposal.id} {proposal.status}{': ' + why if why else ''})")
    return news


def _repl_step(action: Callable[..., T], *args: Any) -> T | None:
    from agent.service import USER_ERRORS

    try:
        return action(*args)
    except USER_ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        return None


# ---- approvals ----------------------------------------------------------------------------------


@approvals_app.command("list")
def approvals_list(
    status: Annotated[
        str | None, typer.Option(help="pending, approved, rejected, committed, failed…")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="only what this approver may decide")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List proposals (all statuses by default, newest first)."""
    allowed = ("pending", "approved", "rejected", "expired", "committing", "committed", "failed")
    if status is not None and status not in allowed:
        typer.echo(f"error: unknown status {status!r}; one of {', '.join(allowed)}", err=True)
        raise typer.Exit(2)
    with service() as svc:
        found: list[Proposal] = guarded(
            lambda: svc.pending_approvals(user) if user is not None else svc.proposals(status=_status(status))
        )
        if as_json:
            emit([{**p.as_json(), "attention": svc.attention(p)} for p in found])
            return
        typer.echo("\n".join(describe(p, svc.attention(p)) for p in found) or "No proposals.")
        if user is not None:
            escalated = [p for p in svc.escalations(user) if p not in found]
            if escalated:
                typer.echo(f"\nEscalated to you ({len(escalated)} overdue):")
                typer.echo("\n".join(describe(p, svc.attention(p)) for p in escalated))


@approvals_app.command("expire")
def approvals_expire(as_json: JsonFlag = False) -> None:
    """Expire proposals pending past their policy's limit; each requester is told. Safe to repeat."""
    with service() as svc:
        expired = guarded(svc.expire_overdue)
        if as_json:
            emit([p.as_json() for p in expired])
        else:
            typer.echo("\n".join(describe(p) for p in expired) or "Nothing to expire.")


def _status(value: str | None) -> ProposalStatus | None:
    return value  # type: ignore[return-value]  # checked against the allowed list above


@approvals_app.command("show")
def approvals_show(proposal_id: str, as_json: JsonFlag = False) -> None:
    """Show one proposal: payload, key, fingerprint, decisions, receipt."""
    with service() as svc:
        proposal = guarded(lambda: svc.proposal(proposal_id))
        if as_json:
            emit(proposal.as_json())
        else:
            typer.echo(describe(proposal))
            typer.echo(f"  payload: {json.dumps(proposal.payload, ensure_ascii=False)}")
            typer.echo(f"  idempotency key: {proposal.idempotency_key}")
            typer.echo(f"  fingerprint: {proposal.fingerprint}")


@app.command()
def approve(
    proposal_id: str,
    user: UserOpt,
    edit: Annotated[
        list[str] | None,
        typer.Option("--edit", help="change a field before approving: field=value (repeatable)"),
    ] = None,
    as_json: JsonFlag = False,
    wait: Annotated[
        float,
        typer.Option(
            help="seconds to wait for the ERP's answer when separate workers write (0: do not wait)"
        ),
    ] = 30.0,
) -> None:
    """Approve a pending proposal (optionally with edits); the write then commits exactly once."""
    from agent.edits import parse_edit_pairs

    with service() as svc:
        if edit:
            edits = guarded(lambda: parse_edit_pairs(edit))
            proposal = guarded(lambda: svc.decide(proposal_id, user, "edit", edits=edits))
        else:
            proposal = guarded(lambda: svc.decide(proposal_id, user, "approve"))
        if proposal.status == "approved" and svc.waits_for_queue(proposal.id):
            # Recorded and committed with its outbox row: only the hand-over to the queue waits.
            emit(proposal.as_json()) if as_json else typer.echo(describe(proposal))
            typer.echo("approved; the write is queued and lands when the queue is reachable", err=as_json)
            return
        proposal = svc.wait_for_outcome(proposal.id, wait)
        emit(proposal.as_json()) if as_json else typer.echo(describe(proposal))
        if proposal.status == "failed":
            raise typer.Exit(1)


@app.command()
def reject(
    proposal_id: str,
    user: UserOpt,
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (the requester will see it)")],
    as_json: JsonFlag = False,
) -> None:
    """Reject a pending proposal with a reason; nothing is written."""
    with service() as svc:
        proposal = guarded(lambda: svc.decide(proposal_id, user, "reject", reason=reason))
        emit(proposal.as_json()) if as_json else typer.echo(describe(proposal))


@app.command()
def recover(as_json: JsonFlag = False) -> None:
    """Finish approved proposals whose commit was interrupted (crash, ERP outage). Safe to repeat."""
    with service() as svc:
        finished = guarded(svc.recover)
        if as_json:
            emit([p.as_json() for p in finished])
        else:
            typer.echo("\n".join(describe(p) for p in finished) or "Nothing to recover.")


# ---- identity and policy ----------------------------------------------------------------------


@app.command()
def grants(as_json: JsonFlag = False) -> None:
    """What the agent (and the MCP gateway) may do: its identity, scopes and tools."""
    with service() as svc:
        if as_json:
            emit(
                [
                    {
                        "key": key,
                        "id": identity.id,
                        "display_name": identity.display_name,
                        "grants": sorted(identity.grants),
                        "tools": identity.granted_tools(),
                        "writes": identity.write_actions(),
                        "read_only": identity.is_read_only,
                    }
                    for key, identity in svc.identities.items()
                ]
            )
            return
        for key, identity in svc.identities.items():
            typer.echo(f"{identity.display_name} ({identity.id}, identity '{key}')")
            typer.echo(f"  scopes: {', '.join(sorted(identity.grants))}")
            typer.echo(f"  may propose: {', '.join(identity.write_actions()) or 'none: read-only'}")


@policy_app.command("show")
def policy_show(as_json: JsonFlag = False) -> None:
    """The policy in force: the file plus approved changes, with its version."""
    from agent.policy import describe as describe_policy

    with service() as svc:
        policy = svc.policy()
        if as_json:
            emit(
                {
                    "version": policy.version,
                    "actions": {
                        name: {
                            "mode": s.mode,
                            "approvals": s.approvals,
                            "requester_roles": list(s.requester_roles),
                            "approver_roles": list(s.approver_roles),
                            "expiry_hours": s.expiry.total_seconds() / 3600,
                            "thresholds": [
                                {
                                    "rule": th.rule,
                                    "above": str(th.above),
                                    "approvals": th.approvals,
                                    "required_role": th.required_role,
                                }
                                for th in s.thresholds
                            ],
                        }
                        for name, s in policy.actions.items()
                    },
                }
            )
        else:
            typer.echo(describe_policy(policy))


@policy_app.command("check")
def policy_check(path: Annotated[str, typer.Argument(help="a policy file (TOML) to validate")]) -> None:
    """Validate a policy file without installing it."""
    from pathlib import Path

    from agent.policy import PolicyError, load_policy
    from agent.users import ROLES

    file = Path(path)
    if not file.is_file():
        fail(f"{path}: no such file")
    try:
        policy = load_policy(file, known_roles=frozenset(ROLES))
    except PolicyError as exc:
        fail(str(exc))
    except Exception as exc:  # TOML syntax errors and the like
        fail(f"{path}: {exc}")
    typer.echo(f"{path}: valid policy version {policy.version} covering {len(policy.actions)} actions")


@policy_app.command("suggest")
def policy_suggest(as_json: JsonFlag = False) -> None:
    """Which actions have earned automatic approval by evidence, with the figures."""
    with service() as svc:
        suggestions = svc.suggestions()
        if as_json:
            emit([s.as_json() for s in suggestions])
            return
        for s in suggestions:
            mark = "eligible" if s.eligible else "not yet"
            typer.echo(f"{s.action:<24} {s.mode:<6} {mark:<9} {s.reason}")


@policy_app.command("change")
def policy_change(
    action: Annotated[str, typer.Argument(help="e.g. change_price")],
    mode: Annotated[str, typer.Option(help="auto or human")],
    user: UserOpt,
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (the checker will see it)")],
    as_json: JsonFlag = False,
) -> None:
    """Propose moving an action to automatic (or back); a second person must approve it."""
    if mode not in ("auto", "human"):
        typer.echo(f"error: --mode must be auto or human, not {mode!r}", err=True)
        raise typer.Exit(2)
    with service() as svc:
        change = guarded(lambda: svc.propose_policy_change(user, action, mode, reason))  # type: ignore[arg-type]
        emit(change.model_dump(mode="json")) if as_json else typer.echo(_change_line(change))


@policy_app.command("approve-change")
def policy_approve_change(change_id: str, user: UserOpt, as_json: JsonFlag = False) -> None:
    """Approve a pending policy change (maker-checker: not its maker; a finance director)."""
    with service() as svc:
        change = guarded(lambda: svc.decide_policy_change(change_id, user, approve=True))
        emit(change.model_dump(mode="json")) if as_json else typer.echo(_change_line(change))
        if not as_json:
            typer.echo(f"Policy in force: {svc.policy().version}")


@policy_app.command("reject-change")
def policy_reject_change(
    change_id: str,
    user: UserOpt,
    reason: Annotated[str, typer.Option("--reason", "-r")],
    as_json: JsonFlag = False,
) -> None:
    """Reject a pending policy change with a reason."""
    with service() as svc:
        change = guarded(lambda: svc.decide_policy_change(change_id, user, approve=False, reason=reason))
        emit(change.model_dump(mode="json")) if as_json else typer.echo(_change_line(change))


@policy_app.command("changes")
def policy_changes(as_json: JsonFlag = False) -> None:
    """Every policy change, newest first."""
    with service() as svc:
        changes = svc.policies.list()
        if as_json:
            emit([c.model_dump(mode="json") for c in changes])
        else:
            typer.echo("\n".join(_change_line(c) for c in changes) or "No policy changes.")


def _change_line(change: Any) -> str:
    checked = f", {change.status} by {change.checker}" if change.checker else ""
    return (
        f"{change.id}  {change.status:<8} {change.action} -> {change.mode}  made by {change.maker}{checked}"
        f"  ({change.reason})"
    )


# ---- audit --------------------------------------------------------------------------------------


def _report(report: Any, as_json: bool) -> None:
    if as_json:
        emit(report.model_dump(mode="json"))
    elif report.ok:
        warnings = "".join(f"\n  warning: {w}" for w in report.warnings)
        proves = f"\n  proves: {report.proves.sentence()}" if report.proves is not None else ""
        typer.echo(
            f"audit trail verified: {_count(report.records_checked, 'record')}, "
            f"{_count(report.checkpoints_checked, 'signed checkpoint')}{proves}{warnings}"
        )
    if not report.ok:
        where = f"first bad record {report.first_bad_seq}: " if report.first_bad_seq is not None else ""
        fail(f"audit trail NOT verified: {where}{report.problem}")


@audit_app.command("verify")
def audit_verify(
    against_erp: Annotated[
        bool,
        typer.Option("--against-erp", help="also check every write in the ERP ledger has its commit record"),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Recompute the hash chain and check every signed checkpoint; exit 1 naming the first bad record."""
    with service() as svc:
        _report(guarded(lambda: svc.verify_audit(against_erp=against_erp)), as_json)


@audit_app.command("show")
def audit_show(
    proposal: Annotated[str, typer.Option("--proposal", "-p", help="the proposal whose story to tell")],
    as_json: JsonFlag = False,
) -> None:
    """The whole story of one action: evidence read, proposal, decisions, token refusals, commit, receipt."""
    with service() as svc:
        records = guarded(lambda: svc.story(proposal))
        if as_json:
            emit([r.model_dump(mode="json") for r in records])
            return
        for record in records:
            typer.echo(_story_line(record))


def _story_line(record: Any) -> str:
    who = record.actor + (
        f" for {record.on_behalf_of}" if record.on_behalf_of and record.on_behalf_of != record.actor else ""
    )
    head = f"#{record.seq:<6} {record.ts:%Y-%m-%d %H:%M:%S} UTC  {record.type:<14} {who}"
    details, gate, result = record.details, record.gate or {}, record.result or {}
    if record.type == "read":
        body = (
            f"read {record.tool} (evidence {record.evidence[0][:12]}…)"
            if record.evidence
            else f"read {record.tool}"
        )
    elif record.type == "proposal":
        body = (
            f"asked: {details.get('request')!r}\n         proposed {details.get('summary')} — gate {gate.get('rule')}"
            f" (policy {gate.get('policy_version')}), key {record.idempotency_key}"
        )
    elif record.type in ("decision", "expiry"):
        reason = f": {details['reason']}" if details.get("reason") else ""
        body = f"{details.get('decision')} under rule {gate.get('rule')} (policy {gate.get('policy_version')}); approvers so far {gate.get('approvers')}{reason}"
        if details.get("edits"):
            changed = ", ".join(f"{k}={v}" for k, v in details["edits"].items())
            # The proposal as it stood after the edit, so the story never ends on the first figures.
            body += f"\n         changed {changed}; now: {details.get('summary')}"
    elif record.type == "commit":
        replay = " (replayed from the ledger)" if result.get("replayed") else ""
        body = (
            f"committed {result.get('document_type')} {result.get('document_id')} under key {record.idempotency_key}"
            f"{replay}; token {details.get('token_jti', '-')} for {details.get('token_audience', '-')}"
        )
    elif record.type == "commit_failed":
        body = f"commit refused by the ERP: {details.get('error')}"
    else:
        body = f"{record.tool or ''} {details.get('reason', '')}".strip()
    return f"{head}\n         {body}"


@audit_app.command("export")
def audit_export(
    since: Annotated[str | None, typer.Option(help="ISO date or time (UTC), inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date or time (UTC), exclusive")] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
    export_format: Annotated[str, typer.Option("--format", help="jsonl (the only format)")] = "jsonl",
) -> None:
    """Export records with the signed checkpoints that verify them, for an auditor."""
    if export_format != "jsonl":
        typer.echo(f"error: unknown format {export_format!r}; use jsonl", err=True)
        raise typer.Exit(2)
    start, end = _moment(since, "--since"), _moment(until, "--until")
    with service() as svc:
        lines = guarded(lambda: list(svc.audit.export(since=start, until=end)))
    if output is None:
        for line in lines:
            typer.echo(line)
        return
    from pathlib import Path

    Path(output).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    typer.echo(f"wrote {len(lines)} lines to {output}", err=True)


@audit_app.command("verify-export")
def audit_verify_export(
    path: Annotated[str, typer.Argument(help="an export written by `audit export`")],
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="PEM file of the signing key you trust")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Verify an export on its own, as an auditor would (no database needed)."""
    from pathlib import Path

    from tools.audit import verify_export

    file = Path(path)
    if not file.is_file():
        fail(f"{path}: no such file")
    trusted = Path(public_key).read_text(encoding="utf-8") if public_key else None
    with file.open(encoding="utf-8") as lines:
        report = guarded(lambda: verify_export(lines, trusted))
    _report(report, as_json)


@audit_app.command("public-key")
def audit_public_key() -> None:
    """The PEM public key that verifies this installation's audit checkpoints (give it to auditors)."""
    from agent.audit_keys import load_signer

    settings = settings_or_fail()
    typer.echo(guarded(lambda: load_signer(settings)).public_key_pem().strip())


@audit_app.command("rotate-key")
def audit_rotate_key(
    by: Annotated[
        str | None, typer.Option("--by", help="who rotates (recorded); default: your login")
    ] = None,
    previous_public_key: Annotated[
        str | None,
        typer.Option(
            "--previous-public-key", help="PEM file of a missing key's public half, if you kept one"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a new audit signing key as a recorded event (stop every Countersign process first).

    Replaces a key that is missing, too: the trail's records before the rotation then rest on the
    new key's checkpoint, and `audit verify` says so."""
    import getpass
    from pathlib import Path

    from agent.audit_keys import rotate_audit_key

    settings = settings_or_fail()
    previous = Path(previous_public_key).read_text(encoding="utf-8") if previous_public_key else None
    actor = by or getpass.getuser()
    rotated = guarded(lambda: rotate_audit_key(settings, actor=actor, previous_public_key_pem=previous))
    if as_json:
        emit(
            {
                "key_id": rotated.key_id,
                "previous_key_id": rotated.previous_key_id,
                "record_seq": rotated.record_seq,
                "key_file": str(rotated.key_file),
            }
        )
        return
    typer.echo(
        f"new audit signing key {rotated.key_id} in {rotated.key_file} (was {rotated.previous_key_id or 'missing'}),"
        f" recorded at record {rotated.record_seq}; give auditors its public key: countersign audit public-key"
    )


@audit_app.command("prune")
def audit_prune(as_json: JsonFlag = False) -> None:
    """Remove records older than the retention period (never below 183 days); the rest stays verifiable."""
    from datetime import UTC, datetime, timedelta

    with service() as svc:
        days = svc.settings.audit_retention_days
        cutoff = datetime.now(UTC) - timedelta(days=days)
        report = guarded(lambda: svc.audit.prune(cutoff, retention_days=days))
        if as_json:
            emit(report.model_dump(mode="json"))
        else:
            typer.echo(
                f"removed {report.removed} records older than {cutoff:%Y-%m-%d} (retention {days} days)"
            )


def _moment(value: str | None, option: str) -> Any:
    from datetime import UTC, datetime

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {option} {value!r} is not an ISO date or time (e.g. 2026-11-01)", err=True)
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---- conversations ------------------------------------------------------------------------------


@threads_app.command("list")
def threads_list(user: UserOpt, as_json: JsonFlag = False) -> None:
    """Your conversations, most recent first."""
    with service() as svc:
        found = guarded(lambda: svc.conversations_of(user))
        if as_json:
            emit([c.model_dump(mode="json") for c in found])
        else:
            lines = [f"{c.thread_id}  {c.updated_at:%Y-%m-%d %H:%M}  {c.title}" for c in found]
            typer.echo("\n".join(lines) or "No conversations yet.")


@threads_app.command("show")
def threads_show(thread_id: str, user: UserOpt, as_json: JsonFlag = False) -> None:
    """One conversation as the agent sees it: your messages, its tool steps and replies."""
    with service() as svc:
        messages = guarded(lambda: svc.transcript(thread_id, user))
        if as_json:
            emit({"thread_id": thread_id, "messages": messages})
            return
        for message in messages:
            if message["role"] == "tool":
                typer.secho(f"  ← {message['name'] or 'tool'}: {message['content'][:160]}", dim=True)
            elif message.get("tool_calls"):
                for call in message["tool_calls"]:
                    typer.secho(
                        f"  → {call['name']}({json.dumps(call['args'], ensure_ascii=False)})", dim=True
                    )
            if message["role"] in ("user", "assistant") and message["content"]:
                typer.echo(f"{message['role']}: {message['content']}")


# ---- tools --------------------------------------------------------------------------------------


@tools_app.command("list")
def tools_list(as_json: JsonFlag = False) -> None:
    """The named tools the agent may call."""
    from tools.gateway import Gateway

    specs = Gateway.specs()
    if as_json:
        emit([s.as_json() for s in specs])
        return
    for spec in specs:
        typer.echo(f"{spec.name:<34} {spec.kind:<8} {spec.description}")


@tools_app.command("call")
def tools_call(
    name: str,
    user: UserOpt,
    args: Annotated[
        str, typer.Option("--args", help='arguments as a JSON object, e.g. {"query": "bolt"}')
    ] = "{}",
    as_json: JsonFlag = False,
) -> None:
    """Call one tool through the gateway exactly as the agent would (propose_* files a proposal)."""
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        typer.echo(f"error: --args is not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    except RecursionError:  # no tool takes arguments nested deeper than a few levels
        typer.echo("error: --args is nested too deeply; pass a flat JSON object", err=True)
        raise typer.Exit(2) from None
    if not isinstance(parsed, dict):
        typer.echo("error: --args must be a JSON object", err=True)
        raise typer.Exit(2)
    with service() as svc:
        from agent.approvals import Proposal

        result = guarded(lambda: svc.call_tool(name, parsed, user))
        data = result.as_json() if isinstance(result, Proposal) else result
        if as_json:
            emit({"tool": name, "result": data})
        elif isinstance(result, Proposal):
            typer.echo(describe(result))
        else:
            emit(data)


@app.command("mcp")
def mcp_serve(
    user: Annotated[
        str,
        typer.Option(
            "--user", "-u", help="the configured person the MCP client acts for (proposals are theirs)"
        ),
    ],
    transport: Annotated[str, typer.Option(help="stdio, or http (streamable HTTP at /mcp)")] = "stdio",
    host: Annotated[str, typer.Option(help="address to listen on (http only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on (http only)")] = 8765,
) -> None:
    """Serve the gateway's tools over MCP under the MCP identity: reads answer, propose_* only files
    pending proposals for the inbox, nothing commits."""
    import ipaddress

    from agent.mcp_server import serve_http, serve_stdio

    if transport not in ("stdio", "http"):
        typer.echo(f"error: unknown transport {transport!r}; one of stdio, http", err=True)
        raise typer.Exit(2)
    with service() as svc:
        guarded(lambda: svc.user(user))
        if transport == "stdio":
            # stdout is the protocol channel: everything for people goes to stderr.
            guarded(lambda: serve_stdio(svc, user))
            return
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            typer.echo(
                f"warning: {host} is not a loopback address and MCP over HTTP has no authentication; "
                f"anyone who reaches it files proposals as {user}",
                err=True,
            )
        typer.echo(f"Countersign MCP server for {user} at http://{host}:{port}/mcp (Ctrl-C stops)", err=True)
        guarded(lambda: serve_http(svc, user, host, port))


register_pipeline_commands(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
