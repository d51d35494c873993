"""``TrytonErp`` against a real Tryton 8.2 server: reads as domain objects, exactly-once purchase orders."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from erp_acl.commands import (
    ChangePrice,
    CreatePurchaseOrder,
    PostJournalEntry,
    PurchaseLineSpec,
    fingerprint,
)
from erp_acl.domain import Customer, Product, PurchaseOrderStatus, Supplier, Warehouse
from erp_acl.errors import (
    ErpError,
    ErpUnavailable,
    IdempotencyConflict,
    NotFound,
    StaleProposal,
    ValidationFailed,
)
from erp_acl.tryton.adapter import REFERENCE_PREFIX, TrytonErp, Unsupported
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


# ---- reads -----------------------------------------------------------------------------------------


def test_the_demo_stock_of_hb_m8_40_reads_as_320_in_main_and_150_in_secondary(tryton_erp: TrytonErp) -> None:
    report = tryton_erp.stock_report("hb-m8-40")
    on_hand = {level.warehouse: level.on_hand for level in report.levels}
    assert on_hand == {Warehouse.MAIN: Decimal("320"), Warehouse.SECONDARY: Decimal("150")}
    assert all(level.reserved == 0 and level.available == level.on_hand for level in report.levels)
    assert report.total_available == Decimal("470")
    assert report.description == "Hex bolt M8 x 40 mm zinc plated"


def test_suppliers_and_customers_read_by_code_and_by_name_as_domain_objects(tryton_erp: TrytonErp) -> None:
    fastenal = tryton_erp.get_supplier("f1")
    assert isinstance(fastenal, Supplier)
    assert (fastenal.code, fastenal.name, fastenal.city) == ("F00001", "Fastenal Brasil Ltda", "Sorocaba")
    assert fastenal.email == "vendas@fastenal.com.br"
    assert fastenal.tax_id == "07.526.557/0001-00"
    assert fastenal.version and not fastenal.blocked
    assert [s.code for s in tryton_erp.search_suppliers("fastenal")][:1] == ["F00001"]

    customer = tryton_erp.get_customer("C00001")
    assert isinstance(customer, Customer)
    assert customer.code == "C00001" and customer.name
    assert customer.credit_limit.amount == 0  # no credit limits in this Tryton set-up
    assert [c.code for c in tryton_erp.search_customers(customer.name)][:1] == ["C00001"]
    # Parties are told apart by category: a supplier is no customer, and the reverse.
    with pytest.raises(NotFound):
        tryton_erp.get_customer("F00001")
    with pytest.raises(NotFound) as missing:
        tryton_erp.get_supplier("F09999")
    assert _one_line(missing.value) == "supplier F09999 does not exist"


def test_products_carry_the_template_list_price_the_cost_and_the_unit(tryton_erp: TrytonErp) -> None:
    bolt = tryton_erp.get_product("HB-M8-40")
    assert isinstance(bolt, Product)
    assert bolt.list_price.amount == Decimal("1.40")
    assert bolt.standard_cost.amount == Decimal("0.85")
    assert bolt.unit == "U"
    assert bolt.reorder_point == 0
    assert [p.code for p in tryton_erp.search_products("hex bolt m8")][:1] == ["HB-M8-40"]
    with pytest.raises(NotFound):
        tryton_erp.get_product("NO-SUCH")


def test_versions_are_content_digests_and_missing_or_unsupported_records_are_missing(
    tryton_erp: TrytonErp, rpc: TrytonRpc
) -> None:
    refs = ["supplier:F00001", "product:HB-M8-40", "product:NO-SUCH", "budget:CC300/2026"]
    before = tryton_erp.record_versions(refs)
    assert before["supplier:F00001"] == tryton_erp.get_supplier("F00001").version
    assert before["product:NO-SUCH"] == before["budget:CC300/2026"] == "missing"
    # Someone edits the product in Tryton: its version changes, the supplier's does not.
    [template] = rpc.search("product.template", [("code", "=", "HB-M8-40")])
    rpc.write("product.template", [template], {"list_price": Decimal("1.45")})
    try:
        after = tryton_erp.record_versions(refs)
        assert after["product:HB-M8-40"] != before["product:HB-M8-40"]
        assert after["supplier:F00001"] == before["supplier:F00001"]
    finally:
        rpc.write("product.template", [template], {"list_price": Decimal("1.40")})
    assert tryton_erp.record_versions(refs) == before


def test_accounts_are_found_by_code_and_name_with_a_balance(tryton_erp: TrytonErp) -> None:
    [cash] = [a for a in tryton_erp.search_accounts("cash and cash equivalents") if a.code == "1.1.1"]
    assert cash.postable and not cash.blocked
    balance = tryton_erp.account_balance("1.1.1", date(2026, 11, 21))
    assert balance.account == cash
    assert balance.balance.amount == balance.debits.amount - balance.credits.amount
    with pytest.raises(NotFound):
        tryton_erp.account_balance("9.9.9")


def test_without_sales_orders_the_lists_are_empty_and_a_lookup_is_not_found(tryton_erp: TrytonErp) -> None:
    assert tryton_erp.list_sales_orders() == []
    assert tryton_erp.list_sales_orders(customer_code="C00001") == []
    with pytest.raises(NotFound) as missing:
        tryton_erp.get_sales_order("123")
    assert _one_line(missing.value) == "sales order 000123 does not exist"


def test_what_this_tryton_lacks_is_refused_in_one_line(tryton_erp: TrytonErp) -> None:
    refusals: list[Callable[[], object]] = [
        lambda: tryton_erp.list_budgets(2026),
        lambda: tryton_erp.get_budget("CC300", 2026),
        lambda: tryton_erp.list_supplier_invoices(),
        lambda: tryton_erp.get_supplier_invoice("1"),
        lambda: tryton_erp.check(ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.50"))),
        lambda: tryton_erp.apply(
            PostJournalEntry(
                entry_date=date(2026, 11, 21),
                description="x",
                lines=[
                    {"account_code": "1.1.1", "debit": Decimal("1")},
                    {"account_code": "2.1.1", "credit": Decimal("1")},
                ],
            ),
            "journal-1",
            "f",
        ),
    ]
    for refuse in refusals:
        with pytest.raises(Unsupported) as refused:
            refuse()
        assert isinstance(refused.value, ErpError)
        assert "Tryton" in _one_line(refused.value)
    # No business events are watched in Tryton: nothing starts, nothing is pending.
    assert tryton_erp.scan_events(datetime.now(UTC)) == []
    assert tryton_erp.unpublished_events() == []
    tryton_erp.mark_events_published([])
    with pytest.raises(NotFound):
        tryton_erp.mark_events_published(["stock:HB-M8-40:1"])


# ---- writes ----------------------------------------------------------------------------------------


def test_a_purchase_order_lands_in_processing_with_its_key_and_receipt_for_finds_it(
    tryton_erp: TrytonErp, rpc: TrytonRpc
) -> None:
    command = _order("first order")
    tryton_erp.check(command)
    started = time.perf_counter()
    receipt = tryton_erp.apply(command, "po-lands-1", fingerprint(command))
    elapsed = time.perf_counter() - started
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
    assert tryton_erp.list_purchase_orders(status=PurchaseOrderStatus.CANCELLED) == []
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
    assert elapsed < 30


def test_the_same_key_twice_returns_the_same_receipt_and_one_document(
    tryton_erp: TrytonErp, rpc: TrytonRpc
) -> None:
    command = _order("twice")
    first = tryton_erp.apply(command, "po-twice", fingerprint(command))
    again = tryton_erp.apply(command, "po-twice", fingerprint(command))
    assert again.replayed
    assert again == first.model_copy(update={"replayed": True})
    assert len(_keyed(rpc, "po-twice")) == 1


def test_the_same_key_with_another_payload_is_an_idempotency_conflict(
    tryton_erp: TrytonErp, rpc: TrytonRpc
) -> None:
    command = _order("conflict")
    tryton_erp.apply(command, "po-conflict", fingerprint(command))
    other = _order("conflict", quantity="7")
    with pytest.raises(IdempotencyConflict) as conflict:
        tryton_erp.apply(other, "po-conflict", fingerprint(other))
    assert "po-conflict" in _one_line(conflict.value)
    assert len(_keyed(rpc, "po-conflict")) == 1


def test_a_stale_or_invalid_proposal_writes_nothing(tryton_erp: TrytonErp, rpc: TrytonRpc) -> None:
    stale = _order("stale", based_on={"supplier:F00001": "0000000000000000"})
    with pytest.raises(StaleProposal) as refused:
        tryton_erp.apply(stale, "po-stale", fingerprint(stale))
    assert "supplier:F00001" in _one_line(refused.value)
    fresh = _order("fresh", based_on=tryton_erp.record_versions(["supplier:F00001", "product:HB-M8-40"]))
    tryton_erp.apply(fresh, "po-fresh", fingerprint(fresh))

    invalid = _order(
        "invalid",
        supplier_code="F09999",
        lines=[PurchaseLineSpec(product_code="NO-SUCH", quantity=Decimal("1"))],
    )
    with pytest.raises(ValidationFailed) as failed:
        tryton_erp.apply(invalid, "po-invalid", fingerprint(invalid))
    assert failed.value.problems == ["supplier F09999 does not exist", "product NO-SUCH does not exist"]
    assert _keyed(rpc, "po-stale") == [] and _keyed(rpc, "po-invalid") == []
    assert len(_keyed(rpc, "po-fresh")) == 1


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


@pytest.mark.parametrize("lost", ["create", "confirm"])
def test_an_answer_lost_after_a_successful_write_then_a_retry_yields_one_document(
    tryton_server: TrytonServer, rpc: TrytonRpc, lost: str
) -> None:
    key = f"po-lost-{lost}"
    command = _order(f"lost {lost} answer")
    proxy = AnswerDroppingProxy(HOST, tryton_server.port, f"model.purchase.purchase.{lost}".encode())
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
    # The write happened although the client never heard of it: the document carries the key.
    [landed] = _keyed(rpc, key)
    assert landed["state"] in (("draft",) if lost == "create" else ("confirmed", "processing"))

    retry = TrytonErp(tryton_server.client())  # the direct URL
    try:
        if lost == "create":  # an unconfirmed draft has not landed yet
            assert retry.receipt_for(key) is None
        receipt = retry.apply(command, key, fingerprint(command))
        assert receipt.replayed
        assert receipt.idempotency_key == key
        [row] = _keyed(rpc, key)
        assert row["state"] == "processing"
        assert row["number"] == receipt.document_id
        assert retry.receipt_for(key) == receipt
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
