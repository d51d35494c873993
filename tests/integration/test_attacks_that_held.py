"""Every attack an outside tester with shell access tried on the embedded defaults, kept as a test.

The tester (about 40 attacks) found exactly-once held and every refusal held. This table is the
index: each attack class and the tests that keep it refused. "here" is this module; the process
attacks live in ``tests/e2e/test_attacks_that_held_processes.py`` ("e2e" below).

| attack class | kept refused by |
|---|---|
| approver processes racing on one proposal | e2e ``test_six_approver_processes_racing_on_one_proposal_record_one_decision_and_one_document``; ``tests/e2e/test_cli.py::test_twenty_approvers_in_separate_processes_commit_exactly_one_document``; ``tests/e2e/test_scale_out.py::test_racing_approver_processes_commit_each_proposal_exactly_once_through_several_writers`` (PostgreSQL + RabbitMQ) |
| ``approve`` killed with SIGKILL at every stage, then ``countersign recover`` | e2e ``test_an_approve_process_killed_inside_the_decision_transaction_leaves_the_proposal_pending`` and ``test_an_approve_process_killed_at_each_stage_leaves_one_document_after_recover[<stage>]`` for every stage of ``tests/support/forked_cli.py::STAGES``; ``tests/e2e/test_cli.py::test_a_process_killed_after_the_erp_write_is_finished_by_recover_with_one_document`` |
| ``worker`` killed with SIGKILL at every stage, then restarted | e2e ``test_a_worker_killed_at_each_stage_leaves_one_document_once_a_worker_runs_again[<stage>]``; ``tests/integration/pipeline/test_pipeline.py::test_a_writer_killed_between_the_erp_write_and_the_ack_still_lands_one_document`` (embedded and RabbitMQ); ``tests/e2e/test_scale_out.py::test_a_writer_killed_mid_run_leaves_the_others_to_finish_with_one_document_each`` |
| two workers on one data directory | e2e ``test_two_worker_processes_on_one_data_directory_write_each_approval_once`` |
| the embedded queue's file deleted mid-flight | e2e ``test_the_embedded_queue_file_deleted_mid_flight_doubles_nothing_and_the_write_lands_after_recover[published, result_published]`` |
| a command delivered twice, a broker connection dropped | ``tests/integration/pipeline/test_pipeline.py::test_a_command_delivered_twice_lands_one_document_and_tells_the_run_once``, ``::test_a_writer_whose_broker_connection_drops_mid_stream_loses_and_doubles_nothing`` |
| token replayed | here ``test_a_forged_or_misused_token_is_refused_by_the_installations_gateway_and_writes_nothing[replayed]``; ``tests/unit/tools/test_tokens.py::test_a_token_used_twice_is_refused_as_replayed``, ``::test_a_token_used_through_one_store_is_replayed_through_another_on_the_same_database``, ``::test_racing_threads_consume_one_token_id_exactly_once``; ``tests/integration/test_injection_defence.py::test_a_token_minted_for_one_call_cannot_be_reused_for_another_tool_another_proposal_or_twice`` |
| token with ``alg=none`` | here ``…[alg_none]``; ``tests/unit/tools/test_tokens.py::test_an_unsigned_token_is_refused_as_bad_signature`` |
| token signed with a foreign key | here ``…[foreign_key]``, ``…[foreign_key_read]``; ``tests/unit/tools/test_tokens.py::test_a_token_signed_with_another_key_is_refused_as_bad_signature``, ``::test_a_tampered_token_is_refused_as_bad_signature``, ``::test_a_token_from_another_issuer_is_refused_as_bad_signature`` |
| token for the wrong audience, principal or proposal | here ``…[wrong_audience]``, ``…[wrong_proposal]``; ``tests/unit/tools/test_tokens.py::test_a_token_for_another_tool_is_refused_as_wrong_audience``, ``::test_a_token_for_another_principal_is_refused``, ``::test_a_write_token_for_another_proposal_key_or_fingerprint_is_refused``; ``tests/integration/test_injection_defence.py::test_a_token_minted_for_one_call_cannot_be_reused_for_another_tool_another_proposal_or_twice`` |
| wildcard grants | here ``test_a_wildcard_anywhere_in_a_grant_or_an_identity_id_is_refused_with_one_line``; ``tests/integration/test_policy_and_identity.py::test_a_configuration_granting_too_much_fails_at_start_with_a_clear_message``, ``::test_the_cli_refuses_to_start_on_a_wildcard_grant_with_one_line`` |
| maker = checker on policy changes | here ``test_the_maker_of_a_policy_change_can_neither_approve_nor_reject_it_even_as_a_finance_director``; ``tests/integration/test_policy_and_identity.py::test_moving_an_action_to_automatic_takes_a_second_person_and_then_commits_without_an_inbox`` |
| requester = approver, the agent approving | ``tests/unit/agent/test_policy.py::test_the_requester_may_not_approve_their_own_proposal``; ``tests/integration/test_policy_and_identity.py::test_the_agent_itself_can_never_approve``; ``tests/integration/test_injection_defence.py::test_a_compromised_model_cannot_approve_and_its_proposal_waits_for_a_distinct_human_with_the_right_role`` |
| SQL-ish input in chat | here ``test_sql_ish_and_control_character_chat_is_plain_data_and_corrupts_nothing``; ``tests/unit/planner/test_planner_conversations.py::test_out_of_scope_requests_are_declined_without_tools`` |
| SQL-ish input in tool arguments | here ``test_sql_ish_codes_and_queries_in_tool_arguments_match_nothing_and_say_so_in_one_line``, ``test_sql_ish_free_text_is_written_to_the_erp_exactly_as_typed`` |
| control characters (NUL, ESC sequences, RTL override, line breaks) in tool arguments, reasons and edit values | here ``test_control_characters_in_the_free_text_of_a_proposal_are_refused_in_one_line``, ``test_control_characters_in_a_decision_reason_are_refused_and_nothing_is_decided``, ``test_control_characters_in_a_policy_change_reason_are_refused``, ``test_an_edit_value_that_is_sql_or_control_characters_is_refused_in_one_line_and_nothing_is_decided`` |
| memo injection (instructions planted in ERP text) | ``tests/integration/test_injection_defence.py`` (every test; 20+ payloads, including an RTL override) |
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from agent.approvals import Proposal
from agent.edits import EditError
from agent.service import USER_ERRORS, AgentService, Refused
from erp_acl.commands import parse_command
from erp_acl.errors import ErpError
from tools.gateway import Gateway, Principal, ToolError
from tools.identity import IdentityError, parse_identities
from tools.tokens import InMemoryJtiStore, TokenIssuer, TokenRefused, write_binding

pytestmark = pytest.mark.integration

PO_ARGS: dict[str, Any] = {
    "supplier_code": "F00001",
    "cost_center": "CC300",
    "lines": [{"product_code": "HB-M8-40", "quantity": 40}],
}
SQL_ISH = (
    "'; DROP TABLE proposals; --",
    "x' OR '1'='1",
    "%",
    "_",
    '"; DELETE FROM SC7010 WHERE "1"="1',
    "Robert'); DROP TABLE SA1010;--",
)
CONTROL = {
    "nul": "urgent\x00 order",
    "esc": "urgent \x1b[2J\x1b]0;owned\x07order",
    "rtl_override": "urgent \u202eredro",
    "newline": "urgent\n  approve by erin",
    "carriage_return": "urgent\rapproved",
    "delete": "urgent\x7forder",
}


def file_purchase_order(service: AgentService, **overrides: Any) -> Proposal:
    proposal = service.call_tool("propose_purchase_order", {**PO_ARGS, **overrides}, "alice")
    assert isinstance(proposal, Proposal) and proposal.status == "pending"
    return proposal


def one_line(error: BaseException) -> str:
    message = str(error)
    assert message and "\n" not in message and "\r" not in message, repr(message)
    return message


def ledger_keys(service: AgentService) -> list[str]:
    return [receipt.idempotency_key for receipt in service.erp.ledger()]


def table_counts(database: Path) -> dict[str, int]:
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


# ---- tokens, at the installation's own gateway -----------------------------------------------


def forged_tokens(
    service: AgentService, proposal: Proposal
) -> dict[str, tuple[str, Callable[[str], object]]]:
    """Each attack: (the token it presents, the call it presents it to)."""
    gateway = service.gateway
    agent = Principal(service.agent.id, "alice")
    command = parse_command(proposal.payload)
    audience = Gateway.commit_audience(command.action)
    binding = write_binding(proposal.id, proposal.idempotency_key, proposal.fingerprint)
    foreign = TokenIssuer(SecretStr("another installation's signing key, 48 bytes long!"), InMemoryJtiStore())

    def commit(token: str) -> object:
        return gateway.commit(
            command,
            proposal_id=proposal.id,
            idempotency_key=proposal.idempotency_key,
            fingerprint_=proposal.fingerprint,
            principal=agent,
            token=token,
        )

    def read(token: str) -> object:
        return gateway.read("check_stock", {"product_code": "HB-M8-40"}, agent, token)

    genuine_claims = jwt.decode(gateway.mint(agent, audience, binding), options={"verify_signature": False})
    used = gateway.mint(agent, "check_stock")
    read(used)
    return {
        "foreign_key": (foreign.mint(agent.actor, agent.on_behalf_of, audience, binding), commit),
        "foreign_key_read": (foreign.mint(agent.actor, agent.on_behalf_of, "check_stock"), read),
        "alg_none": (jwt.encode(genuine_claims, None, algorithm="none"), commit),  # type: ignore[arg-type]
        "wrong_audience": (gateway.mint(agent, "check_stock"), commit),
        "wrong_proposal": (
            gateway.mint(
                agent, audience, write_binding("P-other", proposal.idempotency_key, proposal.fingerprint)
            ),
            commit,
        ),
        "replayed": (used, read),
    }


REASONS = {
    "foreign_key": "bad_signature",
    "foreign_key_read": "bad_signature",
    "alg_none": "bad_signature",
    "wrong_audience": "wrong_audience",
    "wrong_proposal": "wrong_binding",
    "replayed": "replayed",
}


@pytest.mark.parametrize("attack", sorted(REASONS))
def test_a_forged_or_misused_token_is_refused_by_the_installations_gateway_and_writes_nothing(
    service: AgentService, attack: str
) -> None:
    proposal = file_purchase_order(service)
    token, call = forged_tokens(service, proposal)[attack]
    refusals_before = len(service.security.recent(kind="token_refused"))

    with pytest.raises(TokenRefused) as refused:
        call(token)

    assert refused.value.reason == REASONS[attack]
    assert one_line(refused.value).startswith("token refused: ")
    assert len(service.security.recent(kind="token_refused")) == refusals_before + 1
    assert ledger_keys(service) == []
    assert service.proposal(proposal.id).status == "pending"


# ---- wildcard grants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grant", "agent_id"),
    [
        ("*", "countersign-agent"),
        ("erp.*", "countersign-agent"),
        ("erp.write.*", "countersign-agent"),
        ("erp.read.*", "countersign-agent"),
        ("erp.write.purchase_order*", "countersign-agent"),
        ("*.write.price", "countersign-agent"),
        ("erp.write.price.*", "countersign-agent"),
        ("erp.read.stock", "*"),
        ("erp.read.stock", "countersign-*"),
    ],
)
def test_a_wildcard_anywhere_in_a_grant_or_an_identity_id_is_refused_with_one_line(
    grant: str, agent_id: str
) -> None:
    text = f'[identities.agent]\nid = "{agent_id}"\ngrants = ["erp.read.products", "{grant}"]\n'

    with pytest.raises(IdentityError) as refused:
        parse_identities(text, "identities.toml", frozenset({"alice", "bob"}))

    assert "wildcard" in one_line(refused.value)


# ---- maker = checker -------------------------------------------------------------------------


def test_the_maker_of_a_policy_change_can_neither_approve_nor_reject_it_even_as_a_finance_director(
    service: AgentService,
) -> None:
    version = service.policy().version
    change = service.propose_policy_change("erin", "change_price", "auto", "prices are always approved")

    for approve, reason in ((True, None), (False, "never mind")):
        with pytest.raises(Refused) as refused:
            service.decide_policy_change(change.id, "erin", approve=approve, reason=reason)
        assert "maker-checker" in one_line(refused.value)
    with pytest.raises(Refused, match="finance_director"):
        service.decide_policy_change(change.id, "bob", approve=True)  # a second person, not a checker

    assert service.policies.get(change.id).status == "pending"
    assert service.policy().version == version
    assert service.policy().settings("change_price").mode == "human"


# ---- SQL-ish and control-character input -------------------------------------------------------


CHAT = (*SQL_ISH, *CONTROL.values(), "order 40 hex bolts M8 from Fastenal'; DROP TABLE SC7010;--")


def test_sql_ish_and_control_character_chat_is_plain_data_and_corrupts_nothing(
    service: AgentService, data_dir: Path
) -> None:
    # One installation for every text (a loop, not parameters: a service each costs more than the chats).
    erp_before = table_counts(data_dir / "legacy_erp.db")

    for text in CHAT:
        result = service.chat("alice", text)

        assert isinstance(result.reply, str) and result.reply, text
        assert all(p.status == "pending" and p.requester == "alice" for p in result.proposals), text
        stored = service.transcript(result.thread_id, "alice")
        assert any(text in str(entry.get("content", "")) for entry in stored), text  # kept as typed

    assert ledger_keys(service) == []
    assert table_counts(data_dir / "legacy_erp.db") == erp_before
    assert service.verify_audit(against_erp=True).ok


def test_sql_ish_codes_and_queries_in_tool_arguments_match_nothing_and_say_so_in_one_line(
    service: AgentService,
) -> None:
    for value in (*SQL_ISH, "C00001' OR '1'='1", "C0000%", *CONTROL.values()):
        for tool, args in (
            ("get_customer", {"customer_code": value}),
            ("get_product", {"product_code": value}),
            ("get_purchase_order", {"order_number": value}),
        ):
            with pytest.raises(USER_ERRORS) as refused:
                service.call_tool(tool, args, "alice")
            assert isinstance(refused.value, ErpError | ToolError), (tool, value)
            one_line(refused.value)
        if not value.strip(" %_'\""):  # nothing but punctuation: not a word to match, not a wildcard
            for tool in ("search_customers", "search_suppliers", "search_products"):
                assert service.call_tool(tool, {"query": value}, "alice") == [], (tool, value)


def test_sql_ish_free_text_is_written_to_the_erp_exactly_as_typed(service: AgentService) -> None:
    memo = "O'Brien's 100% _urgent_ order\"; DROP TABLE SC7010; --"
    proposal = file_purchase_order(service, memo=memo)

    committed = service.decide(proposal.id, "bob", "approve")

    assert committed.status == "committed" and committed.receipt is not None
    order = service.erp.get_purchase_order(committed.receipt["document_id"])
    assert order.memo == memo
    assert len(service.erp.list_purchase_orders(limit=1000)) > 1  # the table is all there


@pytest.mark.parametrize("kind", sorted(CONTROL))
def test_control_characters_in_the_free_text_of_a_proposal_are_refused_in_one_line(
    service: AgentService, kind: str
) -> None:
    text = CONTROL[kind]
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("propose_purchase_order", {**PO_ARGS, "memo": text}),
        (
            "propose_journal_entry",
            {
                "description": text,
                "lines": [
                    {"account_code": "5.1.01.001", "debit": "10.00"},
                    {"account_code": "1.1.01.001", "credit": "10.00"},
                ],
            },
        ),
        ("propose_sales_order_cancellation", {"order_number": "17", "reason": text}),
        ("propose_credit_limit_change", {"customer_code": "C00002", "new_limit": "1000", "reason": text}),
        ("propose_price_change", {"product_code": "HB-M8-40", "new_price": "1.45", "reason": text}),
        ("search_customers", {"query": text}),
        ("get_customer", {"customer_code": f"C00001{text}"}),
    ]
    for tool, args in attempts:
        with pytest.raises((ToolError, Refused)) as refused:
            service.call_tool(tool, args, "alice")
        message = one_line(refused.value)
        assert "control character" in message and "plain text" in message, message
    assert service.proposals() == []


@pytest.mark.parametrize("kind", sorted(CONTROL))
def test_control_characters_in_a_decision_reason_are_refused_and_nothing_is_decided(
    service: AgentService, kind: str
) -> None:
    proposal = file_purchase_order(service)

    with pytest.raises(Refused) as refused:
        service.decide(proposal.id, "bob", "reject", reason=CONTROL[kind])

    assert "plain text" in one_line(refused.value)
    assert service.proposal(proposal.id).status == "pending"
    rejected = service.decide(proposal.id, "bob", "reject", reason=SQL_ISH[0])  # SQL-ish is just text
    assert rejected.approvals[-1].reason == SQL_ISH[0]


def test_control_characters_in_a_policy_change_reason_are_refused(service: AgentService) -> None:
    for text in CONTROL.values():
        with pytest.raises(Refused) as refused:
            service.propose_policy_change("bob", "change_price", "auto", text)
        assert "plain text" in one_line(refused.value)
    assert service.policies.list() == []
    change = service.propose_policy_change("bob", "change_price", "auto", "98% approved; no 'drop' needed")
    with pytest.raises(Refused, match="plain text"):
        service.decide_policy_change(change.id, "erin", approve=False, reason=CONTROL["esc"])
    assert service.policies.get(change.id).status == "pending"


@pytest.mark.parametrize(
    "edits",
    [
        {"quantity": "40'; DROP TABLE proposals; --"},
        {"quantity": "40\x00"},
        {"quantity": "%"},
        {"unit_price": "1.00\x1b[2J"},
        {"memo": CONTROL["esc"]},
        {"memo": CONTROL["newline"]},
        {"memo": CONTROL["rtl_override"]},
        {"supplier_code": "F00001' OR '1'='1"},
    ],
)
def test_an_edit_value_that_is_sql_or_control_characters_is_refused_in_one_line_and_nothing_is_decided(
    service: AgentService, edits: dict[str, str]
) -> None:
    proposal = file_purchase_order(service)

    with pytest.raises(USER_ERRORS) as refused:
        service.decide(proposal.id, "bob", "edit", edits=edits)

    assert isinstance(refused.value, EditError | Refused | ErpError | ToolError), type(refused.value)
    one_line(refused.value)
    after = service.proposal(proposal.id)
    assert (after.status, after.approvals, after.payload) == ("pending", [], proposal.payload)
    assert ledger_keys(service) == []
