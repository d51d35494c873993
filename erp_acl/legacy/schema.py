"""Tables of the bundled legacy ERP: "that in-house system from 2011", in SQLAlchemy Core.

The layout copies the habits of old Brazilian ERPs (Protheus and its many clones): six-character
table names (``SA1010`` = customers of company 01), columns prefixed with the table's alias
(``A1_COD``), a branch column on every table, soft deletes (``D_E_L_E_T_ = '*'``), a record number
``R_E_C_N_O_`` as the physical key, dates as ``'YYYYMMDD'`` text, amounts as text or integer cents,
quantities as floats, one-letter status codes and fixed-width, blank-padded codes. Fields the
original package lacked were added by the customer with an ``X`` in the name (``C7_XREF``).

Only the modules of ``erp_acl.legacy`` know these names; nothing above ``erp_acl`` does.
Memos and text amounts are marked ``info=UNPADDED``: they are stored as typed, while every other
character column is blank-padded to its width, as a CHAR column would be.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
)

BRANCH = "01"
"""The branch (filial) Countersign works on."""

LIVE = " "
DELETED = "*"

metadata = MetaData()

UNPADDED = {"pad": False}
"""Column info of character columns stored as typed (memos, amounts), not blank-padded."""


def _memo(name: str, width: int = 250) -> Column[Any]:
    return Column(name, String(width), nullable=False, default="", info=UNPADDED)


def _amount(name: str, width: int) -> Column[Any]:
    """An amount kept as decimal text ('1.40'), the way the 2011 screens saved it."""
    return Column(name, String(width), nullable=False, info=UNPADDED)


def _table(name: str, alias: str, *columns: Column[Any] | Index) -> Table:
    """A table in the legacy style: branch first, then the fields, then deletion flag and record number."""
    return Table(
        name,
        metadata,
        Column(f"{alias}_FILIAL", String(2), nullable=False, default=BRANCH),
        *columns,
        Column("D_E_L_E_T_", String(1), nullable=False, default=LIVE),
        Column("R_E_C_N_O_", Integer, primary_key=True, autoincrement=True),
    )


SA1 = _table(
    "SA1010",
    "A1",
    Column("A1_COD", String(6), nullable=False),
    Column("A1_LOJA", String(2), nullable=False),
    Column("A1_NOME", String(40), nullable=False),
    Column("A1_NREDUZ", String(20), nullable=False),
    Column("A1_CGC", String(14), nullable=False),
    Column("A1_MUN", String(30), nullable=False),
    Column("A1_EST", String(2), nullable=False),
    Column("A1_LC", BigInteger, nullable=False, default=0),  # credit limit, integer cents
    Column("A1_MSBLQL", String(1), nullable=False, default="2"),  # '1' blocked, '2' not
    _memo("A1_OBSERV"),
    Index("SA1010_COD", "A1_FILIAL", "A1_COD", "A1_LOJA"),
)

SA2 = _table(
    "SA2010",
    "A2",
    Column("A2_COD", String(6), nullable=False),
    Column("A2_LOJA", String(2), nullable=False),
    Column("A2_NOME", String(40), nullable=False),
    Column("A2_NREDUZ", String(20), nullable=False),
    Column("A2_CGC", String(14), nullable=False),
    Column("A2_MUN", String(30), nullable=False),
    Column("A2_EST", String(2), nullable=False),
    Column("A2_EMAIL", String(60), nullable=False),
    Column("A2_MSBLQL", String(1), nullable=False, default="2"),
    _memo("A2_OBSERV"),
    Index("SA2010_COD", "A2_FILIAL", "A2_COD", "A2_LOJA"),
)

SB1 = _table(
    "SB1010",
    "B1",
    Column("B1_COD", String(15), nullable=False),
    Column("B1_DESC", String(60), nullable=False),
    Column("B1_TIPO", String(2), nullable=False, default="MC"),
    Column("B1_UM", String(2), nullable=False),
    _amount("B1_PRV1", 14),  # list price, text '1.40'
    _amount("B1_CUSTD", 14),  # standard cost, text
    Column("B1_EMIN", Float, nullable=False, default=0.0),  # reorder point
    Column("B1_MSBLQL", String(1), nullable=False, default="2"),
    _memo("B1_XOBS"),
    Index("SB1010_COD", "B1_FILIAL", "B1_COD"),
)

SB2 = _table(
    "SB2010",
    "B2",
    Column("B2_COD", String(15), nullable=False),
    Column("B2_LOCAL", String(2), nullable=False),  # '01' main, '02' secondary
    Column("B2_QATU", Float, nullable=False, default=0.0),  # on hand
    Column("B2_RESERVA", Float, nullable=False, default=0.0),  # reserved
    Index("SB2010_COD", "B2_FILIAL", "B2_COD", "B2_LOCAL"),
)

SC5 = _table(
    "SC5010",
    "C5",
    Column("C5_NUM", String(6), nullable=False),
    Column("C5_TIPO", String(1), nullable=False, default="N"),
    Column("C5_CLIENTE", String(6), nullable=False),
    Column("C5_LOJACLI", String(2), nullable=False),
    Column("C5_CONDPAG", String(3), nullable=False, default="001"),
    Column("C5_EMISSAO", String(8), nullable=False),
    Column("C5_XSTATUS", String(1), nullable=False),  # A open, B credit block, F invoiced, C cancelled
    _memo("C5_XOBS"),
    _memo("C5_XMOTCAN"),  # why it was cancelled
    Index("SC5010_NUM", "C5_FILIAL", "C5_NUM"),
    Index("SC5010_CLI", "C5_FILIAL", "C5_CLIENTE", "C5_EMISSAO"),
)

SC6 = _table(
    "SC6010",
    "C6",
    Column("C6_NUM", String(6), nullable=False),
    Column("C6_ITEM", String(2), nullable=False),
    Column("C6_PRODUTO", String(15), nullable=False),
    Column("C6_QTDVEN", Float, nullable=False),
    _amount("C6_PRCVEN", 14),  # unit price, text
    _amount("C6_VALOR", 16),  # line total, text
    Index("SC6010_NUM", "C6_FILIAL", "C6_NUM", "C6_ITEM"),
)

# Purchase orders have no header table: every item row repeats the header fields.
SC7 = _table(
    "SC7010",
    "C7",
    Column("C7_NUM", String(6), nullable=False),
    Column("C7_ITEM", String(4), nullable=False),
    Column("C7_PRODUTO", String(15), nullable=False),
    Column("C7_QUANT", Float, nullable=False),
    _amount("C7_PRECO", 14),
    _amount("C7_TOTAL", 16),
    Column("C7_FORNECE", String(6), nullable=False),
    Column("C7_LOJA", String(2), nullable=False),
    Column("C7_EMISSAO", String(8), nullable=False),
    Column("C7_CC", String(9), nullable=False),
    Column("C7_XSTATUS", String(1), nullable=False),  # A open, E received (encerrado), C cancelled
    _memo("C7_OBS"),
    _memo("C7_XMOTCAN"),  # why it was cancelled (as SC5 has)
    # External reference, a field added later as plain VARCHAR (stored as typed).
    Column("C7_XREF", String(100), nullable=False, default="", info=UNPADDED),
    Index("SC7010_NUM", "C7_FILIAL", "C7_NUM", "C7_ITEM"),
    Index("SC7010_FOR", "C7_FILIAL", "C7_FORNECE"),
    Index("SC7010_XREF", "C7_XREF"),
)

# Supplier invoices (notas fiscais de entrada): a header and its items, keyed by document number,
# series, supplier and store, as the fiscal books are.
SF1 = _table(
    "SF1010",
    "F1",
    Column("F1_DOC", String(9), nullable=False),
    Column("F1_SERIE", String(3), nullable=False),
    Column("F1_FORNECE", String(6), nullable=False),
    Column("F1_LOJA", String(2), nullable=False),
    Column("F1_EMISSAO", String(8), nullable=False),
    Column("F1_XPEDIDO", String(6), nullable=False, default=""),  # purchase order it bills
    Column("F1_VALBRUT", BigInteger, nullable=False, default=0),  # gross total, integer cents
    _memo("F1_XOBS"),
    Index("SF1010_DOC", "F1_FILIAL", "F1_DOC", "F1_SERIE", "F1_FORNECE", "F1_LOJA"),
    Index("SF1010_FOR", "F1_FILIAL", "F1_FORNECE", "F1_EMISSAO"),
    Index("SF1010_PED", "F1_FILIAL", "F1_XPEDIDO"),
)

SD1 = _table(
    "SD1010",
    "D1",
    Column("D1_DOC", String(9), nullable=False),
    Column("D1_SERIE", String(3), nullable=False),
    Column("D1_FORNECE", String(6), nullable=False),
    Column("D1_LOJA", String(2), nullable=False),
    Column("D1_ITEM", String(4), nullable=False),
    Column("D1_COD", String(15), nullable=False),
    Column("D1_QUANT", Float, nullable=False),
    _amount("D1_VUNIT", 14),  # unit price, text
    _amount("D1_TOTAL", 16),  # line total, text
    Column("D1_PEDIDO", String(6), nullable=False, default=""),  # purchase order of the item
    Index("SD1010_DOC", "D1_FILIAL", "D1_DOC", "D1_SERIE", "D1_FORNECE", "D1_LOJA", "D1_ITEM"),
    Index("SD1010_PED", "D1_FILIAL", "D1_PEDIDO", "D1_COD"),
)

CTT = _table(
    "CTT010",
    "CTT",
    Column("CTT_CUSTO", String(9), nullable=False),
    Column("CTT_DESC01", String(40), nullable=False),
    Column("CTT_CLASSE", String(1), nullable=False, default="2"),
    Column("CTT_BLOQ", String(1), nullable=False, default="2"),
    Index("CTT010_CUSTO", "CTT_FILIAL", "CTT_CUSTO"),
)

ZB1 = _table(
    "ZB1010",
    "ZB1",
    Column("ZB1_CC", String(9), nullable=False),
    Column("ZB1_ANO", String(4), nullable=False),
    Column("ZB1_VALOR", BigInteger, nullable=False, default=0),  # annual budget, cents
    Column("ZB1_EMPEN", BigInteger, nullable=False, default=0),  # committed (empenhado), cents
    Column("ZB1_REALIZ", BigInteger, nullable=False, default=0),  # spent (realizado), cents
    Index("ZB1010_CC", "ZB1_FILIAL", "ZB1_CC", "ZB1_ANO"),
)

CT1 = _table(
    "CT1010",
    "CT1",
    Column("CT1_CONTA", String(20), nullable=False),  # code without dots: '1101001'
    Column("CT1_DESC01", String(40), nullable=False),
    Column("CT1_CLASSE", String(1), nullable=False),  # '1' synthetic (summary), '2' analytic
    Column("CT1_NORMAL", String(1), nullable=False),  # '1' debit nature, '2' credit nature
    Column("CT1_CTASUP", String(20), nullable=False, default=""),  # parent account
    Column("CT1_BLOQ", String(1), nullable=False, default="2"),
    Index("CT1010_CONTA", "CT1_FILIAL", "CT1_CONTA"),
)

CT2 = _table(
    "CT2010",
    "CT2",
    Column("CT2_DATA", String(8), nullable=False),
    Column("CT2_LOTE", String(6), nullable=False),
    Column("CT2_SBLOTE", String(3), nullable=False, default="001"),
    Column("CT2_DOC", String(6), nullable=False),
    Column("CT2_LINHA", String(3), nullable=False),
    Column("CT2_MOEDLC", String(2), nullable=False, default="01"),  # currency: 01 = BRL
    Column("CT2_DC", String(1), nullable=False),  # 1 debit, 2 credit, 3 both (one row, two accounts)
    Column("CT2_DEBITO", String(20), nullable=False, default=""),
    Column("CT2_CREDIT", String(20), nullable=False, default=""),
    _amount("CT2_VALOR", 17),  # amount, text
    _memo("CT2_HIST", 120),
    Column("CT2_XREF", String(100), nullable=False, default="", info=UNPADDED),
    Index("CT2010_DOC", "CT2_FILIAL", "CT2_DOC", "CT2_LINHA"),
    Index("CT2010_DEB", "CT2_FILIAL", "CT2_DEBITO", "CT2_DATA"),
    Index("CT2010_CRD", "CT2_FILIAL", "CT2_CREDIT", "CT2_DATA"),
)

# Document numbering: one row per numbered document type ('SC7', 'CT2', ...).
ZSQ = _table(
    "ZSQ010",
    "ZSQ",
    Column("ZSQ_CHAVE", String(10), nullable=False),
    Column("ZSQ_ULTIMO", Integer, nullable=False, default=0),  # last number used
    Index("ZSQ010_CHAVE", "ZSQ_FILIAL", "ZSQ_CHAVE", unique=True),
)

# Countersign's idempotency ledger, added to the ERP so it commits in the ERP's own transaction.
# Keyed by the idempotency key itself: a second writer of the same key collides on the primary key.
ZCS = Table(
    "ZCS010",
    metadata,
    Column("ZCS_CHAVE", String(100), primary_key=True),
    Column("ZCS_HASH", String(64), nullable=False),  # payload fingerprint
    Column("ZCS_ACAO", String(30), nullable=False),
    Column("ZCS_COMANDO", Text, nullable=False),  # the command, JSON
    Column("ZCS_RECIBO", Text, nullable=True),  # the receipt, JSON
    Column("ZCS_CRIADO", String(32), nullable=False),
    Column("ZCS_ALTERA", String(32), nullable=False),
)

# The ERP's alerts (business events it detected). One row per time a condition started to hold:
# open ('A') while it holds, closed ('F', finalizado) when it clears; published when Countersign
# passed it on. ZEV_OCORR counts the starts of one (kind, subject), which makes ids repeatable.
ZEV = _table(
    "ZEV010",
    "ZEV",
    Column("ZEV_ID", String(23), nullable=False),
    Column("ZEV_TIPO", String(3), nullable=False),  # EST stock, CRD credit, NFE invoice
    Column("ZEV_CHAVE", String(15), nullable=False),  # subject: product, sales order or invoice
    Column("ZEV_DADOS", Text, nullable=False, info=UNPADDED),  # facts, JSON
    Column("ZEV_STATUS", String(1), nullable=False),  # A active, F cleared
    Column("ZEV_OCORR", Integer, nullable=False),
    Column("ZEV_CRIADO", String(32), nullable=False, info=UNPADDED),  # ISO timestamp, UTC
    Column("ZEV_ENCERR", String(32), nullable=False, default="", info=UNPADDED),  # cleared at, or blank
    Column("ZEV_ENVIADO", String(32), nullable=False, default="", info=UNPADDED),  # published at, or blank
    Index("ZEV010_ID", "ZEV_FILIAL", "ZEV_ID", unique=True),
    Index("ZEV010_CHAVE", "ZEV_FILIAL", "ZEV_TIPO", "ZEV_CHAVE", "ZEV_OCORR", unique=True),
    Index("ZEV010_ENVIADO", "ZEV_FILIAL", "ZEV_ENVIADO", "ZEV_CRIADO"),
)

DATA_TABLES: tuple[Table, ...] = (SA1, SA2, SB1, SB2, SC5, SC6, SC7, SF1, SD1, CTT, ZB1, CT1, CT2)


def alias(table: Table) -> str:
    """The column prefix of a legacy table (``SA1010`` -> ``A1``)."""
    filial = next(c.name for c in table.columns if c.name.endswith("_FILIAL"))
    return filial.removesuffix("_FILIAL")


def live(table: Table) -> ColumnElement[bool]:
    """Rows of our branch that are not soft-deleted; every read goes through this."""
    return and_(table.c[f"{alias(table)}_FILIAL"] == BRANCH, table.c["D_E_L_E_T_"] != DELETED)
