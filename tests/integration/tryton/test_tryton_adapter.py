"""``TrytonErp`` against a real Tryton 8.2 server, beyond the ERP contract suite: exactly once when
answers are lost (a proxy cuts the connection after forwarding the write) or attempts race."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from erp_acl.commands import (
    ChangeCreditLimit,
    Command,
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
    fingerprint,
)
from erp_acl.domain import PurchaseOrderStatus
from erp_acl.errors import (
    ErpError,
    ErpUnavailable,
)
from erp_acl.tryton.adapter import REFERENCE_PREFIX, TrytonErp
from erp_acl.tryton.rpc import TrytonRpc
from erp_acl.tryton.server import HOST, TrytonServer
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert text
    assert "\n" not in text
    assert "Traceback" not in text
    return text


def _order(memo: str = "", quantity: str = "100", **changes: object) -> CreatePurchaseOrder:
    values: dict[str, object] = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [PurchaseLineSpec(product_code="HB-M8-40", quantity=Decimal(quantity))],
        "memo": memo,
        **changes,
    }
    return CreatePurchaseOrder.model_validate(values)


def _keyed(rpc: TrytonRpc, key: str) -> list[dict[str, object]]:
    return rpc.search_read(
        "purchase.purchase", [("reference", "=", REFERENCE_PREFIX + key)], ["state", "number", "reference"]
    )


# ---- writes ----------------------------------------------------------------------------------------


def test_a_purchase_order_lands_in_processing_with_its_key_and_receipt_for_finds_it(
    tryton_erp: TrytonErp, rpc: TrytonRpc
) -> None:
    command = _order("first order")
    tryton_erp.check(command)
    receipt = tryton_erp.apply(command, "po-lands-1", fingerprint(command))
    assert not receipt.replayed
    assert receipt.document_type == "purchase_order"
    assert receipt.idempotency_key == "po-lands-1"
    assert receipt.fingerprint == fingerprint(command)
    assert "total BRL 85.00" in receipt.summary and "CC300" in receipt.summary
    [row] = _keyed(rpc, "po-lands-1")
    assert row["state"] == "processing"
    assert row["number"] == receipt.document_id
    assert row["reference"] == "countersign:po-lands-1"

    order = tryton_erp.get_purchase_order(receipt.document_id)
    assert tryton_erp.get_purchase_order(receipt.document_id.zfill(6)) == order
    listed = tryton_erp.list_purchase_orders(supplier_code="f1", status=PurchaseOrderStatus.OPEN)
    assert order in listed
    assert order.status is PurchaseOrderStatus.OPEN
    assert (order.supplier_code, order.cost_center, order.memo) == ("F00001", "CC300", "first order")
    assert order.total.amount == Decimal("85.00")
    assert order.reference == "po-lands-1"
    assert tryton_erp.receipt_for("po-lands-1") == receipt.model_copy(update={"replayed": True})
    assert tryton_erp.receipt_for("never-used") is None
    assert "po-lands-1" in {d.reference for d in tryton_erp.landed_documents()}
    assert "po-lands-1" in {r.idempotency_key for r in tryton_erp.ledger()}
    [entry] = [e for e in tryton_erp.ledger_entries() if e.idempotency_key == "po-lands-1"]
    assert CreatePurchaseOrder.model_validate(entry.command) == command


class AnswerDroppingProxy(TcpProxy):
    """A TCP proxy that forwards a request naming ``trigger`` to the server, then cuts the
    connection instead of delivering the answer: the write happened, the client never hears so.
    Only the first such request is affected (one lost answer)."""

    def __init__(self, host: str, port: int, trigger: bytes) -> None:
        self._trigger = trigger
        self._armed = True
        self._doomed: set[socket.socket] = set()  # client sockets whose answer is lost
        self.answers_dropped = 0
        super().__init__(host, port)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            from_server = source.getpeername() == self._target
        except OSError:
            from_server = False
        seen = b""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_server and sink in self._doomed:
                    self.answers_dropped += 1
                    break
                if not from_server and self._armed:
                    seen += data
                    if self._trigger in seen:
                        self._armed = False
                        self._doomed.add(source)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._live.discard(source)
                self._live.discard(sink)
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def _credit_limit(limit: str) -> ChangeCreditLimit:
    return ChangeCreditLimit(customer_code="C00001", new_limit=Decimal(limit), reason="lost answer")


def _freight(description: str) -> PostJournalEntry:
    return PostJournalEntry(
        entry_date=date(2026, 11, 20),
        description=description,
        lines=[
            JournalLineSpec(account_code="5.1.03.001", debit=Decimal("75.00")),
            JournalLineSpec(account_code="1.1.01.001", credit=Decimal("75.00")),
        ],
    )


LOST_ANSWERS: dict[str, tuple[Callable[[], Command], str]] = {
    # The claim in the ledger landed, then the answer was lost: nothing else was written yet.
    "claim": (lambda: _order("lost claim answer"), "model.ir.attachment.create"),
    "purchase create": (lambda: _order("lost create answer"), "model.purchase.purchase.create"),
    "purchase confirm": (lambda: _order("lost confirm answer"), "model.purchase.purchase.confirm"),
    "journal entry create": (lambda: _freight("Freight, lost create answer"), "model.account.move.create"),
    "journal entry post": (lambda: _freight("Freight, lost post answer"), "model.account.move.post"),
    "credit limit write": (lambda: _credit_limit("52000"), "model.party.party.write"),
}


@pytest.mark.parametrize("lost", sorted(LOST_ANSWERS))
def test_an_answer_lost_after_a_successful_write_then_a_retry_writes_once(
    tryton_server: TrytonServer, rpc: TrytonRpc, lost: str
) -> None:
    make, trigger = LOST_ANSWERS[lost]
    command, key = make(), "lost-" + lost.replace(" ", "-")
    proxy = AnswerDroppingProxy(HOST, tryton_server.port, trigger.encode())
    try:
        cut_off = TrytonErp(
            TrytonRpc(f"http://{HOST}:{proxy.port}", tryton_server.database, "admin", "admin")
        )
        with pytest.raises(ErpUnavailable) as unavailable:
            cut_off.apply(command, key, fingerprint(command))
        assert "unreachable" in _one_line(unavailable.value)
        assert proxy.answers_dropped == 1
    finally:
        proxy.close()

    retry = TrytonErp(tryton_server.client())  # the direct URL
    try:
        receipt = retry.apply(command, key, fingerprint(command))
        assert receipt.replayed
        assert receipt.idempotency_key == key
        assert retry.receipt_for(key) == receipt
        assert retry.apply(command, key, fingerprint(command)) == receipt
        assert [r.idempotency_key for r in retry.ledger()].count(key) == 1
    finally:
        retry.close()
    if isinstance(command, CreatePurchaseOrder):
        [row] = _keyed(rpc, key)
        assert (row["state"], row["number"]) == ("processing", receipt.document_id)
    elif isinstance(command, PostJournalEntry):
        moves = rpc.search_read("account.move", [("description", "like", f"%[countersign:{key}]")], ["state"])
        assert [m["state"] for m in moves] == ["posted"]
    else:
        [party] = rpc.search_read("party.party", [("code", "=", "C00001")], ["credit_limit_amount"])
        assert party["credit_limit_amount"] == Decimal("52000")


def test_a_draft_left_by_a_lost_answer_has_not_landed_until_a_retry_confirms_it(
    tryton_server: TrytonServer, rpc: TrytonRpc
) -> None:
    command, key = _order("draft left behind"), "lost-draft"
    proxy = AnswerDroppingProxy(HOST, tryton_server.port, b"model.purchase.purchase.create")
    try:
        cut_off = TrytonErp(
            TrytonRpc(f"http://{HOST}:{proxy.port}", tryton_server.database, "admin", "admin")
        )
        with pytest.raises(ErpUnavailable):
            cut_off.apply(command, key, fingerprint(command))
    finally:
        proxy.close()
    [draft] = _keyed(rpc, key)
    assert draft["state"] == "draft"
    retry = TrytonErp(tryton_server.client())
    try:
        assert retry.receipt_for(key) is None
        assert key not in {r.idempotency_key for r in retry.ledger()}
        assert retry.apply(command, key, fingerprint(command)).document_id == _keyed(rpc, key)[0]["number"]
    finally:
        retry.close()


def test_two_concurrent_applies_of_one_key_leave_one_document(
    tryton_server: TrytonServer, rpc: TrytonRpc
) -> None:
    command = _order("race")
    receipts: list[object] = []

    def run() -> None:
        erp = TrytonErp(tryton_server.client())
        try:
            receipts.append(erp.apply(command, "po-race", fingerprint(command)))
        except ErpError as exc:  # pragma: no cover - shown if it happens
            receipts.append(exc)
        finally:
            erp.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(receipts) == 2
    document_ids = {getattr(r, "document_id", repr(r)) for r in receipts}
    [row] = _keyed(rpc, "po-race")
    assert document_ids == {row["number"]}
    assert row["state"] == "processing"
