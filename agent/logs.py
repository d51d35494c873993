"""Structured logging: every event is one JSON object per line in the installation's log file.

structlog renders Countersign's events (with the run's correlation ids merged in from context
variables); records from other libraries pass through the same formatter, so the file is
uniformly JSON lines. The terminal stays clean.
"""

from __future__ import annotations

import logging
from pathlib import Path

import structlog

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
]


def configure_structlog() -> None:
    """Route structlog through the standard library (idempotent; done before any logger is used)."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger used before a reconfiguration (tests capture logs) must follow it.
        cache_logger_on_first_use=False,
    )


def configure_logging(log_file: Path, level: str = "INFO") -> None:
    """Send Countersign's events to ``log_file`` as JSON lines (idempotent per file)."""
    configure_structlog()
    root = logging.getLogger("countersign")
    if any(getattr(h, "baseFilename", None) == str(log_file.resolve()) for h in root.handlers):
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(default=str),
            ],
            foreign_pre_chain=_SHARED,
        )
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
