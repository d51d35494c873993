"""The bundled legacy ERP itself: its 2011-style storage, its seeding, and writers in other processes."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text

from erp_acl.commands import (
    ChangeCreditLimit,
    CreatePurchaseOrder,
    JournalLineSpec,
    PostJournalEntry,
    PurchaseLineSpec,
    fingerprint,
    parse_command,
)
from erp_acl.errors import ErpError, ErpUnavailable, NotFound, StaleProposal
from erp_acl.legacy import translate as tr
from erp_acl.legacy.adapter import LegacyErp, legacy_engine
from erp_acl.legacy.schema import CT1
from erp_acl.legacy.seed import erp_has_data, seed_legacy_erp
from erp_acl.seed_data import TODAY, generate
from tests.integration.erp_acl.conftest import pinned_today

pytestmark = pytest.mark.integration

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
    assert {"CT1010", "CT2010", "ZSQ010", "ZCS010"} <= tables


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
    assert seen["customers"] == (202, 202)  # 200 customers and two soft-deleted rows
    assert all(done == total for done, total in seen.values())
    assert summary.counts["customers"] == 200
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
