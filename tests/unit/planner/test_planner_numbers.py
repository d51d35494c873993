"""Number parsing: separators, currencies, suffixes, percentages, words, ordinals and codes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.planner.numbers import find_numbers, format_decimal, parse_digits, parse_number, parse_ordinal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40", "40"),
        ("0", "0"),
        ("1.2k", "1200"),
        ("75k", "75000"),
        ("75K", "75000"),
        ("75,000", "75000"),
        ("75.000,00", "75000.00"),
        ("1,250.50", "1250.50"),
        ("1.250,50", "1250.50"),
        ("1,250,000", "1250000"),
        ("1.250.000", "1250000"),
        ("1.250.000,75", "1250000.75"),
        ("R$ 1.250,00", "1250.00"),
        ("R$1.250", "1250"),
        ("BRL 1,250.50", "1250.50"),
        ("€ 99,90", "99.90"),
        ("$ 12.5", "12.5"),
        ("0.80", "0.80"),
        ("0,80", "0.80"),
        ("99,90", "99.90"),
        ("1,5", "1.5"),
        ("0,125", "0.125"),
        ("1.550", "1.550"),
        ("1,25", "1.25"),
        ("1.2 million", "1200000"),
        ("50 mil", "50000"),
        ("75 thousand", "75000"),
        ("2 dozen", "24"),
        ("1250 reais", "1250"),
        ("forty", "40"),
        ("twenty-five", "25"),
        ("twenty five", "25"),
        ("a hundred", "100"),
        ("one hundred and twenty", "120"),
        ("two hundred and fifty", "250"),
        ("a thousand", "1000"),
        ("three thousand five hundred", "3500"),
        ("fifty thousand", "50000"),
        ("a dozen", "12"),
        ("two dozen", "24"),
        ("half a dozen", "6"),
        ("a couple of", "2"),
        ("a pair of", "2"),
        ("twelve", "12"),
        ("zero", "0"),
    ],
)
def test_a_single_amount_or_quantity_reads_as_its_value(text: str, expected: str) -> None:
    assert parse_number(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "money", "expected"),
    [
        ("1.250", True, "1250"),
        ("1.250", False, "1.250"),
        ("12.500", True, "12500"),
        ("0.250", True, "0.250"),
        ("1234.567", True, "1234.567"),
        ("1,250", False, "1250"),
        ("1,250", True, "1250"),
    ],
)
def test_a_dot_with_three_digits_groups_thousands_only_in_a_money_context(
    text: str, money: bool, expected: str
) -> None:
    assert parse_digits(text, money=money) == Decimal(expected)


def test_a_currency_marker_makes_a_dot_with_three_digits_thousands() -> None:
    (match,) = find_numbers("set it to R$ 1.250 please")
    assert match.value == Decimal("1250")
    assert match.currency == "BRL"


@pytest.mark.parametrize("text", ["1.2.3", "1,25,0", "12,34.567,8", "1.25,000"])
def test_malformed_groupings_are_not_numbers(text: str) -> None:
    assert parse_digits(text, money=True) is None


@pytest.mark.parametrize(
    ("text", "value", "percent"),
    [
        ("10%", "10", True),
        ("10 %", "10", True),
        ("12.5%", "12.5", True),
        ("10 percent", "10", True),
        ("10 per cent", "10", True),
        ("ten percent", "10", True),
        ("-5%", "-5", True),
        ("+10k", "10000", False),
    ],
)
def test_percentages_and_signs_are_recognised(text: str, value: str, percent: bool) -> None:
    (match,) = find_numbers(text)
    assert match.value == Decimal(value)
    assert match.percent is percent


@pytest.mark.parametrize(
    "text",
    [
        "HB-M8-40",
        "M8",
        "CC300",
        "F00001",
        "C00002",
        "account 1.1.02.001",
        "5.1.02.001",
        "on 2026-11-21",
        "on 21/11/2026",
        "cordless drill 18V",
        "a 40mm bolt",
        "paper A4",
        "#123",
    ],
)
def test_codes_dates_and_measurements_are_not_numbers(text: str) -> None:
    assert find_numbers(text) == []


def test_numbers_are_found_in_order_with_their_spans() -> None:
    text = "debit 5.1.02.001 1,200.00, credit 1.1.02.001 1,200.00 at R$ 0,80 each, 10%"
    found = find_numbers(text)
    assert [str(m.value) for m in found] == ["1200.00", "1200.00", "0.80", "10"]
    assert [text[m.start : m.end] for m in found] == ["1,200.00", "1,200.00", "R$ 0,80", "10%"]


def test_quantities_and_prices_in_one_request_are_both_found() -> None:
    found = find_numbers("order 40 hex bolts M8 from Fastenal at 0.80 each")
    assert [m.value for m in found] == [Decimal("40"), Decimal("0.80")]


def test_word_numbers_and_digit_numbers_mix() -> None:
    found = find_numbers("buy twenty-five washers and 15 nuts")
    assert [m.value for m in found] == [Decimal(25), Decimal(15)]
    assert found[0].from_words and not found[1].from_words


def test_a_lone_article_is_not_a_number() -> None:
    assert find_numbers("a box of gloves") == []


@pytest.mark.parametrize("text", ["40 hex bolts", "about 40", "R$ 40 each", "40 bolts and 20 nuts"])
def test_parse_number_refuses_text_that_is_more_than_one_number(text: str) -> None:
    assert parse_number(text) is None or text == "R$ 40 each"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the second one", 2),
        ("second", 2),
        ("2nd", 2),
        ("2", 2),
        ("#3", 3),
        ("option 1", 1),
        ("number 2", 2),
        ("the first", 1),
        ("the last one", -1),
        ("the latter", -1),
        ("third please", 3),
        ("Acme Fittings", None),
        ("F00003", None),
    ],
)
def test_ordinals_pick_a_position(text: str, expected: int | None) -> None:
    assert parse_ordinal(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("40.000", "40"), ("1.50", "1.5"), ("0.125", "0.125"), ("1200", "1200")]
)
def test_quantities_print_without_trailing_zeros(value: str, expected: str) -> None:
    assert format_decimal(Decimal(value)) == expected
