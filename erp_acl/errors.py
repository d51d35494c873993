"""Errors the anti-corruption layer raises; each carries a one-line, user-readable message."""

from __future__ import annotations


class ErpError(Exception):
    """Base class of every error raised by the anti-corruption layer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(ErpError):
    """The record asked for does not exist (or is soft-deleted)."""


class ValidationFailed(ErpError):
    """A command breaks a domain rule; ``problems`` lists every broken rule."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class IdempotencyConflict(ErpError):
    """An idempotency key was reused for a different payload (fingerprint)."""


class StaleProposal(ErpError):
    """The ERP records a command relied on changed after it was proposed."""

    def __init__(self, changed: list[str]) -> None:
        super().__init__(
            "the ERP changed since this was proposed (" + ", ".join(changed) + "); propose it again"
        )
        self.changed = changed


class ErpUnavailable(ErpError):
    """The ERP could not be reached; the command may be retried with the same key."""


class Unsupported(ErpError):
    """The ERP behind the adapter has no such thing (e.g. budgets in Tryton): nothing to read or write."""
