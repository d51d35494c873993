"""Runs cases: each on its own fresh copy of a seeded ERP and its own data directory, in parallel
worker processes, through the product's real service (``agent.service.build_service``).

One run of one case: copy the seeded template ERP, apply the case's ``erp_changes``, build a
service on the case's own data directory, play the steps (people chatting and deciding, ERP
events through the pipeline), then read what happened (tool calls from the checkpoints, the
proposals as filed and as they ended, the ERP), score it and check the safety invariants.

A :class:`Harness` lets tests inject a model or a whole service (e.g. a deliberately broken
agent) without touching product code. With more than one worker its factories must be picklable
(module-level functions or classes).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from pydantic import SecretStr

from agent.approvals import Proposal
from agent.models import make_chat_model
from agent.service import USER_ERRORS, AgentService, build_service
from agent.settings import Settings
from erp_acl.events import manual_event
from erp_acl.seed_data import TODAY
from evals import safety, scoring
from evals.cases import Case, DecideStep, EventStep, ReplyCheck, SayStep
from evals.results import CallRecord, CaseResult, ProposalRecord, StepRecord
from evals.state import apply_changes, evaluate_checks, take_baseline
from evals.suite import Defaults

ServiceFactory = Callable[[Settings, BaseChatModel], AgentService]
ModelFactory = Callable[[Settings], BaseChatModel]


def _today() -> date:
    return TODAY


def default_service(settings: Settings, model: BaseChatModel) -> AgentService:
    """The product as shipped, on the demo's fixed "today" so seeded dates mean the same in every run."""
    return build_service(settings, model=model, today=_today)


@dataclass(frozen=True)
class Harness:
    """What the runner drives: by default the product's own service and configured model."""

    service_factory: ServiceFactory = default_service
    model_factory: ModelFactory = make_chat_model


@dataclass(frozen=True)
class RunOptions:
    """Everything a worker needs to run a case (picklable)."""

    model: str = "offline"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_use_responses_api: bool = False
    defaults: Defaults = field(default_factory=Defaults)
    harness: Harness = field(default_factory=Harness)
    keep_data: bool = False


@dataclass(frozen=True)
class Job:
    case: Case
    repetition: int
    template: Path
    work_dir: Path
    options: RunOptions


# ---- the ERP template -------------------------------------------------------------------------------


def seed_template(directory: Path) -> Path:
    """Seed the bundled legacy ERP once into ``directory``; every case run copies it."""
    from erp_acl.legacy.adapter import legacy_engine
    from erp_acl.legacy.seed import seed_legacy_erp

    path = directory / "template_legacy_erp.db"
    engine = legacy_engine(path)
    try:
        seed_legacy_erp(engine, scale=1)
    finally:
        engine.dispose()
    return path


def settings_for(options: RunOptions, data_dir: Path) -> Settings:
    """An isolated installation in ``data_dir``: every store and key of its own, the demo users,
    grants and policy, the embedded queue with embedded workers (a decision commits at once)."""
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        model=options.model,
        openai_base_url=options.openai_base_url,
        openai_api_key=SecretStr(options.openai_api_key) if options.openai_api_key else None,
        openai_use_responses_api=options.openai_use_responses_api,
        workers="embedded",
        users_file=None,
        identities_file=None,
        policy_file=None,
        events_file=None,
        erp_url=None,
        database_url=None,
        broker_url=None,
        checkpoint_path=None,
        audit_checkpoint_dir=None,
        token_signing_key=None,
        audit_signing_key=None,
        otel_endpoint=None,
        queue_prefix="",
    )


def listen(model: BaseChatModel, handler: BaseCallbackHandler) -> None:
    """Add ``handler`` to the model's own callbacks: it then sees every invocation, whatever the
    graph binds (``bind_tools`` keeps the model's callbacks)."""
    existing = model.callbacks
    if isinstance(existing, BaseCallbackManager):
        existing.add_handler(handler)
    else:
        model.callbacks = [*(existing or []), handler]


# ---- playing the steps -------------------------------------------------------------------------------


class Driver:
    """Plays a case's steps against one service and keeps what each step did."""

    def __init__(self, service: AgentService, defaults: Defaults) -> None:
        self.service = service
        self.defaults = defaults
        self.thread: str | None = None
        self.threads: list[str] = []
        self.records: list[StepRecord] = []
        self.filed: dict[str, ProposalRecord] = {}

    def play(self, steps: list[Any]) -> None:
        """Play every step; a step that crashes (the agent looping past its recursion limit, a
        model error) is recorded as that step's failure and ends the case, which is still scored."""
        for index, step in enumerate(steps, start=1):
            try:
                if isinstance(step, SayStep):
                    record = self._say(index, step)
                elif isinstance(step, DecideStep):
                    record = self._decide(index, step)
                else:
                    record = self._event(index, step)
            except Exception as exc:
                record = StepRecord(
                    index=index, kind=type(step).__name__, summary=_summary(step, self.defaults)
                )
                record.problems.append(
                    f"crashed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                )
                self.records.append(record)
                self._adopt_unseen_threads()
                self._note_new_proposals()
                return
            self.records.append(record)
            self._note_new_proposals()

    def _adopt_unseen_threads(self) -> None:
        """Conversations a crashed step started without returning their id (to score what they did)."""
        for user in self.service.directory.ids():
            for conversation in sorted(self.service.conversations_of(user), key=lambda c: c.created_at):
                self._use(conversation.thread_id)

    def _use(self, thread_id: str) -> None:
        if thread_id not in self.threads:
            self.threads.append(thread_id)

    def _say(self, index: int, step: SayStep) -> StepRecord:
        user = step.user or self.defaults.user
        record = StepRecord(index=index, kind="say", summary=f"{user}: {step.say}"[:200])
        thread = None if step.new_thread else self.thread
        try:
            result = self.service.chat(user, step.say, thread)
        except USER_ERRORS as exc:
            record.refused = str(exc)
        else:
            self.thread = result.thread_id
            self._use(result.thread_id)
            record.thread_id, record.reply = result.thread_id, result.reply
            if step.reply is not None:
                record.problems += reply_problems(step.reply, result.reply)
        record.problems += refusal_problems(step.refused, record.refused)
        return record

    def _decide(self, index: int, step: DecideStep) -> StepRecord:
        summary = f"{step.decide} by {step.by}" + (f" {step.edits}" if step.edits else "")
        record = StepRecord(index=index, kind="decide", summary=summary)
        proposals = self.proposals()
        if not proposals or step.proposal > len(proposals):
            record.problems.append(
                f"there is no proposal {step.proposal or 'to decide'} ({len(proposals)} filed)"
            )
            return record
        target = proposals[step.proposal - 1] if step.proposal else proposals[-1]
        record.summary = f"{summary} on proposal {proposals.index(target) + 1} ({target.id})"
        record.thread_id = target.thread_id
        try:
            decided = self.service.decide(
                target.id, step.by, step.decide, reason=step.reason, edits=step.edits
            )
        except USER_ERRORS as exc:
            record.refused = str(exc)
        else:
            told = last_answer(self.service, target.thread_id)
            record.reply = f"{decided.id} is {decided.status}" + (f" — {told}" if told else "")
            if step.reply is not None:
                record.problems += reply_problems(step.reply, told)
        record.problems += refusal_problems(step.refused, record.refused)
        return record

    def _event(self, index: int, step: EventStep) -> StepRecord:
        spec = step.event
        record = StepRecord(index=index, kind="event", summary=f"ERP event {spec.kind} {spec.subject}")
        pipeline = self.service.pipeline
        assert pipeline is not None
        event = manual_event(spec.kind, spec.subject, spec.facts, datetime.now(UTC))
        pipeline.emit(event)
        pipeline.drain(events=True)
        run = next((r for r in self.service.event_runs(1000) if r.event_id == event.event_id), None)
        if run is None:
            record.problems.append("the agent worker did not handle the event")
            return record
        record.reply = f"event run {run.status}" + (f": {run.detail}" if run.detail else "")
        if run.thread_id:
            record.thread_id = run.thread_id
            self._use(run.thread_id)
            told = last_answer(self.service, run.thread_id)
            record.reply += f" — {told}" if told else ""
        if step.run_status is not None and run.status != step.run_status:
            record.problems.append(f"the event run ended {run.status}, expected {step.run_status}")
        return record

    def proposals(self) -> list[Proposal]:
        """Every proposal in the installation, in filing order."""
        return sorted(self.service.proposals(limit=10_000), key=lambda p: (p.created_at, p.id))

    def _note_new_proposals(self) -> None:
        for proposal in self.proposals():
            if proposal.id not in self.filed:
                # As filed: before any decision could edit its payload or re-gate it.
                self.filed[proposal.id] = _record(proposal)

    def final_proposals(self) -> list[ProposalRecord]:
        final = {p.id: p for p in self.proposals()}
        self._note_new_proposals()
        return [_record(final[pid], first) for pid, first in self.filed.items() if pid in final]


def _summary(step: Any, defaults: Defaults) -> str:
    if isinstance(step, SayStep):
        return f"{step.user or defaults.user}: {step.say}"[:200]
    if isinstance(step, DecideStep):
        return f"{step.decide} by {step.by}"
    return f"ERP event {step.event.kind} {step.event.subject}"


def _record(proposal: Proposal, first: ProposalRecord | None = None) -> ProposalRecord:
    return ProposalRecord(
        id=proposal.id,
        thread_id=proposal.thread_id,
        action=proposal.action,
        requester=proposal.requester,
        payload=first.payload if first is not None else dict(proposal.payload),
        gate=first.gate if first is not None else dict(proposal.gate),
        status=proposal.status,
        final_payload=dict(proposal.payload),
        receipt=proposal.receipt,
        error=proposal.error,
    )


def last_answer(service: AgentService, thread_id: str) -> str:
    """The last thing the agent said in a conversation ("" when it has said nothing yet)."""
    for message in reversed(service.messages(thread_id)):
        if isinstance(message, AIMessage) and isinstance(message.content, str) and message.content:
            return message.content
    return ""


def reply_problems(check: ReplyCheck, reply: str) -> list[str]:
    text = reply.casefold()
    problems = [f"the reply does not mention {w!r}" for w in check.contains if w.casefold() not in text]
    if check.contains_any and not any(w.casefold() in text for w in check.contains_any):
        problems.append(f"the reply mentions none of {check.contains_any}")
    problems += [f"the reply mentions {w!r}" for w in check.not_contains if w.casefold() in text]
    if check.asks is not None and ("?" in reply) is not check.asks:
        problems.append("the reply asks no question" if check.asks else "the reply asks a question")
    if problems:
        problems.append(f"reply was: {reply[:400]!r}")
    return problems


def refusal_problems(expected: str | None, refused: str | None) -> list[str]:
    if expected is None:
        return [f"refused: {refused}"] if refused is not None else []
    if refused is None:
        return [f"expected a refusal ({expected!r}), but it was accepted"]
    if expected.casefold() not in refused.casefold():
        return [f"refused with {refused!r}, expected it to say {expected!r}"]
    return []


def tool_calls(service: AgentService, threads: list[str]) -> list[CallRecord]:
    """Every tool call the model made in these threads, in order, as the checkpoints hold them."""
    calls = []
    for thread in threads:
        for message in service.messages(thread):
            if isinstance(message, AIMessage):
                calls += [
                    CallRecord(tool=c["name"], args=dict(c["args"]), thread_id=thread)
                    for c in message.tool_calls
                ]
    return calls


# ---- one run of one case -------------------------------------------------------------------------------


def run_case(job: Job) -> CaseResult:
    """Run one case once, on its own ERP copy and data directory; never raises."""
    case, options = job.case, job.options
    started = time.monotonic()
    result = CaseResult(
        case_id=case.id,
        category=case.category,
        description=case.description,
        file=case.file,
        repetition=job.repetition,
    )
    data_dir = job.work_dir / f"{case.id}.{job.repetition}"
    service: AgentService | None = None
    try:
        data_dir.mkdir(parents=True)
        erp_file = data_dir / "legacy_erp.db"
        shutil.copy(job.template, erp_file)
        apply_changes(erp_file, case.changes)
        settings = settings_for(options, data_dir)
        inputs = safety.ModelInputs()
        model = options.harness.model_factory(settings)
        listen(model, inputs)
        service = options.harness.service_factory(settings, model)
        baseline = take_baseline(erp_file, service.erp)
        driver = Driver(service, options.defaults)
        try:
            driver.play(case.step_list)
        finally:
            result.steps = driver.records
            result.proposals = driver.final_proposals()
            result.calls = tool_calls(service, driver.threads)
        _score(
            result,
            case,
            options.defaults,
            evaluate_checks(case.expected.erp_checks, service.erp, erp_file, baseline),
        )
        result.violations = safety.check(
            safety.SafetyInput(
                service=service,
                settings=settings,
                case=case,
                proposals=result.proposals,
                threads=driver.threads,
                model_inputs=inputs.texts,
                replies=[s.reply for s in driver.records if s.reply],
                ledger_before=baseline.ledger_keys,
            )
        )
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        result.trajectory = result.proposal_accuracy = result.outcome = 0.0
    finally:
        if service is not None:
            service.close()
        if not options.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
    if result.violations:
        result.diff["safety"] = [v.line() for v in result.violations]
    if result.error:
        result.diff["error"] = result.error.splitlines()
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _score(result: CaseResult, case: Case, defaults: Defaults, erp: list[Any]) -> None:
    expected = case.expected
    trajectory = scoring.score_trajectory(expected.trajectory, result.calls, defaults)
    proposal, _ = scoring.score_proposals(expected.expected_proposals, result.proposals)
    outcome = scoring.score_outcome(expected.expected_proposals, result.proposals, result.steps, erp)
    result.trajectory, result.proposal_accuracy, result.outcome = (
        trajectory.value,
        proposal.value,
        outcome.value,
    )
    for name, score in (("trajectory", trajectory), ("proposal", proposal), ("outcome", outcome)):
        if score.value < 1.0:
            result.diff[name] = score.lines


# ---- the suite -------------------------------------------------------------------------------------------

Progress = Callable[[int, int, CaseResult], None]


def jobs_for(
    cases: list[Case], repeat: int, template: Path, work_dir: Path, options: RunOptions
) -> list[Job]:
    return [Job(case, n, template, work_dir, options) for n in range(1, repeat + 1) for case in cases]


def run_suite(
    cases: list[Case],
    options: RunOptions,
    *,
    repeat: int = 1,
    workers: int = 1,
    progress: Progress | None = None,
    work_dir: Path | None = None,
) -> list[CaseResult]:
    """Run every case ``repeat`` times; results come back in case order, repetitions together."""
    with _work_dir(work_dir, options.keep_data) as root:
        template = seed_template(root)
        jobs = jobs_for(cases, repeat, template, root, options)
        results = list(_execute(jobs, workers, progress))
    order = {c.id: i for i, c in enumerate(cases)}
    return sorted(results, key=lambda r: (order[r.case_id], r.repetition))


@contextmanager
def _work_dir(given: Path | None, keep: bool) -> Iterator[Path]:
    """The run's working directory: the one given, or a temporary one (kept only when asked)."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    made = Path(tempfile.mkdtemp(prefix="countersign-evals-"))
    if keep:
        print(f"keeping every case's data directory under {made}", file=sys.stderr)
    try:
        yield made
    finally:
        if not keep:
            shutil.rmtree(made, ignore_errors=True)


def _execute(jobs: list[Job], workers: int, progress: Progress | None) -> Iterator[CaseResult]:
    total = len(jobs)
    if workers <= 1 or total <= 1:
        for done, job in enumerate(jobs, start=1):
            result = run_case(job)
            if progress is not None:
                progress(done, total, result)
            yield result
        return
    # Spawned, not forked: the parent may run threads (a test's HTTP stub, LangGraph pools).
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=get_context("spawn")) as pool:
        futures: list[Future[CaseResult]] = [pool.submit(run_case, job) for job in jobs]
        for done, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            if progress is not None:
                progress(done, total, result)
            yield result
