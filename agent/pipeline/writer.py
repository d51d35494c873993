"""The ERP writer: consumes approved commands and applies each once, at the ERP's pace.

Before anything is applied, the audit trail's decisions must authorize the write
(``agent.authorization``): the approvals store's status alone is a row anyone with SQL can set, so a
write the trail does not authorize becomes a failure of that proposal, never a write.

Delivery is at least once, so a command can arrive twice (a redelivery after a crash, the outbox
sending again). Three guards make that harmless: the inbox skips a message already handled, the
approvals store says whether the proposal is still to be written, and the ERP's idempotency
ledger turns a repeated key into the stored receipt instead of a second document.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.approvals import Proposal, ProposalNotFound, ProposalStore
from agent.messaging.bus import Delivery, PoisonMessage
from agent.messaging.inbox import Inbox
from agent.pipeline.messages import BodyError, CommitCommand, CommitResult, parse_body
from erp_acl.commands import parse_command
from erp_acl.domain import Receipt
from erp_acl.errors import ErpError, ErpUnavailable
from tools.gateway import Gateway, Principal, ToolError
from tools.observability import correlated, get_logger, span
from tools.tokens import TokenRefused, write_binding

CONSUMER = "writer"
log = get_logger("countersign.writer")


class ErpWriterWorker:
    """Handles one command delivery: apply through the gateway, then publish the result."""

    def __init__(
        self,
        *,
        store: ProposalStore,
        gateway: Gateway,
        inbox: Inbox,
        publish: Callable[[CommitResult], None],
        authorize: Callable[[Proposal], str | None],
    ) -> None:
        """``authorize`` says why a proposal may not be written (None when it may), or raises to
        have the delivery retried; required, so a writer can never be built that skips the check."""
        self._store = store
        self._gateway = gateway
        self._inbox = inbox
        self._publish = publish
        self._authorize = authorize

    def handle(self, delivery: Delivery) -> None:
        try:
            command = parse_body(CommitCommand, delivery.body)
        except BodyError as exc:
            raise PoisonMessage(str(exc)) from None
        if self._inbox.seen(CONSUMER, delivery.message_id):
            return
        try:
            proposal = self._store.get(command.proposal_id)
        except ProposalNotFound:
            raise PoisonMessage(f"no proposal {command.proposal_id} in the approvals store") from None
        problem = _mismatch(command, proposal)
        if problem is not None:
            raise PoisonMessage(problem)
        with (
            correlated(
                thread_id=proposal.thread_id,
                proposal_id=proposal.id,
                idempotency_key=proposal.write_key,
                on_behalf_of=proposal.on_behalf_of,
            ),
            span("pipeline.write", action=proposal.action),
        ):
            result = self._outcome(command, proposal)
            self._publish(result)
            self._inbox.record(CONSUMER, delivery.message_id, result.status)
            log.info("erp write handled", status=result.status, redelivered=delivery.redelivered)

    def _outcome(self, command: CommitCommand, proposal: Proposal) -> CommitResult:
        if proposal.status in ("committed", "failed"):
            # Handled before and its result recorded; publish it again for whoever missed it.
            return _result_of(proposal)
        if proposal.status not in ("approved", "committing"):
            raise PoisonMessage(
                f"proposal {proposal.id} is {proposal.status}; only an approved proposal is written"
            )
        refused = self._authorize(proposal)
        if refused is not None:
            return CommitResult(
                proposal_id=proposal.id, idempotency_key=proposal.write_key, status="failed", error=refused
            )
        self._store.mark(proposal.id, "committing", only_from=("approved", "committing"))
        erp_command = parse_command(proposal.payload)
        principal = Principal(command.actor, proposal.on_behalf_of)
        try:
            # A just-in-time token for exactly this write: bound to this proposal, key and fingerprint.
            token = self._gateway.mint(
                principal,
                self._gateway.commit_audience(erp_command.action),
                write_binding(proposal.id, proposal.write_key, proposal.fingerprint),
            )
            receipt = self._gateway.commit(
                erp_command,
                proposal_id=proposal.id,
                idempotency_key=proposal.write_key,
                fingerprint_=proposal.fingerprint,
                principal=principal,
                token=token,
            )
        except ErpUnavailable:
            raise  # transient: the bus retries the delivery, then dead-letters it
        except (ErpError, ToolError, TokenRefused) as exc:
            return CommitResult(
                proposal_id=proposal.id, idempotency_key=proposal.write_key, status="failed", error=str(exc)
            )
        return committed_result(proposal, receipt)


def committed_result(proposal: Proposal, receipt: Receipt) -> CommitResult:
    return CommitResult(
        proposal_id=proposal.id,
        idempotency_key=proposal.write_key,
        status="committed",
        receipt=receipt.model_dump(mode="json"),
    )


def _result_of(proposal: Proposal) -> CommitResult:
    if proposal.status == "committed":
        return CommitResult(
            proposal_id=proposal.id,
            idempotency_key=proposal.write_key,
            status="committed",
            receipt=proposal.receipt,
        )
    return CommitResult(
        proposal_id=proposal.id, idempotency_key=proposal.write_key, status="failed", error=proposal.error
    )


def _mismatch(command: CommitCommand, proposal: Proposal) -> str | None:
    """Why a command does not describe this proposal as approved (None when it does)."""
    if command.idempotency_key != proposal.write_key:
        return f"command for {proposal.id} carries key {command.idempotency_key}, not the proposal's"
    if command.fingerprint != proposal.fingerprint or command.revision != proposal.revision:
        return f"command for {proposal.id} is for revision {command.revision}; the approved payload differs"
    if command.action != proposal.action:
        return f"command for {proposal.id} names action {command.action}, the proposal is {proposal.action}"
    return None
