"""The condition language of triggers, robots and entry guards.

A condition is a tree of AND/OR groups whose leaves compare one item field with a value, as in
Bitrix24's "condition" editor. It is data (JSON), parsed once into these classes and evaluated by
walking the tree: nothing is ever evaluated as code.

    {"join": "and", "conditions": [
        {"field": "amount", "op": ">=", "value": 1000},
        {"join": "or", "conditions": [
            {"field": "source", "op": "in", "value": ["web", "call"]},
            {"field": "comments", "op": "!empty"}]}]}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crm.domain.errors import Invalid

MAX_DEPTH = 5
MAX_CLAUSES = 50

# Operators that take no value, one value, a list, or a [low, high] pair.
NO_VALUE = {"empty", "!empty"}
LIST_VALUE = {"in", "!in"}
PAIR_VALUE = {"between"}
OPERATORS = {"=", "!=", ">", ">=", "<", "<=", "contain", "!contain"} | NO_VALUE | LIST_VALUE | PAIR_VALUE


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides in one comparable form (number, date-time, date, text), or None if they are not."""
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    if isinstance(left, int | float) or isinstance(right, int | float):
        try:
            return float(left), float(right)
        except (TypeError, ValueError):
            return None
    if isinstance(left, str) and isinstance(right, str):
        for parse in (_as_datetime, _as_date):
            parsed_left, parsed_right = parse(left), parse(right)
            if parsed_left is not None and parsed_right is not None:
                return parsed_left, parsed_right
        return left.casefold(), right.casefold()
    return None


def _as_datetime(text: str) -> datetime | None:
    if "T" not in text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _as_date(text: str) -> date | None:
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _equal(left: Any, right: Any) -> bool:
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        pair = _comparable(left, right)
        if pair is None or isinstance(pair[0], bool):
            return False
        try:
            return test(*pair)
        except TypeError:
            return False

    return compare


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, list):
        return any(_equal(element, right) for element in left)
    if isinstance(left, str) and isinstance(right, str):
        return right.casefold() in left.casefold()
    return False


def _between(left: Any, bounds: list[Any]) -> bool:
    low, high = bounds
    return _ordered(lambda a, b: a >= b)(left, low) and _ordered(lambda a, b: a <= b)(left, high)


def _in(left: Any, options: list[Any]) -> bool:
    # A multiple field matches when any of its values is among the options.
    values = left if isinstance(left, list) else [left]
    return any(_equal(v, option) for v in values for option in options)


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda left, right: (
        any(_equal(v, right) for v in left) if isinstance(left, list) else _equal(left, right)
    ),
    "!=": lambda left, right: not _TESTS["="](left, right),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    "in": _in,
    "!in": lambda left, right: not _in(left, right),
    "contain": _contains,
    "!contain": lambda left, right: not _contains(left, right),
    "empty": lambda left, _: _is_empty(left),
    "!empty": lambda left, _: not _is_empty(left),
    "between": _between,
}


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: Any = None

    def holds(self, values: Callable[[str], Any]) -> bool:
        return _TESTS[self.op](values(self.field), self.value)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in NO_VALUE:
            data["value"] = self.value
        return data


@dataclass(frozen=True)
class Group:
    join: str  # "and" | "or"
    conditions: tuple[Clause | Group, ...]

    def holds(self, values: Callable[[str], Any]) -> bool:
        results = (c.holds(values) for c in self.conditions)
        return all(results) if self.join == "and" else any(results)

    def to_dict(self) -> dict[str, Any]:
        return {"join": self.join, "conditions": [c.to_dict() for c in self.conditions]}


Condition = Clause | Group

# A compared value longer than this is cut in an explanation: the journal shows it, it need not keep it.
SHOWN_TEXT = 200


def _shown(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SHOWN_TEXT:
        return value[:SHOWN_TEXT] + "…"
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


@dataclass(frozen=True)
class Comparison:
    """One clause as it was evaluated: the item's value next to the value it was compared with."""

    field: str
    op: str
    value: Any
    actual: Any
    held: bool

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op not in NO_VALUE:
            data["value"] = self.value
        return data | {"actual": _shown(self.actual), "held": self.held}


@dataclass(frozen=True)
class Explanation:
    """Whether a condition holds, and every clause's comparison that says why."""

    holds: bool
    compared: tuple[Comparison, ...]


def explain(condition: Condition, values: Callable[[str], Any]) -> Explanation:
    """``condition.holds(values)`` with its reasons: every clause is evaluated (no short cut), so
    the journal can show all the values that made a trigger's condition true or false."""
    if isinstance(condition, Clause):
        actual = values(condition.field)
        held = _TESTS[condition.op](actual, condition.value)
        return Explanation(held, (Comparison(condition.field, condition.op, condition.value, actual, held),))
    parts = [explain(c, values) for c in condition.conditions]
    results = [p.holds for p in parts]
    held = all(results) if condition.join == "and" else any(results)
    return Explanation(held, tuple(c for p in parts for c in p.compared))


def parse(data: Any) -> Condition:
    """A condition from its JSON form; Invalid with the path of the first mistake."""
    count = [0]
    return _parse(data, "condition", 1, count)


def _parse(data: Any, path: str, depth: int, count: list[int]) -> Condition:
    if not isinstance(data, dict):
        raise Invalid(f"{path}: expected an object")
    if "join" in data or "conditions" in data:
        if depth > MAX_DEPTH:
            raise Invalid(f"{path}: groups nest at most {MAX_DEPTH} deep")
        join = data.get("join", "and")
        if join not in ("and", "or"):
            raise Invalid(f"{path}.join: 'and' or 'or'")
        items = data.get("conditions")
        if not isinstance(items, list) or not items:
            raise Invalid(f"{path}.conditions: a non-empty list")
        extra = set(data) - {"join", "conditions"}
        if extra:
            raise Invalid(f"{path}: unknown keys {sorted(extra)}")
        parsed = tuple(
            _parse(item, f"{path}.conditions[{i}]", depth + 1, count) for i, item in enumerate(items)
        )
        return Group(join, parsed)
    count[0] += 1
    if count[0] > MAX_CLAUSES:
        raise Invalid(f"a condition has at most {MAX_CLAUSES} clauses")
    extra = set(data) - {"field", "op", "value"}
    if extra:
        raise Invalid(f"{path}: unknown keys {sorted(extra)}")
    field, op = data.get("field"), data.get("op")
    if not isinstance(field, str) or not field:
        raise Invalid(f"{path}.field: the name of a field")
    if not isinstance(op, str) or op not in OPERATORS:
        raise Invalid(f"{path}.op: one of {sorted(OPERATORS)}")
    value = data.get("value")
    if op in NO_VALUE:
        if value is not None:
            raise Invalid(f"{path}: {op!r} takes no value")
    elif op in LIST_VALUE:
        if not isinstance(value, list) or not value:
            raise Invalid(f"{path}.value: {op!r} takes a non-empty list")
    elif op in PAIR_VALUE:
        if not isinstance(value, list) or len(value) != 2:
            raise Invalid(f"{path}.value: 'between' takes [low, high]")
    elif "value" not in data or isinstance(value, dict | list):
        raise Invalid(f"{path}.value: {op!r} takes one value")
    return Clause(field, op, value)
