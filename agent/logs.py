"""Structured logging: one JSON object per line in the installation's log file."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        return json.dumps(entry, default=str)


def configure_logging(log_file: Path, level: str = "INFO") -> None:
    """Send Countersign's loggers to ``log_file`` (idempotent; the terminal stays clean)."""
    root = logging.getLogger("countersign")
    if any(getattr(h, "_countersign", False) for h in root.handlers):
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(JsonLineFormatter())
    handler._countersign = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
