"""A writer process that dies (os._exit) right after the ERP accepted a write, before it could
publish the result or acknowledge the delivery: the fault the pipeline must survive.

Usage: python crashing_writer.py   (the environment selects the installation and the broker)
"""

from __future__ import annotations

import os
from typing import Any

from agent.composition import open_erp
from agent.service import build_service
from agent.settings import load_settings


class DieAfterWrite:
    def __init__(self, erp: Any) -> None:
        self._erp = erp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._erp, name)

    def apply(self, command: Any, key: str, fingerprint: str) -> Any:
        self._erp.apply(command, key, fingerprint)
        os._exit(137)  # no result, no ack, no cleanup: like a kill -9


def main() -> None:
    settings = load_settings()
    service = build_service(settings, erp=DieAfterWrite(open_erp(settings)))
    assert service.pipeline is not None
    service.pipeline.drain(timeout=60)
    raise SystemExit("no write reached the ERP: nothing killed this process")


if __name__ == "__main__":
    main()
