"""Forgiving search: accents, case, plurals, prefixes, codes; every query word must match."""

from __future__ import annotations

from dataclasses import dataclass

from erp_acl.text_match import compact, normalize, rank, score, singular, tokenize


@dataclass(frozen=True)
class Item:
    code: str
    text: str


CATALOG = [
    Item("HB-M10-50", "Hex bolt M10 x 50 mm zinc plated"),
    Item("HB-M8-40", "Hex bolt M8 x 40 mm zinc plated"),
    Item("NUT-M8", "Hex nut M8 zinc plated"),
    Item("WSH-M8", "Flat washer M8"),
    Item("P00100", "Carriage bolt M12 x 80 mm galvanised"),
]

SUPPLIERS = [
    Item("F00001", "Fastenal Brasil Ltda Fastenal"),
    Item("F00002", "Acme Fixings Ltda Acme Fixings"),
    Item("F00003", "Acme Fittings Ltda Acme Fittings"),
    Item("F00004", "Parafusos Santos Ltda Parafusos Santos"),
]


def find(query: str, items: list[Item], limit: int = 10) -> list[str]:
    return [i.code for i in rank(query, items, code=lambda i: i.code, text=lambda i: i.text, limit=limit)]


def test_normalize_drops_accents_and_case() -> None:
    assert normalize("Metalúrgica SÃO João") == "metalurgica sao joao"


def test_plurals_map_to_their_singular() -> None:
    assert singular("bolts") == "bolt"
    assert singular("boxes") == "box"
    assert singular("gloves") == "glove"
    assert singular("batteries") == "battery"
    assert singular("parafusos") == "parafuso"


def test_short_words_and_words_ending_in_ss_stay_as_they_are() -> None:
    assert singular("glass") == "glass"
    assert singular("bus") == "bus"
    assert singular("pcs") == "pcs"


def test_tokenize_splits_on_punctuation_and_singularises() -> None:
    assert tokenize("Hex-bolts, M8 x 40mm") == ["hex", "bolt", "m8", "x", "40mm"]


def test_hex_bolts_m8_finds_the_m8_bolt_and_nothing_else() -> None:
    assert find("hex bolts M8", CATALOG) == ["HB-M8-40"]


def test_every_query_word_must_match_something() -> None:
    assert find("hex bolt M8 stainless", CATALOG) == []
    assert score("hex bolt stainless", "HB-M8-40", "Hex bolt M8 x 40 mm zinc plated") is None


def test_words_match_as_prefixes() -> None:
    assert find("galv carr", CATALOG) == ["P00100"]


def test_a_short_name_finds_the_full_company_name() -> None:
    assert find("Fastenal", SUPPLIERS) == ["F00001"]
    assert find("fastenal brasil", SUPPLIERS) == ["F00001"]


def test_look_alike_names_are_told_apart_by_the_differing_word() -> None:
    assert find("acme fixings", SUPPLIERS) == ["F00002"]
    assert find("acme fittings", SUPPLIERS) == ["F00003"]
    assert set(find("acme", SUPPLIERS)) == {"F00002", "F00003"}


def test_an_exact_code_ranks_first_even_without_punctuation() -> None:
    assert find("HB-M8-40", CATALOG)[0] == "HB-M8-40"
    assert find("hbm840", CATALOG) == ["HB-M8-40"]
    assert find("nut-m8", CATALOG)[0] == "NUT-M8"


def test_a_code_prefix_matches() -> None:
    assert find("F0000", SUPPLIERS, limit=2) == ["F00001", "F00002"]


def test_accented_and_unaccented_spellings_find_each_other() -> None:
    items = [Item("C00010", "Padaria São Jorge Ltda"), Item("C00011", "Mercado Bom Preco Ltda")]
    assert find("sao jorge", items) == ["C00010"]
    assert find("Preço", items) == ["C00011"]


def test_connectives_in_the_query_are_optional() -> None:
    items = [Item("C00001", "Padaria Estrela Ltda")]
    assert find("padaria da estrela", items) == ["C00001"]


def test_closer_matches_rank_higher_and_ties_follow_the_code() -> None:
    items = [
        Item("C00003", "Horizonte Engenharia e Construcoes Industriais Ltda"),
        Item("C00002", "Horizonte Ltda"),
        Item("C00001", "Horizonte Ltda"),
    ]
    assert find("horizonte", items) == ["C00001", "C00002", "C00003"]


def test_the_limit_is_honoured() -> None:
    assert len(find("m8", CATALOG, limit=2)) == 2
    assert find("m8", CATALOG, limit=0) == []


def test_an_empty_query_matches_nothing() -> None:
    assert find("  ", CATALOG) == []
    assert compact("HB-M8-40") == "hbm840"
