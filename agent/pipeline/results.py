"""The result consumer: records what the ERP did with a command and resumes the waiting run.

Recording is one transaction: the inbox row (so a duplicate result is recognised) and the
proposal's move from ``committing`` to ``committed`` or ``failed``. Only the consumer that
recorded the result resumes the run, so the user is told once. A crash between the two leaves a
finished proposal whose run still waits; ``countersign recover`` resumes it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from agent.approvals import Proposal, ProposalNotFound, ProposalStore
from agent.messaging.bus import Delivery, PoisonMessage
from agent.messaging.inbox import Inbox
from agent.messaging.outbox import Outbox
from agent.pipeline.messages import BodyError, CommitResult, parse_body
from erp_acl.domain import Receipt
from tools.observability import correlated, get_logger

CONSUMER = "results"
log = get_logger("countersign.results")


class ResultConsumer:
    def __init__(
        self,
        *,
        engine: Engine,
        store: ProposalStore,
        outbox: Outbox,
        inbox: Inbox,
        resume: Callable[[Proposal], object],
    ) -> None:
        self._engine = engine
        self._store = store
        self._outbox = outbox
        self._inbox = inbox
        self._resume = resume

    def handle(self, delivery: Delivery) -> None:
        try:
            result = parse_body(CommitResult, delivery.body)
        except BodyError as exc:
            raise PoisonMessage(str(exc)) from None
        try:
            proposal = self._store.get(result.proposal_id)
        except ProposalNotFound:
            raise PoisonMessage(f"no proposal {result.proposal_id} in the approvals store") from None
        if result.idempotency_key != proposal.write_key:
            raise PoisonMessage(f"result for {proposal.id} carries a key that is not the proposal's")
        with correlated(
            thread_id=proposal.thread_id, proposal_id=proposal.id, idempotency_key=proposal.write_key
        ):
            if not self.record(result):
                return
            log.info("erp write result recorded", status=result.status)
            self._resume(self._store.get(proposal.id))

    def record(self, result: CommitResult) -> bool:
        """Record a result once; False when it was recorded before (a duplicate delivery)."""
        receipt = Receipt.model_validate(result.receipt) if result.receipt is not None else None
        with self._engine.begin() as conn:
            if not self._inbox.record(CONSUMER, result.message_id(), result.status, conn=conn):
                return False
            self._store.mark(
                result.proposal_id,
                result.status,
                receipt=receipt,
                error=result.error,
                only_from=("approved", "committing"),
                conn=conn,
            )
        self._outbox.complete_subject(result.proposal_id, result.status)
        return True
