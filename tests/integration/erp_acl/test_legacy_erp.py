"""The bundled legacy ERP itself: its 2011-style storage, its seeding, and writers in other processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.exc import OperationalError

from erp_acl.commands import (
    CancelPurchaseOrder,
    ChangeCreditLimit,
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
    fingerprint,
    parse_command,
)
from erp_acl.errors import ErpError, ErpUnavailable, NotFound, StaleProposal
from erp_acl.landing import divergence, read_record
from erp_acl.legacy import translate as tr
from erp_acl.legacy.adapter import LegacyErp, legacy_engine
from erp_acl.legacy.schema import CT1
from erp_acl.legacy.seed import erp_has_data, seed_legacy_erp
from erp_acl.memory import InMemoryErp
from erp_acl.seed_data import TODAY, generate
from tests.integration.erp_acl.conftest import pinned_today

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)

COMMAND = CreatePurchaseOrder(
    supplier_code="F00001",
    cost_center="CC300",
    lines=[PurchaseLineSpec(product_code="HB-M8-40", quantity=Decimal(1000))],
)


@pytest.fixture
def raw(legacy_path: Path) -> Iterator[sqlite3.Connection]:
    """Plain SQL on the ERP file, the way a person with a database tool sees it."""
    connection = sqlite3.connect(legacy_path)
    yield connection
    connection.close()


def test_the_database_uses_legacy_names_and_formats(legacy_erp: LegacyErp, raw: sqlite3.Connection) -> None:
    assert raw.execute(
        "SELECT A1_COD, A1_LOJA, A1_LC, A1_MSBLQL FROM SA1010 WHERE A1_COD = 'C00001' AND D_E_L_E_T_ <> '*'"
    ).fetchall() == [("C00001", "01", 5_000_000, "2")]
    assert raw.execute(
        "SELECT B1_COD, B1_PRV1, B1_CUSTD FROM SB1010 WHERE B1_COD LIKE 'HB-M8-40%'"
    ).fetchall()[0] == (
        "HB-M8-40       ",
        "1.40",
        "0.85",
    )
    assert raw.execute("SELECT C5_EMISSAO, C5_XSTATUS FROM SC5010 WHERE C5_NUM = '000004'").fetchone() == (
        "20260105",
        "F",
    )
    assert raw.execute("SELECT CT1_CLASSE FROM CT1010 WHERE CT1_CONTA LIKE '1101001 %'").fetchone() == ("2",)
    tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "SA1010",
        "SA2010",
        "SB1010",
        "SB2010",
        "SC5010",
        "SC6010",
        "SC7010",
        "CTT010",
        "ZB1010",
    } <= tables
    assert {"CT1010", "CT2010", "ZSQ010", "ZCS010", "SF1010", "SD1010", "ZEV010"} <= tables


def test_soft_deleted_rows_are_there_but_never_read(legacy_erp: LegacyErp, raw: sqlite3.Connection) -> None:
    deleted = raw.execute("SELECT COUNT(*) FROM SA1010 WHERE D_E_L_E_T_ = '*'").fetchone()
    assert deleted is not None and deleted[0] >= 2
    assert raw.execute("SELECT COUNT(*) FROM SA1010 WHERE A1_COD = 'C99999'").fetchone() == (1,)
    with pytest.raises(NotFound):
        legacy_erp.get_customer("C99999")
    assert legacy_erp.get_customer("C00001").credit_limit.amount == Decimal("50000.00")
    assert legacy_erp.get_product("HB-M8-40").list_price.amount == Decimal("1.40")
    assert legacy_erp.stock_report("HB-M8-40").levels[0].on_hand == Decimal(320)
    assert len(legacy_erp.get_sales_order("000001").lines) == 2
    assert legacy_erp.get_sales_order("000001").status.value == "open"
    assert len(legacy_erp.get_purchase_order("000001").lines) == 2
    assert legacy_erp.get_budget("CC300").annual.amount == 480_000
    assert not legacy_erp.search_accounts("cash old")
    assert legacy_erp.journal_entry("000001").description == "Opening balances 2026"
    assert not legacy_erp.get_supplier("F00001").blocked


def test_a_purchase_order_is_stored_as_item_rows_carrying_the_key(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    receipt = legacy_erp.apply(COMMAND, "prop-42", fingerprint(COMMAND))
    rows = raw.execute(
        "SELECT C7_ITEM, C7_FORNECE, C7_CC, C7_XSTATUS, C7_EMISSAO, C7_XREF, C7_QUANT, C7_PRECO, C7_TOTAL "
        "FROM SC7010 WHERE C7_NUM = ? ORDER BY C7_ITEM",
        (receipt.document_id,),
    ).fetchall()
    assert rows == [("0001", "F00001", "CC300    ", "A", "20261121", "prop-42", 1000.0, "0.85", "850.00")]
    assert raw.execute("SELECT ZSQ_ULTIMO FROM ZSQ010 WHERE ZSQ_CHAVE LIKE 'SC7%'").fetchone() == (301,)
    assert raw.execute(
        "SELECT ZB1_EMPEN FROM ZB1010 WHERE ZB1_CC LIKE 'CC300%' AND ZB1_ANO = '2026' AND D_E_L_E_T_ <> '*'"
    ).fetchone() == (8_975_000 + 85_000,)


def test_the_ledger_row_holds_key_fingerprint_command_and_receipt(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    receipt = legacy_erp.apply(COMMAND, "prop-43", fingerprint(COMMAND))
    row = raw.execute(
        "SELECT ZCS_HASH, ZCS_ACAO, ZCS_COMANDO, ZCS_RECIBO FROM ZCS010 WHERE ZCS_CHAVE = 'prop-43'"
    )
    found = row.fetchone()
    assert found is not None
    assert found[:2] == (fingerprint(COMMAND), "create_purchase_order")
    assert parse_command(json.loads(found[2])) == COMMAND
    assert json.loads(found[3])["document_id"] == receipt.document_id


def test_a_journal_entry_is_stored_with_the_key_in_its_reference(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    command = PostJournalEntry(
        entry_date=TODAY,
        description="Freight",
        lines=[
            JournalLineSpec(account_code="5.1.03.001", debit=Decimal("80")),
            JournalLineSpec(account_code="2.1.01.001", credit=Decimal("80")),
        ],
    )
    receipt = legacy_erp.apply(command, "prop-44", fingerprint(command))
    assert raw.execute(
        "SELECT CT2_LOTE, CT2_DC, CT2_DEBITO, CT2_CREDIT, CT2_VALOR, CT2_XREF FROM CT2010 WHERE CT2_DOC = ?",
        (receipt.document_id,),
    ).fetchall() == [
        (tr.COUNTERSIGN_BATCH, "3", "5103001".ljust(20), "2101001".ljust(20), "80.00", "prop-44")
    ]
    assert legacy_erp.journal_entry(receipt.document_id).reference == "prop-44"


def test_supplier_invoices_are_a_header_and_items_in_the_fiscal_books_style(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    assert raw.execute(
        "SELECT F1_DOC, F1_SERIE, F1_FORNECE, F1_EMISSAO, F1_XPEDIDO, F1_VALBRUT FROM SF1010 "
        "WHERE F1_DOC = '000004533' AND D_E_L_E_T_ <> '*'"
    ).fetchall() == [("000004533", "1  ", "F00001", "20260113", "000001", 188_000)]
    assert raw.execute(
        "SELECT D1_ITEM, D1_QUANT, D1_VUNIT, D1_PEDIDO FROM SD1010 "
        "WHERE D1_DOC = '000004533' AND D_E_L_E_T_ <> '*' ORDER BY D1_ITEM"
    ).fetchall() == [("0001", 2000.0, "0.83", "000001"), ("0002", 2000.0, "0.11", "000001")]
    # A deleted re-keying of that invoice, with a wrong price on a third item, is never read.
    assert raw.execute("SELECT COUNT(*) FROM SD1010 WHERE D1_DOC = '000004533'").fetchone() == (3,)
    assert len(legacy_erp.get_supplier_invoice("4533").lines) == 2
    assert "000004533" not in {e.subject for e in legacy_erp.scan_events(NOW)}


def test_a_cancelled_purchase_order_is_c_on_every_item_with_the_reason_and_its_budget_released(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    committed = (
        "SELECT ZB1_EMPEN FROM ZB1010 WHERE ZB1_CC LIKE 'CC300%' AND ZB1_ANO = '2026' AND D_E_L_E_T_ <> '*'"
    )
    before = raw.execute(committed).fetchone()
    command = CancelPurchaseOrder(order_number="13", reason="Supplier closed for the year")
    legacy_erp.apply(command, "prop-cx", fingerprint(command))
    items = raw.execute(
        "SELECT C7_XSTATUS, C7_XMOTCAN FROM SC7010 WHERE C7_NUM = '000013' AND D_E_L_E_T_ <> '*'"
    ).fetchall()
    assert len(items) == len(legacy_erp.get_purchase_order("13").lines) >= 1
    assert set(items) == {("C", "Supplier closed for the year")}
    assert before is not None
    assert raw.execute(committed).fetchone() == (before[0] - 444_166,)


def test_alerts_are_rows_of_the_erps_alert_table_opened_closed_and_stamped_published(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    alert = "SELECT ZEV_TIPO, ZEV_STATUS, ZEV_OCORR, ZEV_ENCERR <> '', ZEV_ENVIADO <> '' FROM ZEV010 "
    alert += "WHERE ZEV_CHAVE = '000292         ' ORDER BY ZEV_OCORR"
    [first] = [e for e in legacy_erp.scan_events(NOW) if e.subject == "000292"]
    assert raw.execute(alert).fetchall() == [("CRD", "A", 1, 0, 0)]
    legacy_erp.mark_events_published([first.event_id])
    raise_limit = ChangeCreditLimit(customer_code="C00151", new_limit=Decimal("8000"))
    legacy_erp.apply(raise_limit, "limit-up", fingerprint(raise_limit))
    legacy_erp.scan_events(NOW + timedelta(hours=1))
    assert raw.execute(alert).fetchall() == [("CRD", "F", 1, 1, 1)]
    lower_limit = ChangeCreditLimit(customer_code="C00151", new_limit=Decimal("6000"))
    legacy_erp.apply(lower_limit, "limit-down", fingerprint(lower_limit))
    legacy_erp.scan_events(NOW + timedelta(hours=2))
    assert raw.execute(alert).fetchall() == [("CRD", "F", 1, 1, 1), ("CRD", "A", 2, 0, 0)]


def test_a_product_blocked_in_the_erp_raises_no_stock_alert(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    raw.execute("UPDATE SB1010 SET B1_MSBLQL = '1' WHERE B1_COD = 'P00076         '")
    raw.commit()
    assert legacy_erp.stock_report("P00076").below_reorder_point
    subjects = {e.subject for e in legacy_erp.scan_events(NOW)}
    assert "P00076" not in subjects
    assert "HB-M8-40" in subjects


def test_a_goods_issue_lowers_the_on_hand_quantity_of_the_first_stock_row(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    report = legacy_erp.record_stock_issue("HB-M8-40", 20)
    assert report.total_available == Decimal(450)
    assert raw.execute(
        "SELECT B2_LOCAL, B2_QATU FROM SB2010 WHERE B2_COD = 'HB-M8-40       ' AND D_E_L_E_T_ <> '*' "
        "ORDER BY B2_LOCAL"
    ).fetchall() == [("01", 300.0), ("02", 150.0)]


def test_a_change_made_directly_in_the_erp_makes_a_proposal_stale(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    command = ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("60000"))
    proposed = command.model_copy(update={"based_on": legacy_erp.record_versions(command.relied_on())})
    raw.execute("UPDATE SA1010 SET A1_OBSERV = 'Ligar antes de entregar' WHERE A1_COD = 'C00001'")
    raw.commit()
    with pytest.raises(StaleProposal, match="customer:C00001"):
        legacy_erp.apply(proposed, "prop-45", fingerprint(proposed))


def test_the_ledger_outlives_the_process_that_wrote_it(legacy_erp: LegacyErp, legacy_path: Path) -> None:
    first = legacy_erp.apply(COMMAND, "prop-46", fingerprint(COMMAND))
    legacy_erp.close()
    reopened = LegacyErp.open(legacy_path, today=pinned_today)
    try:
        again = reopened.apply(COMMAND, "prop-46", fingerprint(COMMAND))
        assert again.replayed and again.document_id == first.document_id
        assert len(reopened.list_purchase_orders(limit=1000)) == 301
    finally:
        reopened.close()


def _apply_in_another_process(path: str, command: str, key: str, start: Any, results: Any) -> None:
    erp = LegacyErp.open(path, today=pinned_today)
    try:
        start.wait(timeout=60)
        receipt = erp.apply(parse_command(json.loads(command)), key, fingerprint(COMMAND))
        results.put(receipt.model_dump_json())
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(json.dumps({"error": repr(exc)}))
    finally:
        erp.close()


def test_several_processes_applying_one_key_create_one_document(
    legacy_erp: LegacyErp, legacy_path: Path
) -> None:
    context = multiprocessing.get_context("spawn")
    workers = 4
    start, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(
            target=_apply_in_another_process,
            args=(str(legacy_path), COMMAND.model_dump_json(), "prop-multi", start, results),
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    answers = [json.loads(results.get(timeout=120)) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all("error" not in answer for answer in answers), answers
    assert sum(not answer["replayed"] for answer in answers) == 1
    assert {answer["document_id"] for answer in answers} == {"000301"}
    assert len(legacy_erp.list_purchase_orders(limit=1000)) == 301


def test_the_sqlite_engine_uses_wal_and_waits_for_the_lock(legacy_erp: LegacyErp) -> None:
    with legacy_erp.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_an_engine_that_already_begins_immediately_is_used_as_it_is(legacy_path: Path) -> None:
    # The app's own engine factory installs a BEGIN IMMEDIATE hook; ours must not begin twice.
    engine = create_engine(f"sqlite:///{legacy_path}")

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    erp = LegacyErp(engine, today=pinned_today)
    assert erp.apply(COMMAND, "prop-47", fingerprint(COMMAND)).document_id == "000301"
    assert erp.get_purchase_order("000301").reference == "prop-47"
    engine.dispose()


def test_seeding_refuses_an_erp_that_has_data_unless_told_to_reset(legacy_erp: LegacyErp) -> None:
    assert erp_has_data(legacy_erp.engine)
    with pytest.raises(ErpError, match=r"already has data; use --reset to wipe it"):
        seed_legacy_erp(legacy_erp.engine)
    legacy_erp.apply(COMMAND, "prop-48", fingerprint(COMMAND))
    summary = seed_legacy_erp(legacy_erp.engine, reset=True)
    assert summary.counts == generate().counts()
    assert len(legacy_erp.list_purchase_orders(limit=1000)) == 300
    assert legacy_erp.receipt_for("prop-48") is None


def test_seeding_reports_progress_and_counts(tmp_path: Path) -> None:
    engine = legacy_engine(tmp_path / "fresh.db")
    assert not erp_has_data(engine)
    seen: dict[str, tuple[int, int]] = {}
    summary = seed_legacy_erp(
        engine, progress=lambda table, done, total: seen.__setitem__(table, (done, total))
    )
    # Progress counts the records the summary counts (not rows: soft-deleted ghosts, document lines).
    assert seen["customers"] == (200, 200)
    assert all(done == total for done, total in seen.values())
    assert summary.counts["customers"] == 200
    for what, (_, total) in seen.items():
        key = what.replace(" ", "_")
        assert key not in summary.counts or summary.counts[key] == total, what
    assert {"purchase_orders", "journal_entries", "stock_levels"} <= {w.replace(" ", "_") for w in seen}
    assert summary.deleted_rows >= 10
    assert summary.database.endswith("fresh.db")
    assert "ZCS010" in summary.tables
    engine.dispose()


def test_an_empty_erp_numbers_its_first_documents_from_one(tmp_path: Path) -> None:
    erp = LegacyErp.open(tmp_path / "nested" / "empty.db", today=pinned_today)
    try:
        accounts = [a for a in generate().accounts if a.code.startswith("5")]
        with erp.engine.begin() as conn:
            conn.execute(CT1.insert(), [tr.account_row(a) for a in accounts])
        command = PostJournalEntry(
            entry_date=TODAY,
            description="Freight",
            lines=[
                JournalLineSpec(account_code="5.1.03.001", debit=Decimal("10")),
                JournalLineSpec(account_code="5.1.01.001", credit=Decimal("10")),
            ],
        )
        assert erp.apply(command, "first", fingerprint(command)).document_id == "000001"
        with pytest.raises(NotFound):
            erp.get_customer("C00001")
        assert erp.list_budgets() == []
    finally:
        erp.close()


def test_an_unreachable_database_is_reported_as_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ErpUnavailable, match="is unavailable"):
        LegacyErp.open(tmp_path)  # a directory is no database file


POSTGRES_URL = os.environ.get(
    "COUNTERSIGN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def postgres_erp() -> Iterator[LegacyErp]:
    """The legacy ERP seeded into a schema of its own on PostgreSQL (skipped when none runs)."""
    schema = f"erp_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}")
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        seed_legacy_erp(engine)
        yield LegacyErp(engine, today=pinned_today)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_on_postgresql_events_cancellations_and_landed_documents_match_the_in_memory_erp(
    postgres_erp: LegacyErp,
) -> None:
    memory = InMemoryErp(generate(), today=pinned_today)
    assert postgres_erp.scan_events(NOW) == memory.scan_events(NOW)
    commands = [
        ChangeCreditLimit(customer_code="C00182", new_limit=Decimal("12000")),
        CancelPurchaseOrder(order_number="13", reason="Supplier closed"),
        COMMAND,
    ]
    for erp in (postgres_erp, memory):
        erp.record_stock_issue("NUT-M8", 5000)
        erp.record_stock_issue("NUT-M8", 1500, "02")
        for n, command in enumerate(commands):
            erp.apply(command, f"pg-{n}", fingerprint(command))
    later = NOW + timedelta(hours=1)
    started = postgres_erp.scan_events(later)
    assert [(e.kind, e.subject) for e in started] == [("stock_below_reorder_point", "NUT-M8")]
    assert memory.scan_events(later) == started
    assert postgres_erp.unpublished_events(limit=1000) == memory.unpublished_events(limit=1000)
    assert list(postgres_erp.landed_documents()) == list(memory.landed_documents())
    assert [e.idempotency_key for e in postgres_erp.ledger_entries()] == ["pg-0", "pg-1", "pg-2"]
    assert postgres_erp.get_budget("CC300") == memory.get_budget("CC300")
    assert postgres_erp.list_supplier_invoices(limit=200) == memory.list_supplier_invoices(limit=200)


def test_a_soft_deleted_document_or_record_is_not_landed_and_not_read_back(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    """What reconciliation reads of a document or record deleted the legacy way (``D_E_L_E_T_``
    set, the rows and the ledger kept): nothing, so that it is reported missing."""
    order = legacy_erp.apply(COMMAND, "key-sd-po", fingerprint(COMMAND))
    limit = ChangeCreditLimit(customer_code="C00001", new_limit=Decimal("65000"))
    legacy_erp.apply(limit, "key-sd-cl", fingerprint(limit))
    assert [d.document_id for d in legacy_erp.landed_documents()] == [order.document_id]
    assert read_record(limit, legacy_erp) is not None
    raw.execute("UPDATE SC7010 SET D_E_L_E_T_ = '*' WHERE C7_NUM = ?", (order.document_id,))
    raw.execute("UPDATE SA1010 SET D_E_L_E_T_ = '*' WHERE A1_COD = 'C00001'")
    raw.commit()

    assert list(legacy_erp.landed_documents()) == []
    assert read_record(limit, legacy_erp) is None
    assert legacy_erp.receipt_for("key-sd-po") is not None  # the ledger still says it landed


def test_order_rows_edited_apart_read_as_every_value_they_hold(
    legacy_erp: LegacyErp, raw: sqlite3.Connection
) -> None:
    two_lines = COMMAND.model_copy(
        update={"lines": [*COMMAND.lines, PurchaseLineSpec(product_code="NUT-M8", quantity=Decimal(10))]}
    )
    order = legacy_erp.apply(two_lines, "key-ea-po", fingerprint(two_lines))
    raw.execute(
        "UPDATE SC7010 SET C7_FORNECE = 'F00002' WHERE C7_NUM = ? AND C7_ITEM = '0002'", (order.document_id,)
    )
    raw.commit()

    [landed] = legacy_erp.landed_documents()
    assert landed.party == "F00001 / F00002"
    assert divergence(two_lines, landed) == "supplier F00001 approved, now F00001 / F00002"
