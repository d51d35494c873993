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
    from pydantic import ValidationError

    from agent.db import is_damaged_database
    from agent.service import USER_ERRORS
    from erp_acl.errors import one_line

    try:
        return action()
    except USER_ERRORS as exc:
        fail(str(exc))
    except ValidationError as exc:  # a value a model refused: one line naming the field
        fail(one_line(exc, "invalid input"))
    except Exception as exc:
        if os.environ.get("COUNTERSIGN_DEBUG"):
            raise
        if is_damaged_database(exc):
            fail(_damaged(exc))
        fail(f"{type(exc).__name__}: {exc} (set COUNTERSIGN_DEBUG=1 for the traceback)")


def _damaged(exc: BaseException) -> str:
    """Which of the installation's SQLite files SQLite cannot read, named in one line."""
    from agent.db import damaged_files, damaged_message, sqlite_file

    try:
        current = load_settings()
        urls = [
            current.app_database_url,
            current.checkpoint_database_url,
            current.message_broker_url,
            current.erp_database_url,
        ]
    except Exception:  # the settings were read once already; this is only a better message
        urls = []
    files = [path for path in (sqlite_file(url) for url in urls) if path is not None]
    return damaged_message(damaged_files(files), exc)


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
