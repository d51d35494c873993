"""What every ``countersign`` command shares: options, one-line errors, JSON output, the service.

Exit codes: 0 ok; 1 refused or failed (one line on stderr saying why); 2 usage error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from agent.settings import Settings, load_settings

if TYPE_CHECKING:
    from agent.service import AgentService

JsonFlag = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
UserOpt = Annotated[str, typer.Option("--user", "-u", help="who you are (a configured user id)")]
T = TypeVar("T")


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def settings_or_fail() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # pydantic's multi-line errors become one line for the user
        fail(f"bad configuration: {str(exc).splitlines()[0]} — {' '.join(str(exc).split())[:300]}")


@contextmanager
def service() -> Iterator[AgentService]:
    from agent.logs import configure_logging
    from agent.service import build_service

    settings = settings_or_fail()
    configure_logging(settings.log_file, settings.log_level)
    svc = guarded(lambda: build_service(settings))
    try:
        yield svc
    finally:
        svc.close()


def guarded(action: Callable[[], T]) -> T:
    """Run an action; a refusal or failure becomes one line on stderr and exit code 1."""
    from agent.service import USER_ERRORS

    try:
        return action()
    except USER_ERRORS as exc:
        fail(str(exc))
    except Exception as exc:
        if os.environ.get("COUNTERSIGN_DEBUG"):
            raise
        fail(f"{type(exc).__name__}: {exc} (set COUNTERSIGN_DEBUG=1 for the traceback)")


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
