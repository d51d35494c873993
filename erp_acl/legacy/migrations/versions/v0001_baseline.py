"""Baseline: the bundled legacy ERP's tables as the last release before migrations made them.

Over a database an earlier release made, ``create_table``/``create_index`` only fill in what it
lacks (see ``erp_acl.migrating``).

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa

from erp_acl.migrating import create_index, create_table

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    create_table(
        "CT1010",
        sa.Column("CT1_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("CT1_CONTA", sa.String(length=20), nullable=False),
        sa.Column("CT1_DESC01", sa.String(length=40), nullable=False),
        sa.Column("CT1_CLASSE", sa.String(length=1), nullable=False),
        sa.Column("CT1_NORMAL", sa.String(length=1), nullable=False),
        sa.Column("CT1_CTASUP", sa.String(length=20), nullable=False),
        sa.Column("CT1_BLOQ", sa.String(length=1), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("CT1010_CONTA", "CT1010", ["CT1_FILIAL", "CT1_CONTA"])
    create_table(
        "CT2010",
        sa.Column("CT2_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("CT2_DATA", sa.String(length=8), nullable=False),
        sa.Column("CT2_LOTE", sa.String(length=6), nullable=False),
        sa.Column("CT2_SBLOTE", sa.String(length=3), nullable=False),
        sa.Column("CT2_DOC", sa.String(length=6), nullable=False),
        sa.Column("CT2_LINHA", sa.String(length=3), nullable=False),
        sa.Column("CT2_MOEDLC", sa.String(length=2), nullable=False),
        sa.Column("CT2_DC", sa.String(length=1), nullable=False),
        sa.Column("CT2_DEBITO", sa.String(length=20), nullable=False),
        sa.Column("CT2_CREDIT", sa.String(length=20), nullable=False),
        sa.Column("CT2_VALOR", sa.String(length=17), nullable=False),
        sa.Column("CT2_HIST", sa.String(length=120), nullable=False),
        sa.Column("CT2_XREF", sa.String(length=100), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("CT2010_CRD", "CT2010", ["CT2_FILIAL", "CT2_CREDIT", "CT2_DATA"])
    create_index("CT2010_DEB", "CT2010", ["CT2_FILIAL", "CT2_DEBITO", "CT2_DATA"])
    create_index("CT2010_DOC", "CT2010", ["CT2_FILIAL", "CT2_DOC", "CT2_LINHA"])
    create_table(
        "CTT010",
        sa.Column("CTT_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("CTT_CUSTO", sa.String(length=9), nullable=False),
        sa.Column("CTT_DESC01", sa.String(length=40), nullable=False),
        sa.Column("CTT_CLASSE", sa.String(length=1), nullable=False),
        sa.Column("CTT_BLOQ", sa.String(length=1), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("CTT010_CUSTO", "CTT010", ["CTT_FILIAL", "CTT_CUSTO"])
    create_table(
        "SA1010",
        sa.Column("A1_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("A1_COD", sa.String(length=6), nullable=False),
        sa.Column("A1_LOJA", sa.String(length=2), nullable=False),
        sa.Column("A1_NOME", sa.String(length=40), nullable=False),
        sa.Column("A1_NREDUZ", sa.String(length=20), nullable=False),
        sa.Column("A1_CGC", sa.String(length=14), nullable=False),
        sa.Column("A1_MUN", sa.String(length=30), nullable=False),
        sa.Column("A1_EST", sa.String(length=2), nullable=False),
        sa.Column("A1_LC", sa.BigInteger(), nullable=False),
        sa.Column("A1_MSBLQL", sa.String(length=1), nullable=False),
        sa.Column("A1_OBSERV", sa.String(length=250), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SA1010_COD", "SA1010", ["A1_FILIAL", "A1_COD", "A1_LOJA"])
    create_table(
        "SA2010",
        sa.Column("A2_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("A2_COD", sa.String(length=6), nullable=False),
        sa.Column("A2_LOJA", sa.String(length=2), nullable=False),
        sa.Column("A2_NOME", sa.String(length=40), nullable=False),
        sa.Column("A2_NREDUZ", sa.String(length=20), nullable=False),
        sa.Column("A2_CGC", sa.String(length=14), nullable=False),
        sa.Column("A2_MUN", sa.String(length=30), nullable=False),
        sa.Column("A2_EST", sa.String(length=2), nullable=False),
        sa.Column("A2_EMAIL", sa.String(length=60), nullable=False),
        sa.Column("A2_MSBLQL", sa.String(length=1), nullable=False),
        sa.Column("A2_OBSERV", sa.String(length=250), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SA2010_COD", "SA2010", ["A2_FILIAL", "A2_COD", "A2_LOJA"])
    create_table(
        "SB1010",
        sa.Column("B1_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("B1_COD", sa.String(length=15), nullable=False),
        sa.Column("B1_DESC", sa.String(length=60), nullable=False),
        sa.Column("B1_TIPO", sa.String(length=2), nullable=False),
        sa.Column("B1_UM", sa.String(length=2), nullable=False),
        sa.Column("B1_PRV1", sa.String(length=14), nullable=False),
        sa.Column("B1_CUSTD", sa.String(length=14), nullable=False),
        sa.Column("B1_EMIN", sa.Float(), nullable=False),
        sa.Column("B1_MSBLQL", sa.String(length=1), nullable=False),
        sa.Column("B1_XOBS", sa.String(length=250), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SB1010_COD", "SB1010", ["B1_FILIAL", "B1_COD"])
    create_table(
        "SB2010",
        sa.Column("B2_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("B2_COD", sa.String(length=15), nullable=False),
        sa.Column("B2_LOCAL", sa.String(length=2), nullable=False),
        sa.Column("B2_QATU", sa.Float(), nullable=False),
        sa.Column("B2_RESERVA", sa.Float(), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SB2010_COD", "SB2010", ["B2_FILIAL", "B2_COD", "B2_LOCAL"])
    create_table(
        "SC5010",
        sa.Column("C5_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("C5_NUM", sa.String(length=6), nullable=False),
        sa.Column("C5_TIPO", sa.String(length=1), nullable=False),
        sa.Column("C5_CLIENTE", sa.String(length=6), nullable=False),
        sa.Column("C5_LOJACLI", sa.String(length=2), nullable=False),
        sa.Column("C5_CONDPAG", sa.String(length=3), nullable=False),
        sa.Column("C5_EMISSAO", sa.String(length=8), nullable=False),
        sa.Column("C5_XSTATUS", sa.String(length=1), nullable=False),
        sa.Column("C5_XOBS", sa.String(length=250), nullable=False),
        sa.Column("C5_XMOTCAN", sa.String(length=250), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SC5010_CLI", "SC5010", ["C5_FILIAL", "C5_CLIENTE", "C5_EMISSAO"])
    create_index("SC5010_NUM", "SC5010", ["C5_FILIAL", "C5_NUM"])
    create_table(
        "SC6010",
        sa.Column("C6_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("C6_NUM", sa.String(length=6), nullable=False),
        sa.Column("C6_ITEM", sa.String(length=2), nullable=False),
        sa.Column("C6_PRODUTO", sa.String(length=15), nullable=False),
        sa.Column("C6_QTDVEN", sa.Float(), nullable=False),
        sa.Column("C6_PRCVEN", sa.String(length=14), nullable=False),
        sa.Column("C6_VALOR", sa.String(length=16), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SC6010_NUM", "SC6010", ["C6_FILIAL", "C6_NUM", "C6_ITEM"])
    create_table(
        "SC7010",
        sa.Column("C7_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("C7_NUM", sa.String(length=6), nullable=False),
        sa.Column("C7_ITEM", sa.String(length=4), nullable=False),
        sa.Column("C7_PRODUTO", sa.String(length=15), nullable=False),
        sa.Column("C7_QUANT", sa.Float(), nullable=False),
        sa.Column("C7_PRECO", sa.String(length=14), nullable=False),
        sa.Column("C7_TOTAL", sa.String(length=16), nullable=False),
        sa.Column("C7_FORNECE", sa.String(length=6), nullable=False),
        sa.Column("C7_LOJA", sa.String(length=2), nullable=False),
        sa.Column("C7_EMISSAO", sa.String(length=8), nullable=False),
        sa.Column("C7_CC", sa.String(length=9), nullable=False),
        sa.Column("C7_XSTATUS", sa.String(length=1), nullable=False),
        sa.Column("C7_OBS", sa.String(length=250), nullable=False),
        sa.Column("C7_XMOTCAN", sa.String(length=250), nullable=False),
        sa.Column("C7_XREF", sa.String(length=100), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SC7010_FOR", "SC7010", ["C7_FILIAL", "C7_FORNECE"])
    create_index("SC7010_NUM", "SC7010", ["C7_FILIAL", "C7_NUM", "C7_ITEM"])
    create_index("SC7010_XREF", "SC7010", ["C7_XREF"])
    create_table(
        "SD1010",
        sa.Column("D1_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("D1_DOC", sa.String(length=9), nullable=False),
        sa.Column("D1_SERIE", sa.String(length=3), nullable=False),
        sa.Column("D1_FORNECE", sa.String(length=6), nullable=False),
        sa.Column("D1_LOJA", sa.String(length=2), nullable=False),
        sa.Column("D1_ITEM", sa.String(length=4), nullable=False),
        sa.Column("D1_COD", sa.String(length=15), nullable=False),
        sa.Column("D1_QUANT", sa.Float(), nullable=False),
        sa.Column("D1_VUNIT", sa.String(length=14), nullable=False),
        sa.Column("D1_TOTAL", sa.String(length=16), nullable=False),
        sa.Column("D1_PEDIDO", sa.String(length=6), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index(
        "SD1010_DOC", "SD1010", ["D1_FILIAL", "D1_DOC", "D1_SERIE", "D1_FORNECE", "D1_LOJA", "D1_ITEM"]
    )
    create_index("SD1010_PED", "SD1010", ["D1_FILIAL", "D1_PEDIDO", "D1_COD"])
    create_table(
        "SF1010",
        sa.Column("F1_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("F1_DOC", sa.String(length=9), nullable=False),
        sa.Column("F1_SERIE", sa.String(length=3), nullable=False),
        sa.Column("F1_FORNECE", sa.String(length=6), nullable=False),
        sa.Column("F1_LOJA", sa.String(length=2), nullable=False),
        sa.Column("F1_EMISSAO", sa.String(length=8), nullable=False),
        sa.Column("F1_XPEDIDO", sa.String(length=6), nullable=False),
        sa.Column("F1_VALBRUT", sa.BigInteger(), nullable=False),
        sa.Column("F1_XOBS", sa.String(length=250), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("SF1010_DOC", "SF1010", ["F1_FILIAL", "F1_DOC", "F1_SERIE", "F1_FORNECE", "F1_LOJA"])
    create_index("SF1010_FOR", "SF1010", ["F1_FILIAL", "F1_FORNECE", "F1_EMISSAO"])
    create_index("SF1010_PED", "SF1010", ["F1_FILIAL", "F1_XPEDIDO"])
    create_table(
        "ZB1010",
        sa.Column("ZB1_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("ZB1_CC", sa.String(length=9), nullable=False),
        sa.Column("ZB1_ANO", sa.String(length=4), nullable=False),
        sa.Column("ZB1_VALOR", sa.BigInteger(), nullable=False),
        sa.Column("ZB1_EMPEN", sa.BigInteger(), nullable=False),
        sa.Column("ZB1_REALIZ", sa.BigInteger(), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("ZB1010_CC", "ZB1010", ["ZB1_FILIAL", "ZB1_CC", "ZB1_ANO"])
    create_table(
        "ZCS010",
        sa.Column("ZCS_CHAVE", sa.String(length=100), nullable=False),
        sa.Column("ZCS_HASH", sa.String(length=64), nullable=False),
        sa.Column("ZCS_ACAO", sa.String(length=30), nullable=False),
        sa.Column("ZCS_COMANDO", sa.Text(), nullable=False),
        sa.Column("ZCS_RECIBO", sa.Text(), nullable=True),
        sa.Column("ZCS_CRIADO", sa.String(length=32), nullable=False),
        sa.Column("ZCS_ALTERA", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("ZCS_CHAVE"),
    )
    create_table(
        "ZEV010",
        sa.Column("ZEV_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("ZEV_ID", sa.String(length=23), nullable=False),
        sa.Column("ZEV_TIPO", sa.String(length=3), nullable=False),
        sa.Column("ZEV_CHAVE", sa.String(length=15), nullable=False),
        sa.Column("ZEV_DADOS", sa.Text(), nullable=False),
        sa.Column("ZEV_STATUS", sa.String(length=1), nullable=False),
        sa.Column("ZEV_OCORR", sa.Integer(), nullable=False),
        sa.Column("ZEV_CRIADO", sa.String(length=32), nullable=False),
        sa.Column("ZEV_ENCERR", sa.String(length=32), nullable=False),
        sa.Column("ZEV_ENVIADO", sa.String(length=32), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("ZEV010_CHAVE", "ZEV010", ["ZEV_FILIAL", "ZEV_TIPO", "ZEV_CHAVE", "ZEV_OCORR"], unique=True)
    create_index("ZEV010_ENVIADO", "ZEV010", ["ZEV_FILIAL", "ZEV_ENVIADO", "ZEV_CRIADO"])
    create_index("ZEV010_ID", "ZEV010", ["ZEV_FILIAL", "ZEV_ID"], unique=True)
    create_table(
        "ZSQ010",
        sa.Column("ZSQ_FILIAL", sa.String(length=2), nullable=False),
        sa.Column("ZSQ_CHAVE", sa.String(length=10), nullable=False),
        sa.Column("ZSQ_ULTIMO", sa.Integer(), nullable=False),
        sa.Column("D_E_L_E_T_", sa.String(length=1), nullable=False),
        sa.Column("R_E_C_N_O_", sa.Integer(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("R_E_C_N_O_"),
    )
    create_index("ZSQ010_CHAVE", "ZSQ010", ["ZSQ_FILIAL", "ZSQ_CHAVE"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: drop the database instead")
