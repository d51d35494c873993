"""The bodies the pipeline's queues carry, validated on the way in (a bad body is a poison message).

A command names the proposal and repeats its key and fingerprint: the writer applies only what the
approvals store holds for that proposal, so a message can never change what is written.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.approvals import Proposal


class BodyError(ValueError):
    """A message body that does not have the expected shape."""


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommitCommand(_Body):
    """Write one approved proposal to the ERP."""

    proposal_id: str
    revision: int
    idempotency_key: str
    fingerprint: str
    action: str
    actor: str  # the identity the write is made as (the agent's, or the MCP gateway's)
    on_behalf_of: str

    @classmethod
    def of(cls, proposal: Proposal, actor: str) -> CommitCommand:
        return cls(
            proposal_id=proposal.id,
            revision=proposal.revision,
            idempotency_key=proposal.write_key,
            fingerprint=proposal.fingerprint,
            action=proposal.action,
            actor=actor,
            on_behalf_of=proposal.on_behalf_of,
        )

    def message_id(self) -> str:
        return command_message_id(self.proposal_id, self.revision)


class CommitResult(_Body):
    """What the ERP did with one command."""

    proposal_id: str
    idempotency_key: str
    status: Literal["committed", "failed"]
    receipt: dict[str, Any] | None = None
    error: str | None = None

    def message_id(self) -> str:
        return f"res-{self.proposal_id}-{self.status}"


def command_message_id(proposal_id: str, revision: int) -> str:
    return f"cmd-{proposal_id}-r{revision}"


B = TypeVar("B", bound=_Body)


def parse_body(kind: type[B], body: dict[str, Any]) -> B:
    try:
        return kind.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BodyError(f"not a {kind.__name__}: {where}: {first['msg']}") from None
