"""The idempotency ledger kept inside Tryton: one ``ir.attachment`` per key.

Tryton cannot share a transaction with a ledger table of ours, so every write is claimed first:
an attachment named ``countersign:<key>`` (state ``pending``, holding the fingerprint and the
command) is created on the record the write will change, then the write happens, then the claim is
closed (state ``done``, holding the receipt) and moved onto the document the write created. A
crash anywhere leaves either nothing, or a pending claim that the next attempt with the key (or
``receipt_for``) completes by looking the write up in Tryton itself. Two attempts racing on one key
both claim; the claim with the lower id wins and the other withdraws.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from erp_acl.domain import LedgerEntry, Receipt
from erp_acl.errors import ErpError
from erp_acl.tryton.conventions import REFERENCE_PREFIX, reference_of
from erp_acl.tryton.rpc import TrytonRpc

ATTACHMENT = "ir.attachment"
PENDING = "pending"
DONE = "done"
_FIELDS = ["name", "data", "resource", "create_date"]


@dataclass(frozen=True)
class Claim:
    """One key's ledger attachment, decoded."""

    id: int
    key: str
    state: str
    fingerprint: str
    action: str
    command: dict[str, Any]
    receipt: dict[str, Any] | None
    resource: str
    created_at: datetime

    @property
    def done(self) -> bool:
        return self.state == DONE

    def stored_receipt(self, *, replayed: bool) -> Receipt:
        if self.receipt is None:
            raise ErpError(f"the ledger entry of key {self.key} holds no receipt yet")
        return Receipt.model_validate({**self.receipt, "replayed": replayed})

    def entry(self) -> LedgerEntry:
        receipt = self.stored_receipt(replayed=False)
        return LedgerEntry(
            idempotency_key=self.key,
            fingerprint=self.fingerprint,
            action=self.action,
            command=self.command,
            receipt=receipt,
            created_at=self.created_at,
        )


def _utc(moment: datetime) -> datetime:
    """Tryton's timestamps are naive UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _claim(row: dict[str, Any]) -> Claim:
    raw = row.get("data") or b"{}"
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else str(raw))
    except ValueError:
        data = {}
    return Claim(
        id=int(row["id"]),
        key=str(row["name"]).removeprefix(REFERENCE_PREFIX),
        state=str(data.get("state", PENDING)),
        fingerprint=str(data.get("fingerprint", "")),
        action=str(data.get("action", "")),
        command=dict(data.get("command") or {}),
        receipt=data.get("receipt"),
        resource=str(row.get("resource") or ""),
        created_at=_utc(row["create_date"]),
    )


def _payload(
    state: str, fingerprint: str, action: str, command: dict[str, Any], receipt: Receipt | None
) -> bytes:
    data = {
        "state": state,
        "fingerprint": fingerprint,
        "action": action,
        "command": command,
        "receipt": None if receipt is None else receipt.model_dump(mode="json", exclude={"replayed"}),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


class TrytonLedger:
    """Claims, completes and lists the ledger attachments of one Tryton database."""

    def __init__(self, rpc: TrytonRpc) -> None:
        self._rpc = rpc

    def find(self, key: str) -> list[Claim]:
        """The claims on ``key``, oldest first (more than one only while two attempts race)."""
        rows = self._rpc.search_read(
            ATTACHMENT, [("name", "=", reference_of(key))], _FIELDS, order=[("id", "ASC")]
        )
        return [_claim(row) for row in rows]

    def claim(
        self,
        key: str,
        fingerprint: str,
        action: str,
        command: dict[str, Any],
        resource: str,
        receipt: Receipt | None = None,
    ) -> tuple[Claim, bool]:
        """Claim ``key`` for a write about to happen: the claim that stands, and whether it is
        this one (False: a racing attempt claimed the key first; this claim was withdrawn)."""
        [created] = self._rpc.create(
            ATTACHMENT,
            [
                {
                    "name": reference_of(key),
                    "type": "data",
                    "resource": resource,
                    "data": _payload(PENDING, fingerprint, action, command, receipt),
                }
            ],
        )
        claims = self.find(key)
        if claims[0].id != created:
            self._rpc.execute(ATTACHMENT, "delete", [created])
        return claims[0], claims[0].id == created

    def close(self, claim: Claim, receipt: Receipt, resource: str | None = None) -> Claim:
        """Record that the claimed write landed, with its receipt (and the document it made)."""
        values: dict[str, Any] = {
            "data": _payload(DONE, claim.fingerprint, claim.action, claim.command, receipt)
        }
        if resource is not None:
            values["resource"] = resource
        self._rpc.write(ATTACHMENT, [claim.id], values)
        [row] = self._rpc.read(ATTACHMENT, [claim.id], _FIELDS)
        return _claim(row)

    def withdraw(self, claim: Claim) -> None:
        """Drop a pending claim whose write turned out to be invalid: nothing was written."""
        self._rpc.execute(ATTACHMENT, "delete", [claim.id])

    def closed(self) -> list[Claim]:
        """Every completed claim, oldest first: the ledger."""
        rows = self._rpc.search_read(
            ATTACHMENT, [("name", "like", f"{REFERENCE_PREFIX}%")], _FIELDS, order=[("id", "ASC")]
        )
        return [claim for claim in map(_claim, rows) if claim.done]
