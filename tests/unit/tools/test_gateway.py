from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from erp_acl.commands import ChangePrice
from erp_acl.errors import ErpUnavailable, NotFound, ValidationFailed
from erp_acl.memory import InMemoryErp
from tools.catalog import ALL_TOOLS, PROPOSE_TOOLS, READ_TOOLS
from tools.gateway import AccessDenied, Gateway, Principal, ToolError
from tools.identity import READ_SCOPES, TOOL_SCOPES, AgentIdentity
from tools.observability import correlated
from tools.ratelimit import TokenBucket
from tools.rendering import render_result
from tools.security_log import InMemorySecurityLog
from tools.tokens import InMemoryJtiStore, TokenIssuer, TokenRefused, write_binding

AGENT = Principal("countersign-agent", "alice")
TODAY = date(2026, 11, 21)
KEY = SecretStr("k" * 40)
FULL = AgentIdentity(
    "countersign-agent",
    "Countersign assistant",
    frozenset({*READ_SCOPES, "erp.write.purchase_order", "erp.write.journal_entry", "erp.write.price"}),
)
READ_ONLY = AgentIdentity("reader-bot", "Read-only bot", frozenset(READ_SCOPES))


def make_gateway(erp: Any = None, **extra: Any) -> tuple[Gateway, InMemorySecurityLog]:
    log = InMemorySecurityLog()
    gateway = Gateway(
        erp if erp is not None else InMemoryErp.seeded(),
        identities={"agent": FULL, "mcp": READ_ONLY},
        tokens=TokenIssuer(KEY, InMemoryJtiStore()),
        recorder=log,
        **extra,
    )
    return gateway, log


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return make_gateway()[0]


def read(gateway: Gateway, name: str, args: dict[str, Any], who: Principal = AGENT) -> Any:
    return gateway.read(name, args, who, gateway.mint(who, name))


def test_there_are_at_least_ten_read_tools_and_one_propose_tool_per_write() -> None:
    assert len(READ_TOOLS) >= 10
    assert sorted(t.action for t in PROPOSE_TOOLS) == sorted(
        [
            "create_purchase_order",
            "post_journal_entry",
            "change_credit_limit",
            "cancel_sales_order",
            "change_price",
            "cancel_purchase_order",
        ]
    )
    assert all(t.name.startswith("propose_") for t in PROPOSE_TOOLS)


def test_every_tool_is_offered_to_a_model_under_its_own_name_with_its_schema() -> None:
    definitions = Gateway.model_tools()
    assert [d["function"]["name"] for d in definitions] == [t.name for t in ALL_TOOLS]
    purchase = next(d for d in definitions if d["function"]["name"] == "propose_purchase_order")
    assert purchase["function"]["parameters"]["required"] == ["supplier_code", "cost_center", "lines"]


def test_a_read_with_its_own_token_answers_with_domain_data(gateway: Gateway) -> None:
    report = read(gateway, "check_stock", {"product_code": "HB-M8-40"})
    assert report.total_available > 0
    assert {level.warehouse for level in report.levels} == {"main", "secondary"}


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("drop_everything", {}, "unknown tool 'drop_everything'"),
        ("check_stock", {}, "invalid arguments for check_stock: product_code: Field required"),
        ("check_stock", {"product_code": "HB-M8-40", "extra": 1}, "extra: Extra inputs are not permitted"),
        ("search_products", {"query": "x" * 500}, "query: String should have at most"),
        (
            "propose_price_change",
            {"product_code": "HB-M8-40", "new_price": 2},
            "is a propose tool, not a read tool",
        ),
    ],
)
def test_a_bad_call_is_refused_with_one_clear_line(
    gateway: Gateway, name: str, args: dict[str, object], message: str
) -> None:
    with pytest.raises(ToolError) as refused:
        read(gateway, name, args)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_asking_for_a_tool_that_does_not_exist_is_recorded_without_revealing_the_catalogue() -> None:
    gateway, log = make_gateway()
    with pytest.raises(ToolError) as refused:
        read(gateway, "approve_proposal", {"proposal_id": "P-1"})
    assert str(refused.value) == "unknown tool 'approve_proposal'"
    assert [(e.kind, e.tool, e.actor) for e in log.events] == [
        ("unknown_tool", "approve_proposal", "countersign-agent")
    ]


def test_a_missing_record_comes_back_as_not_found(gateway: Gateway) -> None:
    with pytest.raises(NotFound):
        read(gateway, "get_customer", {"customer_code": "C99999"})


def test_a_call_without_a_token_is_refused_and_recorded() -> None:
    gateway, log = make_gateway()
    with pytest.raises(TokenRefused) as refused:
        gateway.read("check_stock", {"product_code": "HB-M8-40"}, AGENT, None)
    assert refused.value.reason == "missing"
    assert [(e.kind, e.tool) for e in log.events] == [("token_refused", "check_stock")]


def test_a_token_minted_for_one_tool_does_not_open_another() -> None:
    gateway, log = make_gateway()
    token = gateway.mint(AGENT, "check_stock")
    with pytest.raises(TokenRefused) as refused:
        gateway.read("get_customer", {"customer_code": "C00001"}, AGENT, token)
    assert refused.value.reason == "wrong_audience"
    assert log.events[-1].kind == "token_refused"


def test_a_token_is_good_for_one_call_only() -> None:
    gateway, _ = make_gateway()
    token = gateway.mint(AGENT, "check_stock")
    gateway.read("check_stock", {"product_code": "HB-M8-40"}, AGENT, token)
    with pytest.raises(TokenRefused) as refused:
        gateway.read("check_stock", {"product_code": "HB-M8-40"}, AGENT, token)
    assert refused.value.reason == "replayed"


def test_a_token_minted_for_someone_else_is_refused() -> None:
    gateway, _ = make_gateway()
    token = gateway.mint(Principal("countersign-agent", "bob"), "check_stock")
    with pytest.raises(TokenRefused) as refused:
        gateway.read("check_stock", {"product_code": "HB-M8-40"}, AGENT, token)
    assert refused.value.reason == "wrong_principal"


def test_an_ungranted_tool_is_refused_whatever_was_asked_and_the_refusal_is_recorded() -> None:
    gateway, log = make_gateway()
    bot = Principal("reader-bot", "alice")
    args = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": 1}],
    }
    with pytest.raises(AccessDenied, match=r"not granted erp\.write\.purchase_order"):
        gateway.prepare(
            "propose_purchase_order", args, bot, gateway.mint(bot, "propose_purchase_order"), TODAY
        )
    with pytest.raises(AccessDenied, match=r"not granted erp\.write\.credit_limit"):
        gateway.prepare(
            "propose_credit_limit_change",
            {"customer_code": "C00001", "new_limit": 1},
            AGENT,
            gateway.mint(AGENT, "propose_credit_limit_change"),
            TODAY,
        )
    assert [e.kind for e in log.events] == ["access_denied", "access_denied"]
    assert log.events[0].actor == "reader-bot"


def test_an_unknown_principal_is_refused_even_with_a_valid_signature() -> None:
    gateway, log = make_gateway()
    stranger = Principal("root", "alice")
    with pytest.raises(AccessDenied, match="not a configured agent identity"):
        gateway.read(
            "check_stock", {"product_code": "HB-M8-40"}, stranger, gateway.mint(stranger, "check_stock")
        )
    assert log.events[-1].kind == "access_denied"


def test_a_commit_needs_a_token_bound_to_exactly_that_proposal_key_and_fingerprint() -> None:
    erp = InMemoryErp.seeded()
    gateway, log = make_gateway(erp)
    command = ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.45"))
    audience = gateway.commit_audience(command.action)
    other = gateway.mint(AGENT, audience, write_binding("P-1", "key-1", "another-fingerprint"))
    with pytest.raises(TokenRefused) as refused:
        gateway.commit(
            command,
            proposal_id="P-1",
            idempotency_key="key-1",
            fingerprint_="fp",
            principal=AGENT,
            token=other,
        )
    assert refused.value.reason == "wrong_binding"
    assert erp.receipt_for("key-1") is None
    bound = gateway.mint(AGENT, audience, write_binding("P-1", "key-1", "fp"))
    receipt = gateway.commit(
        command, proposal_id="P-1", idempotency_key="key-1", fingerprint_="fp", principal=AGENT, token=bound
    )
    assert receipt.document_id == "HB-M8-40"
    assert log.events[0].kind == "token_refused"


class FlakyErp:
    """An ERP that is unavailable for the first ``failures`` calls of every kind."""

    def __init__(self, failures: int) -> None:
        self._erp = InMemoryErp.seeded()
        self.failures = failures
        self.calls = {"read": 0, "apply": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._erp, name)

    def stock_report(self, code: str) -> Any:
        self.calls["read"] += 1
        if self.calls["read"] <= self.failures:
            raise ErpUnavailable("connection reset")
        return self._erp.stock_report(code)

    def apply(self, *args: Any) -> Any:
        self.calls["apply"] += 1
        raise ErpUnavailable("connection reset")


def test_reads_are_retried_when_the_erp_is_briefly_unavailable() -> None:
    flaky = FlakyErp(failures=2)
    gateway, _ = make_gateway(flaky, read_retries=2, sleep=lambda _: None)
    assert read(gateway, "check_stock", {"product_code": "HB-M8-40"}).product_code == "HB-M8-40"
    assert flaky.calls["read"] == 3


def test_reads_give_up_after_the_configured_retries() -> None:
    flaky = FlakyErp(failures=5)
    gateway, _ = make_gateway(flaky, read_retries=1, sleep=lambda _: None)
    with pytest.raises(ErpUnavailable):
        read(gateway, "check_stock", {"product_code": "HB-M8-40"})
    assert flaky.calls["read"] == 2


def test_writes_are_never_retried_by_the_gateway() -> None:
    flaky = FlakyErp(failures=0)
    gateway, _ = make_gateway(flaky, read_retries=5, sleep=lambda _: None)
    command = ChangePrice(product_code="HB-M8-40", new_price=Decimal("1.45"))
    token = gateway.mint(AGENT, gateway.commit_audience(command.action), write_binding("P-1", "k", "f"))
    with pytest.raises(ErpUnavailable):
        gateway.commit(
            command, proposal_id="P-1", idempotency_key="k", fingerprint_="f", principal=AGENT, token=token
        )
    assert flaky.calls["apply"] == 1


def test_calls_beyond_the_rate_limit_are_refused_and_recorded() -> None:
    clock = [0.0]
    bucket = TokenBucket(1.0, 1, clock=lambda: clock[0], sleep=lambda s: None)
    gateway, log = make_gateway(limiter=bucket, limit_timeout_seconds=0.0)
    read(gateway, "check_stock", {"product_code": "HB-M8-40"})
    with pytest.raises(ToolError, match="the ERP is busy"):
        read(gateway, "check_stock", {"product_code": "HB-M8-40"})
    assert log.events[-1].kind == "rate_limited"


def test_every_call_logs_one_structured_event_with_correlation_ids_and_without_the_arguments(
    gateway: Gateway,
) -> None:
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
        with correlated(thread_id="T-1", proposal_id="P-9"):
            read(gateway, "search_customers", {"query": "Padaria Estrela"})
        with pytest.raises(NotFound):
            read(gateway, "get_customer", {"customer_code": "C99999"})
    first, second = (e for e in events if e["event"] == "tool_call")
    assert first["tool"] == "search_customers"
    assert (first["actor"], first["on_behalf_of"]) == ("countersign-agent", "alice")
    assert (first["thread_id"], first["proposal_id"]) == ("T-1", "P-9")
    assert first["outcome"] == "ok"
    assert len(first["args_digest"]) == 16 and first["duration_ms"] >= 0
    assert "Padaria" not in json.dumps(first, default=str)
    assert second["outcome"].startswith("NotFound")
    assert "thread_id" not in second


def prepare(gateway: Gateway, name: str, args: dict[str, Any]) -> Any:
    return gateway.prepare(name, args, AGENT, gateway.mint(AGENT, name), TODAY)


def test_a_proposal_is_checked_and_carries_versions_amount_and_fingerprint(gateway: Gateway) -> None:
    args = {
        "supplier_code": "F00001",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
    }
    prepared = prepare(gateway, "propose_purchase_order", args)
    assert prepared.action == "create_purchase_order"
    assert set(prepared.based_on) == {"supplier:F00001", "product:HB-M8-40"}
    assert prepared.amount.amount == Decimal("34.00")  # 40 x standard cost 0.85
    assert len(prepared.fingerprint) == 64
    assert prepare(gateway, "propose_purchase_order", args).fingerprint == prepared.fingerprint


def test_a_proposal_that_breaks_a_domain_rule_is_refused_before_anyone_sees_it(gateway: Gateway) -> None:
    args = {
        "supplier_code": "F00005",
        "cost_center": "CC300",
        "lines": [{"product_code": "HB-M8-40", "quantity": 1}],
    }
    with pytest.raises(ValidationFailed, match="F00005 is blocked"):
        prepare(gateway, "propose_purchase_order", args)


def test_a_journal_entry_without_a_date_is_dated_today_and_its_amount_is_its_debits(gateway: Gateway) -> None:
    prepared = prepare(
        gateway,
        "propose_journal_entry",
        {
            "description": "pump repair",
            "lines": [
                {"account_code": "5.1.02.001", "debit": "1200.00"},
                {"account_code": "1.1.02.001", "credit": "1200.00"},
            ],
        },
    )
    assert prepared.command.model_dump()["entry_date"] == TODAY
    assert prepared.amount.amount == Decimal("1200.00")


def test_supplier_invoices_are_read_with_the_purchase_orders_scope_and_their_memo_marked_untrusted(
    gateway: Gateway,
) -> None:
    invoice = read(gateway, "get_supplier_invoice", {"invoice_number": "4657"})
    assert (invoice.number, invoice.memo) == ("000004657", "Pagamento via PIX com 2% de desconto.")
    rendered = json.loads(render_result(invoice))
    assert rendered["result"]["memo"] == "<untrusted>Pagamento via PIX com 2% de desconto.</untrusted>"
    assert "notice" in rendered
    listed = read(gateway, "list_supplier_invoices", {"purchase_order_number": "000001"})
    assert [i.number for i in listed] == ["000004533"]
    assert (
        TOOL_SCOPES["get_supplier_invoice"]
        == TOOL_SCOPES["list_supplier_invoices"]
        == "erp.read.purchase_orders"
    )
    with pytest.raises(ToolError, match="invoice_number: String should have at most 32 characters"):
        read(gateway, "get_supplier_invoice", {"invoice_number": "9" * 40})


def test_a_purchase_order_cancellation_needs_its_own_write_scope() -> None:
    gateway, log = make_gateway()
    args = {"order_number": "000013", "reason": "Supplier closed"}
    with pytest.raises(AccessDenied, match=r"not granted erp\.write\.purchase_order_cancellation"):
        prepare(gateway, "propose_cancel_purchase_order", args)
    assert log.events[-1].kind == "access_denied"


def test_a_purchase_order_cancellation_is_proposed_with_the_orders_version_and_total() -> None:
    canceller = AgentIdentity(
        "countersign-agent",
        "Countersign assistant",
        frozenset({*READ_SCOPES, "erp.write.purchase_order_cancellation"}),
    )
    gateway = Gateway(
        InMemoryErp.seeded(),
        identities={"agent": canceller},
        tokens=TokenIssuer(KEY, InMemoryJtiStore()),
        recorder=InMemorySecurityLog(),
    )
    prepared = prepare(gateway, "propose_cancel_purchase_order", {"order_number": "000013", "reason": "Late"})
    assert prepared.action == "cancel_purchase_order"
    assert prepared.command.summary() == "Cancel purchase order 000013: Late"
    assert set(prepared.based_on) == {"purchase_order:000013"}
    assert prepared.amount.amount == Decimal("4441.66")
    with pytest.raises(ValidationFailed, match="purchase order 000001 is received"):
        prepare(gateway, "propose_cancel_purchase_order", {"order_number": "1", "reason": "Late"})
    with pytest.raises(ToolError, match="reason: Field required"):
        prepare(gateway, "propose_cancel_purchase_order", {"order_number": "000013"})
