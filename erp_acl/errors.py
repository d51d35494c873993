"""Errors the anti-corruption layer raises; each carries a one-line, user-readable message."""

from __future__ import annotations

from pydantic import ValidationError

# At most this many problems are listed in one line; the rest are counted.
_MAX_PROBLEMS = 3


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


def one_line(error: ValidationError, what: str, *, skip: int = 0, whole: str = "value") -> str:
    """A pydantic ``ValidationError`` as one line naming each field: ``what: lines.0.quantity:
    Input should be ...; ...``. ``skip`` drops leading location parts that name no field (the
    tag of a tagged union); ``whole`` names a problem of the value as a whole."""
    parts = []
    problems = error.errors(include_url=False)
    for problem in problems[:_MAX_PROBLEMS]:
        where = ".".join(str(p) for p in problem["loc"][skip:]) or whole
        # pydantic prefixes a validator's own message with "Value error, ": noise to a reader.
        said = " ".join(str(problem["msg"]).removeprefix("Value error, ").split())
        parts.append(f"{where}: {said}")
    more = len(problems) - _MAX_PROBLEMS
    return f"{what}: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
