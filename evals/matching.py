"""How an expected value in a case is compared with what the agent or the ERP produced.

A plain value matches exactly, with numbers compared as decimals (``400`` matches ``"400"`` and
``400.0``); a mapping matches the keys it names (others are ignored); a list matches item by item
and must have the same length. A mapping made only of matcher keys is a matcher:

- ``{contains: "withdrew"}``: the text contains it (case-insensitive);
- ``{one_of: [a, b]}``: equals one of them;
- ``{any: true}``: present and not null;
- ``{approx: 0.12, tolerance: 0.01}``: a number within the tolerance (default 0.01).

Every leaf compared is one :class:`FieldCheck`, so accuracy is the share of leaves that match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MATCHER_KEYS = frozenset({"contains", "one_of", "any", "approx", "tolerance"})
MISSING = "<missing>"


@dataclass(frozen=True)
class FieldCheck:
    """One expected leaf and whether the actual value matched it."""

    path: str
    ok: bool
    expected: Any
    actual: Any

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.path}: expected {shown(self.expected)}, got {shown(self.actual)}"


def shown(value: Any) -> str:
    """A compact, stable rendering of a value for diffs."""
    if isinstance(value, str):
        return value if value == MISSING else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def is_matcher(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= MATCHER_KEYS


def as_decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal when it is a number or numeric text; None otherwise (bools are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.replace(",", "")) if value.strip() else None
        except InvalidOperation:
            return None
    return None


def compare(expected: Any, actual: Any, path: str = "") -> list[FieldCheck]:
    """Every leaf of ``expected`` checked against ``actual`` (see the module docstring)."""
    where = path or "(value)"
    if is_matcher(expected):
        return [FieldCheck(where, _matches(expected, actual), expected, actual)]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [FieldCheck(f"{path}.{k}" if path else k, False, v, MISSING) for k, v in expected.items()]
        checks: list[FieldCheck] = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                checks.append(FieldCheck(sub, value is None, value, MISSING))
            else:
                checks += compare(value, actual[key], sub)
        return checks
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [FieldCheck(where, False, expected, actual)]
        checks = []
        for index, value in enumerate(expected):
            sub = f"{path}[{index}]"
            checks += compare(value, actual[index], sub) if index < len(actual) else _absent(value, sub)
        if len(actual) > len(expected):
            checks.append(FieldCheck(f"{path}[{len(expected)}:]", False, MISSING, actual[len(expected) :]))
        return checks
    return [FieldCheck(where, equal(expected, actual), expected, actual)]


def _absent(expected: Any, path: str) -> list[FieldCheck]:
    if isinstance(expected, dict) and not is_matcher(expected):
        return [FieldCheck(f"{path}.{k}", False, v, MISSING) for k, v in expected.items()]
    return [FieldCheck(path, False, expected, MISSING)]


def equal(expected: Any, actual: Any) -> bool:
    """Plain equality, numbers compared as decimals."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float | Decimal):
        number = as_decimal(actual)
        return number is not None and number == Decimal(str(expected))
    if isinstance(actual, int | float | Decimal) and not isinstance(actual, bool):
        number = as_decimal(expected)
        return number is not None and number == Decimal(str(actual))
    return bool(expected == actual)


def _matches(matcher: dict[str, Any], actual: Any) -> bool:
    if "any" in matcher:
        return (actual is not None and actual != MISSING) is bool(matcher["any"])
    if "contains" in matcher:
        return actual is not None and str(matcher["contains"]).casefold() in str(actual).casefold()
    if "one_of" in matcher:
        return any(equal(option, actual) for option in matcher["one_of"])
    if "approx" in matcher:
        target, number = as_decimal(matcher["approx"]), as_decimal(actual)
        tolerance = as_decimal(matcher.get("tolerance", "0.01")) or Decimal(0)
        return target is not None and number is not None and abs(number - target) <= tolerance
    return False


def check_matcher(value: Any, where: str) -> None:
    """Raise ValueError when a matcher in ``value`` is malformed (for case validation)."""
    if is_matcher(value):
        keys = set(value) - {"tolerance"}
        if len(keys) != 1:
            raise ValueError(f"{where}: a matcher has exactly one of contains, one_of, any, approx")
        if "one_of" in value and not isinstance(value["one_of"], list):
            raise ValueError(f"{where}: one_of takes a list")
        if "approx" in value and as_decimal(value["approx"]) is None:
            raise ValueError(f"{where}: approx takes a number")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            check_matcher(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_matcher(item, f"{where}[{index}]")


def canonical_args(value: Any) -> Any:
    """Tool-call arguments in one canonical form before agentevals compares them: numbers as
    decimal text without trailing zeros (``400``, ``400.0`` and ``"400"`` differ in JSON only),
    null values dropped (an omitted optional argument is the same call)."""
    if isinstance(value, dict):
        return {str(k): canonical_args(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [canonical_args(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)).normalize()
        return format(number, "f")
    return value
