"""The one gateway every tool call passes through, whoever asks (the agent, the CLI, MCP).

Complete mediation, in this order, on every call: the caller must be a configured agent
identity; it must present a just-in-time token minted for exactly this call (audience = the
tool, bound for writes to the proposal, key and fingerprint); its grants must hold the tool's
scope; the arguments must validate. Only then does the call reach the ERP, through a rate
limit; reads (never writes) are retried when the ERP is briefly unavailable. Refusals are
recorded as security events; every call writes one structured log line (tool, principal, args
digest, duration, outcome). Propose tools never write: they become checked domain commands.
Only ``commit`` writes, through ``ErpWriter.apply``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

from erp_acl.commands import Command, fingerprint
from erp_acl.documents import amount_of
from erp_acl.domain import Money, Receipt
from erp_acl.errors import ErpError, ErpUnavailable, one_line
from erp_acl.ports import Erp
from tools.audit import AuditEvent, EventType
from tools.catalog import ALL_TOOLS, TOOLS_BY_NAME, ProposeTool, ReadTool, Tool, ToolKind, get_tool
from tools.identity import TOOL_SCOPES, WRITE_SCOPE_BY_ACTION, AgentIdentity
from tools.observability import correlation, get_logger, span
from tools.ratelimit import RateLimited, TokenBucket
from tools.rendering import content_digest, render_result
from tools.security_log import AuditSink, SecurityRecorder
from tools.tokens import TokenIssuer, TokenRefused, write_binding

T = TypeVar("T")

log = get_logger("countersign.gateway")


class ToolError(Exception):
    """A tool call refused before it reached the ERP (unknown tool, bad arguments, wrong kind)."""


class AccessDenied(ToolError):
    """The caller is not a known identity, or its grants do not hold the tool's scope."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the acting identity and the person it acts for."""

    actor: str
    on_behalf_of: str

    def __str__(self) -> str:
        return self.actor if self.actor == self.on_behalf_of else f"{self.actor} for {self.on_behalf_of}"


@dataclass(frozen=True)
class PreparedProposal:
    """A propose call turned into a checked command, ready to be filed for approval."""

    tool: str
    action: str
    command: Command
    fingerprint: str
    amount: Money
    based_on: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    kind: ToolKind
    args_schema: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "args_schema": self.args_schema,
        }


def result_digest(value: Any) -> str:
    """SHA-256 of a read's result exactly as a model is shown it (``render_result``)."""
    return content_digest(render_result(value))


def receipt_reference(receipt: Receipt) -> dict[str, Any]:
    """What an audit record keeps of a receipt: the ERP document it points to."""
    return {
        "action": receipt.action,
        "document_type": receipt.document_type,
        "document_id": receipt.document_id,
        "replayed": receipt.replayed,
    }


def args_digest(args: dict[str, Any]) -> str:
    """Digest of a call's arguments: logs show which call it was without copying its data."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _one_line(error: ValidationError, tool: str) -> str:
    return one_line(error, f"invalid arguments for {tool}", whole="arguments")


class Gateway:
    """Named, typed, mediated and logged access to one ERP."""

    def __init__(
        self,
        erp: Erp,
        *,
        identities: Mapping[str, AgentIdentity],
        tokens: TokenIssuer,
        recorder: SecurityRecorder,
        audit: AuditSink | None = None,
        limiter: TokenBucket | None = None,
        limit_timeout_seconds: float = 10.0,
        read_retries: int = 2,
        retry_backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        pace_writes: Callable[[], None] | None = None,
    ) -> None:
        """``pace_writes`` waits for the next write slot the ERP allows (shared by every writer
        thread and process); ``limiter`` bounds this process's calls of every kind."""
        self._erp = erp
        self._pace_writes = pace_writes
        self._identities = {identity.id: identity for identity in identities.values()}
        self._tokens = tokens
        self._recorder = recorder
        self._audit = audit
        self._limiter = limiter
        self._limit_timeout = limit_timeout_seconds
        self._read_retries = read_retries
        self._backoff = retry_backoff_seconds
        self._sleep = sleep

    # ---- catalogue --------------------------------------------------------------------------

    @staticmethod
    def specs(kinds: tuple[ToolKind, ...] = ("read", "propose")) -> list[ToolSpec]:
        return [
            ToolSpec(t.name, t.description, t.kind, t.args_model.model_json_schema())
            for t in ALL_TOOLS
            if t.kind in kinds
        ]

    @staticmethod
    def model_tools(names: list[str] | None = None) -> list[dict[str, Any]]:
        """OpenAI-format tool definitions to bind to a chat model (all tools, or those named)."""
        chosen = [t for t in ALL_TOOLS if names is None or t.name in names]
        definitions = []
        for tool in chosen:
            definition = convert_to_openai_tool(tool.args_model)
            # The schema class names are internal; the model must see the tool's own name.
            definition["function"]["name"] = tool.name
            definition["function"]["description"] = tool.description
            definitions.append(definition)
        return definitions

    def identity(self, actor: str) -> AgentIdentity:
        try:
            return self._identities[actor]
        except KeyError:
            raise AccessDenied(f"{actor!r} is not a configured agent identity") from None

    # ---- tokens -----------------------------------------------------------------------------

    def mint(self, principal: Principal, audience: str, binding: dict[str, str] | None = None) -> str:
        """A just-in-time token for exactly one call (audience = the tool or ``commit:<action>``)."""
        return self._tokens.mint(principal.actor, principal.on_behalf_of, audience, binding)

    @staticmethod
    def commit_audience(action: str) -> str:
        return f"commit:{action}"

    @staticmethod
    def check_audience(action: str) -> str:
        return f"check:{action}"

    # ---- calls ------------------------------------------------------------------------------

    def read(self, name: str, args: dict[str, Any], principal: Principal, token: str | None) -> Any:
        """Run a read tool; returns domain objects. Raises ToolError, TokenRefused or ErpError."""
        with self._logged(name, args, principal):
            tool = self._tool(name, "read", principal)
            assert isinstance(tool, ReadTool)
            self._authorize(principal, token, audience=name, scope=TOOL_SCOPES[name], tool=name)
            parsed = self._parse(tool, args)
            value = self._with_retries(lambda: tool.run(self._erp, parsed), principal, name)
            # The audit keeps a digest of exactly what the model was shown: a proposal's evidence
            # cites the same digests, so an auditor can match every decision to its reads.
            self._record(
                "read",
                principal,
                name,
                evidence=[result_digest(value)],
                details={"args_digest": args_digest(args)},
            )
            return value

    def prepare(
        self, name: str, args: dict[str, Any], principal: Principal, token: str | None, today: date
    ) -> PreparedProposal:
        """Turn a propose call into a checked command with versions, amount and fingerprint. No write."""
        with self._logged(name, args, principal):
            tool = self._tool(name, "propose", principal)
            assert isinstance(tool, ProposeTool)
            self._authorize(principal, token, audience=name, scope=TOOL_SCOPES[name], tool=name)
            draft = self._draft(tool, args, today)
            return self._checked(name, draft, None, today, principal)

    def check_arguments(self, name: str, args: dict[str, Any], principal: Principal, today: date) -> None:
        """Refuse (ToolError, one line naming the field) arguments a tool would refuse, before
        its caller stores anything for the call; a name that is no tool is left to the call."""
        tool = TOOLS_BY_NAME.get(name)
        if tool is None:
            return
        with self._logged(name, args, principal):  # a refused call is logged as any other
            if isinstance(tool, ProposeTool):
                self._draft(tool, args, today)
            else:
                self._parse(tool, args)

    @classmethod
    def _draft(cls, tool: ProposeTool, args: dict[str, Any], today: date) -> Command:
        try:
            return tool.to_command(cls._parse(tool, args), today)
        except ValidationError as exc:  # the command's own bounds, should the schema miss one
            raise ToolError(_one_line(exc, tool.name)) from None

    def recheck(
        self,
        name: str,
        command: Command,
        based_on: dict[str, str] | None,
        principal: Principal,
        token: str | None,
        today: date,
    ) -> PreparedProposal:
        """Validate an edited command, keeping the versions the original proposal relied on."""
        audience = self.check_audience(command.action)
        with self._logged(audience, {"command": command.model_dump(mode="json")}, principal):
            scope = WRITE_SCOPE_BY_ACTION[command.action]
            self._authorize(principal, token, audience=audience, scope=scope, tool=name)
            return self._checked(name, command, based_on, today, principal)

    def commit(
        self,
        command: Command,
        *,
        proposal_id: str,
        idempotency_key: str,
        fingerprint_: str,
        principal: Principal,
        token: str | None,
    ) -> Receipt:
        """The only write: apply the command once under its idempotency key.

        The token must be bound to exactly this proposal, key and fingerprint."""
        audience = self.commit_audience(command.action)
        with self._logged(audience, {"key": idempotency_key}, principal):
            claims = self._authorize(
                principal,
                token,
                audience=audience,
                scope=WRITE_SCOPE_BY_ACTION[command.action],
                tool=audience,
                binding=write_binding(proposal_id, idempotency_key, fingerprint_),
            )
            token_used = {
                "token_jti": claims.get("jti"),
                "token_audience": audience,
                "token_expires": claims.get("exp"),
            }
            self._throttle(principal, audience)
            if self._pace_writes is not None:
                self._pace_writes()  # the ERP's own pace, shared by every writer: last, right before the write
            written = {
                "proposal_id": proposal_id,
                "idempotency_key": idempotency_key,
                "fingerprint": fingerprint_,
            }
            try:
                # Never retried here: a write is retried only by re-running commit with the same key.
                receipt = self._erp.apply(command, idempotency_key, fingerprint_)
            except ErpError as exc:
                details = {"error": str(exc), **token_used}
                self._record("commit_failed", principal, audience, details=details, ids=written)
                raise
            self._record(
                "commit",
                principal,
                audience,
                result=receipt_reference(receipt),
                details=token_used,
                ids=written,
            )
            return receipt

    def receipt_for(self, idempotency_key: str) -> Receipt | None:
        """The ERP ledger's word on a key (used to reconcile and recover, never to write)."""
        return self._erp.receipt_for(idempotency_key)

    def _checked(
        self, name: str, command: Command, based_on: dict[str, str] | None, today: date, principal: Principal
    ) -> PreparedProposal:
        def check() -> PreparedProposal:
            versions = based_on if based_on is not None else self._erp.record_versions(command.relied_on())
            checked = command.model_copy(update={"based_on": versions})
            self._erp.check(checked)
            amount = amount_of(checked, self._erp, today)
            return PreparedProposal(name, checked.action, checked, fingerprint(checked), amount, versions)

        return self._with_retries(check, principal, name)

    # ---- internals --------------------------------------------------------------------------

    def _tool(self, name: str, kind: ToolKind, principal: Principal) -> Tool:
        try:
            tool = get_tool(name)
        except KeyError:
            # Asking for a tool that does not exist (approve_*, commit_*...) is worth a record;
            # the answer does not list the catalogue, so nobody learns what they are not granted.
            self._recorder.record(
                "unknown_tool", principal.actor, principal.on_behalf_of, name, "no such tool"
            )
            raise ToolError(f"unknown tool {name!r}") from None
        if tool.kind != kind:
            raise ToolError(f"{name} is a {tool.kind} tool, not a {kind} tool")
        return tool

    @staticmethod
    def _parse(tool: Tool, args: dict[str, Any]) -> BaseModel:
        if not isinstance(args, dict):
            raise ToolError(f"arguments for {tool.name} must be a JSON object")
        try:
            return tool.args_model.model_validate(args)
        except ValidationError as exc:
            raise ToolError(_one_line(exc, tool.name)) from None

    def _record(
        self,
        kind: EventType,
        principal: Principal,
        tool: str,
        *,
        evidence: list[str] | None = None,
        result: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        ids: dict[str, str] | None = None,
    ) -> None:
        if self._audit is None:
            return
        given = ids or {}
        bound = correlation()
        self._audit.append(
            AuditEvent(
                type=kind,
                actor=principal.actor,
                on_behalf_of=principal.on_behalf_of,
                tool=tool,
                thread_id=bound.get("thread_id"),
                proposal_id=given.get("proposal_id") or bound.get("proposal_id"),
                idempotency_key=given.get("idempotency_key") or bound.get("idempotency_key"),
                fingerprint=given.get("fingerprint"),
                evidence=evidence or [],
                result=result,
                details=details or {},
            )
        )

    def _authorize(
        self,
        principal: Principal,
        token: str | None,
        *,
        audience: str,
        scope: str,
        tool: str,
        binding: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        try:
            identity = self.identity(principal.actor)
            claims = self._tokens.verify(
                token,
                audience=audience,
                actor=principal.actor,
                on_behalf_of=principal.on_behalf_of,
                binding=binding,
            )
            if not identity.allows(scope):
                raise AccessDenied(f"{identity.id} is not granted {scope} (needed for {tool})")
            return claims
        except TokenRefused as refused:
            self._recorder.record(
                "token_refused", principal.actor, principal.on_behalf_of, tool, str(refused)
            )
            raise
        except AccessDenied as denied:
            self._recorder.record("access_denied", principal.actor, principal.on_behalf_of, tool, str(denied))
            raise

    def _throttle(self, principal: Principal, tool: str) -> None:
        if self._limiter is None:
            return
        try:
            self._limiter.acquire(self._limit_timeout)
        except RateLimited as limited:
            self._recorder.record("rate_limited", principal.actor, principal.on_behalf_of, tool, str(limited))
            raise ToolError(f"the ERP is busy: {limited}") from None

    def _with_retries(self, call: Callable[[], T], principal: Principal, tool: str) -> T:
        attempt = 0
        while True:
            self._throttle(principal, tool)
            try:
                return call()
            except ErpUnavailable:
                if attempt >= self._read_retries:
                    raise
                attempt += 1
                self._sleep(self._backoff * 2 ** (attempt - 1))

    @contextmanager
    def _logged(self, tool: str, args: dict[str, Any], principal: Principal) -> Iterator[None]:
        started = time.perf_counter()
        outcome = "ok"
        with span(
            f"gateway.{tool}", tool=tool, principal=principal.actor, on_behalf_of=principal.on_behalf_of
        ):
            try:
                yield
            except (ToolError, ErpError, TokenRefused) as exc:
                outcome = f"{type(exc).__name__}: {exc}"
                raise
            except Exception as exc:
                outcome = f"crash: {type(exc).__name__}"
                raise
            finally:
                # One line per call; the run's correlation ids (thread, proposal, key) are merged in
                # by the logging configuration. Arguments are digested, never copied.
                log.info(
                    "tool_call",
                    tool=tool,
                    actor=principal.actor,
                    on_behalf_of=principal.on_behalf_of,
                    args_digest=args_digest(args),
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    outcome=outcome,
                )
