"""Choosing among search results: a clear best match, or a question when look-alikes tie."""

from __future__ import annotations

import pytest

from agent.planner.matching import Candidate, choose, search_variants

SUPPLIERS = [
    Candidate("F00002", "Acme Fixings Ltda (F00002)", ("Acme Fixings Ltda", "Acme Fixings")),
    Candidate("F00003", "Acme Fittings Ltda (F00003)", ("Acme Fittings Ltda", "Acme Fittings")),
]
CUSTOMERS = [
    Candidate("C00002", "Construtora Horizonte S.A.", ("Construtora Horizonte S.A.", "Horizonte")),
    Candidate("C00004", "Horizonte Engenharia Ltda", ("Horizonte Engenharia Ltda", "Horizonte Eng")),
]
PRODUCTS = [
    Candidate("HB-M8-40", "", ("Hex bolt M8 x 40 mm zinc plated",)),
    Candidate("HB-M10-50", "", ("Hex bolt M10 x 50 mm zinc plated",)),
    Candidate("NUT-M8", "", ("Hex nut M8 zinc plated",)),
]


@pytest.mark.parametrize("query", ["Acme", "acme ltda"])
def test_look_alike_names_tie_and_are_asked_about(query: str) -> None:
    choice = choose(query, SUPPLIERS)
    assert choice.best is None and set(choice.ties) == {0, 1}


@pytest.mark.parametrize(("query", "best"), [("Acme Fittings", 1), ("acme fixings", 0), ("F00003", 1)])
def test_a_query_covering_one_name_only_picks_it(query: str, best: int) -> None:
    assert choose(query, SUPPLIERS).best == best


def test_an_exact_short_name_is_not_enough_when_another_name_contains_it() -> None:
    assert choose("Horizonte", CUSTOMERS).best is None
    assert choose("Construtora Horizonte", CUSTOMERS).best == 0


@pytest.mark.parametrize(
    ("query", "best"),
    [("hex bolts M8", 0), ("M8 nuts", 2), ("hex bolt m10", 1), ("galvanised hex bolts M8", 0)],
)
def test_plurals_and_word_order_do_not_matter(query: str, best: int) -> None:
    assert choose(query, PRODUCTS).best == best


def test_a_vague_product_word_is_a_question() -> None:
    choice = choose("bolt", PRODUCTS)
    assert choice.best is None and set(choice.ties) == {0, 1}


def test_a_postable_account_beats_its_summary_account() -> None:
    accounts = [
        Candidate("5.1.03", "", ("Freight",), preferred=False, group="5.1"),
        Candidate("5.1.03.001", "", ("Freight expense",), preferred=True, group="5.1.03"),
    ]
    assert choose("freight", accounts).best == 1


def test_sibling_accounts_tied_on_the_words_default_to_the_first_and_report_the_others() -> None:
    accounts = [
        Candidate("1.1.02.002", "", ("Bank account Bradesco",), group="1.1.02"),
        Candidate("1.1.02.001", "", ("Bank account Itau",), group="1.1.02"),
        Candidate("1.1.02.004", "", ("Bank account Santander (closed)",), preferred=False, group="1.1.02"),
    ]
    choice = choose("the bank account", accounts)
    assert choice.best == 1
    assert set(choice.ties) == {0, 1}


def test_a_single_result_the_erp_found_by_other_fields_is_trusted() -> None:
    only = [Candidate("C00009", "", ("Mercado Azul Ltda",))]
    assert choose("12.345.678/0001-90", only).best == 0
    assert choose("12.345.678/0001-90", only, trust_single=False).best is None


def test_search_variants_loosen_a_query_step_by_step() -> None:
    assert search_variants("hex bolts M8") == ["hex bolts M8", "hex bolt m8", "bolt"]
    assert search_variants("bank account") == ["bank account", "bank"]
