"""Approve a proposal in a process that dies (os._exit) right after the ERP accepted the write.

Used by the e2e tests to inject a real crash between the ERP commit and the graph recording it.
Usage: python crashing_approver.py PROPOSAL_ID APPROVER   (COUNTERSIGN_DATA_DIR selects the installation)
"""

from __future__ import annotations

import os
import sys
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
        os._exit(137)  # no cleanup, no graph checkpoint, no store update: like a kill -9


def main() -> None:
    proposal_id, approver = sys.argv[1], sys.argv[2]
    settings = load_settings()
    service = build_service(settings, erp=DieAfterWrite(open_erp(settings)))
    service.decide(proposal_id, approver, "approve")
    raise SystemExit("the write should have killed this process")


if __name__ == "__main__":
    main()
