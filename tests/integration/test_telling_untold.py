"""A requester is told how their proposal ended, once, even when a crash cut the telling short.

The crash is injected in process: a model that dies (a ``BaseException``, like a kill: nothing
catches it) while the run writes its reply after the outcome was recorded, or a ``_tell`` that dies
right after a rejection was recorded. Either leaves a proposal that has ended, a run that never
finished telling it, and the ``told`` flag unset; ``recover`` and the standing job must finish it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from agent.approvals import Proposal
from agent.planner.model import OfflinePlanner
from agent.service import AgentService, build_service
from agent.settings import Settings

pytestmark = pytest.mark.integration

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}
ARMED = threading.Event()


class Killed(BaseException):
    """The process dying: not an error anything in the product catches and retries."""


class DiesWhileReplying(OfflinePlanner):
    """The offline planner, killed (while ``ARMED``) on the reply the run writes after an outcome:
    that call is the only one made without tools bound."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._maybe_die()
        return super()._generate(messages, stop, run_manager, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self._maybe_die()
        return super()._stream(messages, stop, run_manager, **kwargs)

    def _maybe_die(self) -> None:
        if ARMED.is_set() and not self.bound_tools:
            raise Killed("killed while the run was telling the requester")


@pytest.fixture(autouse=True)
def disarmed() -> Iterator[None]:
    ARMED.clear()
    yield
    ARMED.clear()


def file_purchase_order(service: AgentService) -> Proposal:
    proposal = service.call_tool("propose_purchase_order", PO_ARGS, "alice")
    assert isinstance(proposal, Proposal)
    return proposal


def killed_while_reporting_a_commit(settings: Settings) -> Proposal:
    """Approve, and die while the run reports the commit: committed, untold, a task dangling."""
    service = build_service(settings, model=DiesWhileReplying())
    try:
        proposal = file_purchase_order(service)
        ARMED.set()
        with pytest.raises(Killed):
            service.decide(proposal.id, "bob", "approve")
        ARMED.clear()
        assert service.proposal(proposal.id).status == "committed"
        state = service.graph.get_state(service._config(proposal.thread_id))
        assert state.next and not state.interrupts  # paused with a dangling task
        return proposal
    finally:
        service.close()


def untold(service: AgentService) -> list[str]:
    ended = ("committed", "failed", "rejected", "expired")
    return [p.id for p in service.store.list_by_status(ended, untold=True)]


def replies(service: AgentService, thread_id: str) -> list[AIMessage]:
    return [m for m in service.messages(thread_id) if isinstance(m, AIMessage) and not m.tool_calls]


def test_recover_tells_a_requester_whose_run_was_killed_while_reporting_the_commit(
    settings: Settings,
) -> None:
    proposal = killed_while_reporting_a_commit(settings)

    service = build_service(settings)
    try:
        assert untold(service) == [proposal.id]
        recovered = service.recover()

        assert [p.id for p in recovered] == [proposal.id]
        state = service.graph.get_state(service._config(proposal.thread_id))
        assert not state.next  # the run finished
        assert replies(service, proposal.thread_id)  # and told the requester
        assert untold(service) == []
        told = len(service.messages(proposal.thread_id))
        assert service.recover() == []  # once
        assert len(service.messages(proposal.thread_id)) == told
    finally:
        service.close()


def test_recover_tells_a_requester_whose_rejection_was_recorded_but_never_told(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build_service(settings)
    try:
        proposal = file_purchase_order(service)

        def die(*_: Any) -> None:
            raise Killed("killed right after the rejection was recorded")

        monkeypatch.setattr(service, "_tell", die)
        with pytest.raises(Killed):
            service.decide(proposal.id, "bob", "reject", reason="wrong supplier")
    finally:
        service.close()

    restarted = build_service(settings)
    try:
        assert restarted.proposal(proposal.id).status == "rejected"
        assert [p.id for p in restarted.recover()] == [proposal.id]
        told = [str(m.content) for m in restarted.messages(proposal.thread_id)]
        assert any("rejected by bob: wrong supplier" in text for text in told)
        assert untold(restarted) == []
    finally:
        restarted.close()


def test_the_standing_job_tells_an_untold_requester_once_the_run_has_been_still_a_while(
    settings: Settings,
) -> None:
    proposal = killed_while_reporting_a_commit(settings)
    ahead = [timedelta(0)]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC) + ahead[0]  # noqa: E731
    service = build_service(settings, now=clock)
    try:
        assert service.pipeline is not None
        jobs = service.pipeline.standing_jobs(writer=False, agent=True)
        job = next(j for j in jobs if j.name == "tell-untold")

        job.run()  # it just ended: the process that ended it may still be telling it
        assert untold(service) == [proposal.id]

        ahead[0] = timedelta(minutes=10)
        job.run()
        assert untold(service) == []
        assert replies(service, proposal.thread_id)
        told = len(service.messages(proposal.thread_id))
        job.run()
        assert len(service.messages(proposal.thread_id)) == told
    finally:
        service.close()
