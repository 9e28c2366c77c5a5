"""The condition language of triggers, robots and guards: every operator on the value types items
carry, AND/OR groups, and parsing that refuses bad input with the path of the mistake."""

from __future__ import annotations

from typing import Any

import pytest

from crm.domain.conditions import MAX_CLAUSES, MAX_DEPTH, OPERATORS, Clause, Group, parse
from crm.domain.errors import Invalid

_NO_VALUE = object()


def holds(actual: Any, op: str, value: Any = _NO_VALUE) -> bool:
    """Whether one clause on a field holding ``actual`` holds."""
    data: dict[str, Any] = {"field": "f", "op": op}
    if value is not _NO_VALUE:
        data["value"] = value
    return parse(data).holds(lambda name: actual)


def invalid(data: Any) -> str:
    with pytest.raises(Invalid) as error:
        parse(data)
    return str(error.value)


# ---------------------------------------------------------------- = and !=


@pytest.mark.parametrize(
    ("actual", "value", "expected"),
    [
        (1000, 1000, True),
        (1000.0, 1000, True),
        (1000, 1001, False),
        (1000, "1000", True),  # number against numeric text
        ("1000", 1000, True),
        ("1000.50", 1000.5, True),
        (1000, "a thousand", False),
        ("Web", "web", True),  # text is compared case-insensitively
        ("Straße", "STRASSE", True),  # ... with Unicode case folding
        ("web", "web ", False),
        (True, True, True),
        (True, 1, False),  # booleans are not numbers
        (1, True, False),
        (True, "true", False),
        (None, "web", False),
        ("2026-03-02", "2026-03-02", True),
        ("2026-03-02T12:00:00+02:00", "2026-03-02T10:00:00Z", True),  # the same instant
        ("2026-03-02T12:00:00+02:00", "2026-03-02T12:00:00Z", False),
    ],
)
def test_equality_compares_values_of_one_kind(actual, value, expected):
    assert holds(actual, "=", value) is expected
    assert holds(actual, "!=", value) is not expected


@pytest.mark.parametrize(
    ("actual", "value", "expected"),
    [
        (["web", "call"], "CALL", True),
        (["web", "call"], "mail", False),
        ([1000, 2000], "2000", True),
        ([], "web", False),
    ],
)
def test_equality_on_a_multiple_field_holds_when_any_value_matches(actual, value, expected):
    assert holds(actual, "=", value) is expected
    assert holds(actual, "!=", value) is not expected


def test_a_missing_field_is_unequal_to_everything():
    assert holds(None, "!=", "web")
    assert not holds(None, "=", "web")


# ---------------------------------------------------------------- > >= < <=


@pytest.mark.parametrize(
    ("actual", "op", "value", "expected"),
    [
        (1500, ">", 1000, True),
        (1000, ">", 1000, False),
        (1000, ">=", 1000, True),
        (999.99, ">=", 1000, False),
        (999.99, "<", 1000, True),
        (1000, "<", 1000, False),
        (1000, "<=", 1000, True),
        (1000.01, "<=", 1000, False),
        # numeric text is compared as a number, not as text ("900" > "1000" as text)
        ("900", ">", 1000, False),
        (900, "<", "1000", True),
        ("1e3", ">=", 1000, True),
        # ISO dates and offset-aware date-times are compared in time
        ("2026-03-02", ">", "2026-03-01", True),
        ("2026-03-02", "<=", "2026-03-02", True),
        ("2026-03-02", "<", "2026-03-02", False),
        # 09:00Z is after 10:00+02:00 (08:00Z), though it sorts before it as text
        ("2026-03-02T09:00:00+00:00", ">", "2026-03-02T10:00:00+02:00", True),
        ("2026-03-02T09:00:00Z", "<", "2026-03-02T10:00:00+02:00", False),
        # other text is ordered case-insensitively
        ("apple", "<", "Banana", True),
        ("APPLE", ">=", "apple", True),
    ],
)
def test_ordering(actual, op, value, expected):
    assert holds(actual, op, value) is expected


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
@pytest.mark.parametrize(
    ("actual", "value"),
    [
        (None, 0),  # a missing value is neither more nor less than anything
        ("abc", 5),  # text that is not a number is not ordered against a number
        (5, "abc"),
        (True, False),  # booleans have no order
        ({"a": 1}, 1),
    ],
)
def test_ordering_values_that_do_not_compare_never_holds(actual, op, value):
    assert holds(actual, op, value) is False


# ---------------------------------------------------------------- in and !in


@pytest.mark.parametrize(
    ("actual", "options", "expected"),
    [
        ("web", ["web", "call"], True),
        ("WEB", ["web"], True),
        ("mail", ["web", "call"], False),
        (1000, ["1000", "2000"], True),
        ("2000", [1000, 2000], True),
        (["mail", "call"], ["web", "call"], True),  # a multiple field: any of its values
        (["mail"], ["web", "call"], False),
        ([], ["web"], False),
        (None, ["web"], False),
    ],
)
def test_in_and_not_in(actual, options, expected):
    assert holds(actual, "in", options) is expected
    assert holds(actual, "!in", options) is not expected


# ---------------------------------------------------------------- contain and !contain


@pytest.mark.parametrize(
    ("actual", "value", "expected"),
    [
        ("Please CALL me tomorrow", "call", True),  # text: a case-insensitive substring
        ("Please call me", "invoice", False),
        (["vip", "partner"], "VIP", True),  # a multiple field: one of its values
        (["vip client"], "vip", False),  # ... equal to it, not a substring of it
        ([1000, 2000], "2000", True),
        ([], "vip", False),
        (None, "vip", False),
    ],
)
def test_contain_and_not_contain(actual, value, expected):
    assert holds(actual, "contain", value) is expected
    assert holds(actual, "!contain", value) is not expected


# ---------------------------------------------------------------- empty and !empty


@pytest.mark.parametrize("actual", [None, "", [], {}])
def test_empty_values(actual):
    assert holds(actual, "empty")
    assert not holds(actual, "!empty")


@pytest.mark.parametrize("actual", [0, 0.0, False, " ", "x", [None], ["x"], {"a": 1}])
def test_values_that_are_not_empty(actual):
    assert not holds(actual, "empty")
    assert holds(actual, "!empty")


def test_empty_accepts_an_explicit_null_value():
    assert holds(None, "empty", None)


# ---------------------------------------------------------------- between


@pytest.mark.parametrize(
    ("actual", "bounds", "expected"),
    [
        (1000, [1000, 2000], True),  # both bounds are inclusive
        (2000, [1000, 2000], True),
        (1500.5, [1000, 2000], True),
        (999.99, [1000, 2000], False),
        (2000.01, [1000, 2000], False),
        ("1500", [1000, 2000], True),
        (1500, ["1000", "2000"], True),
        ("2026-03-01", ["2026-03-01", "2026-03-31"], True),
        ("2026-03-31", ["2026-03-01", "2026-03-31"], True),
        ("2026-04-01", ["2026-03-01", "2026-03-31"], False),
        ("2026-03-02T01:00:00+03:00", ["2026-03-01T00:00:00Z", "2026-03-01T23:00:00Z"], True),
        ("2026-03-02T01:00:00+00:00", ["2026-03-01T00:00:00Z", "2026-03-01T23:00:00Z"], False),
        (None, [1000, 2000], False),
        ("abc", [1000, 2000], False),
        (1500, [2000, 1000], False),  # reversed bounds: an empty range
    ],
)
def test_between(actual, bounds, expected):
    assert holds(actual, "between", bounds) is expected


# ---------------------------------------------------------------- AND / OR groups

EXAMPLE = {
    "join": "and",
    "conditions": [
        {"field": "amount", "op": ">=", "value": 1000},
        {
            "join": "or",
            "conditions": [
                {"field": "source", "op": "in", "value": ["web", "call"]},
                {"field": "comments", "op": "!empty"},
            ],
        },
    ],
}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"amount": 1500, "source": "web"}, True),
        ({"amount": 1500, "source": "mail", "comments": "call back"}, True),
        ({"amount": 1500, "source": "mail"}, False),  # the OR fails
        ({"amount": 500, "source": "web", "comments": "x"}, False),  # the AND fails
        ({}, False),
    ],
)
def test_nested_and_or_groups(values, expected):
    assert parse(EXAMPLE).holds(values.get) is expected


def test_or_of_ands():
    condition = parse(
        {
            "join": "or",
            "conditions": [
                {
                    "join": "and",
                    "conditions": [
                        {"field": "city", "op": "=", "value": "Berlin"},
                        {"field": "amount", "op": ">", "value": 100},
                    ],
                },
                {"field": "vip", "op": "=", "value": True},
            ],
        }
    )
    assert condition.holds({"city": "berlin", "amount": 101}.get)
    assert condition.holds({"city": "Paris", "vip": True}.get)
    assert not condition.holds({"city": "Berlin", "amount": 100}.get)


def test_a_group_without_join_is_an_and():
    condition = parse(
        {"conditions": [{"field": "a", "op": "=", "value": 1}, {"field": "b", "op": "=", "value": 2}]}
    )
    assert condition == Group("and", (Clause("a", "=", 1), Clause("b", "=", 2)))
    assert not condition.holds({"a": 1, "b": 3}.get)


def test_parsed_conditions_round_trip_through_their_json_form():
    parsed = parse(EXAMPLE)
    assert parsed.to_dict() == EXAMPLE
    assert parse(parsed.to_dict()) == parsed


def test_a_single_clause_is_a_condition_on_its_own():
    assert parse({"field": "amount", "op": ">", "value": 5}) == Clause("amount", ">", 5)


# ---------------------------------------------------------------- parse errors


def test_a_condition_must_be_an_object():
    assert invalid("amount > 1000") == "condition: expected an object"
    assert "conditions[0]: expected an object" in invalid({"join": "and", "conditions": ["amount > 1"]})


@pytest.mark.parametrize("op", ["~=", "eq", "", None, ["="], {"op": "="}, 1])
def test_an_unknown_operator_is_refused_listing_the_known_ones(op):
    message = invalid({"field": "amount", "op": op, "value": 1})
    assert message.startswith("condition.op: one of")
    for known in OPERATORS:
        assert repr(known) in message


def test_a_missing_operator_is_refused():
    assert invalid({"field": "amount", "value": 1}).startswith("condition.op:")


@pytest.mark.parametrize("field", [None, "", 5, ["amount"]])
def test_a_clause_names_a_field(field):
    data = {"op": "=", "value": 1} if field is None else {"field": field, "op": "=", "value": 1}
    assert invalid(data) == "condition.field: the name of a field"


@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<=", "contain", "!contain"])
def test_a_comparison_needs_its_value(op):
    assert invalid({"field": "f", "op": op}) == f"condition.value: {op!r} takes one value"


@pytest.mark.parametrize("value", [[1], {"a": 1}])
def test_a_comparison_takes_one_value_not_a_list_or_object(value):
    assert invalid({"field": "f", "op": ">", "value": value}) == "condition.value: '>' takes one value"


@pytest.mark.parametrize("op", ["empty", "!empty"])
def test_empty_takes_no_value(op):
    assert invalid({"field": "f", "op": op, "value": "x"}) == f"condition: {op!r} takes no value"


@pytest.mark.parametrize("value", [None, "web", [], {"a": 1}])
@pytest.mark.parametrize("op", ["in", "!in"])
def test_in_takes_a_non_empty_list(op, value):
    assert (
        invalid({"field": "f", "op": op, "value": value}) == f"condition.value: {op!r} takes a non-empty list"
    )


@pytest.mark.parametrize("value", [None, 5, [1], [1, 2, 3], {"low": 1, "high": 2}])
def test_between_takes_a_pair(value):
    assert (
        invalid({"field": "f", "op": "between", "value": value})
        == "condition.value: 'between' takes [low, high]"
    )


@pytest.mark.parametrize("join", ["xor", "AND", None, ["and"]])
def test_a_group_joins_with_and_or_or(join):
    assert (
        invalid({"join": join, "conditions": [{"field": "f", "op": "empty"}]})
        == "condition.join: 'and' or 'or'"
    )


@pytest.mark.parametrize("conditions", [None, [], {"field": "f", "op": "empty"}])
def test_a_group_has_a_non_empty_list_of_conditions(conditions):
    data = {"join": "or"} if conditions is None else {"join": "or", "conditions": conditions}
    assert invalid(data) == "condition.conditions: a non-empty list"


def test_unknown_keys_are_refused_by_name():
    assert (
        invalid({"field": "f", "op": "=", "value": 1, "negate": True}) == "condition: unknown keys ['negate']"
    )
    assert (
        invalid({"join": "and", "conditions": [{"field": "f", "op": "empty"}], "not": 1, "limit": 2})
        == "condition: unknown keys ['limit', 'not']"
    )


def test_a_mistake_deep_inside_is_reported_with_its_path():
    data = {
        "join": "and",
        "conditions": [
            {"field": "a", "op": "empty"},
            {"join": "or", "conditions": [{"field": "b", "op": "like", "value": "x"}]},
        ],
    }
    assert invalid(data).startswith("condition.conditions[1].conditions[0].op: one of")


def nested(depth: int) -> dict:
    """``depth`` groups, each inside the one before, around one clause."""
    condition: dict = {"field": "f", "op": "empty"}
    for _ in range(depth):
        condition = {"join": "and", "conditions": [condition]}
    return condition


def test_groups_nest_up_to_the_bound():
    assert parse(nested(MAX_DEPTH)).holds({}.get)


def test_groups_nested_too_deep_are_refused():
    message = invalid(nested(MAX_DEPTH + 1))
    assert message.endswith(f"groups nest at most {MAX_DEPTH} deep")
    assert message.startswith("condition" + ".conditions[0]" * MAX_DEPTH)


def clauses(n: int) -> list[dict]:
    return [{"field": f"f{i}", "op": "!empty"} for i in range(n)]


def test_up_to_the_clause_bound_is_accepted():
    condition = parse({"join": "and", "conditions": clauses(MAX_CLAUSES)})
    assert len(condition.conditions) == MAX_CLAUSES


def test_too_many_clauses_are_refused():
    assert invalid({"join": "or", "conditions": clauses(MAX_CLAUSES + 1)}) == (
        f"a condition has at most {MAX_CLAUSES} clauses"
    )


def test_clauses_are_counted_across_nested_groups():
    half = MAX_CLAUSES // 2 + 1
    data = {
        "join": "and",
        "conditions": [
            {"join": "or", "conditions": clauses(half)},
            {"join": "or", "conditions": clauses(half)},
        ],
    }
    assert invalid(data) == f"a condition has at most {MAX_CLAUSES} clauses"


# ---------------------------------------------------------------- it is data, never code


def test_code_in_a_field_name_or_value_is_just_data(tmp_path):
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    asked: list[str] = []

    def values(name: str) -> Any:
        asked.append(name)
        return {code: "__import__('os')"}.get(name)

    condition = parse(
        {
            "join": "or",
            "conditions": [
                {"field": code, "op": "=", "value": "__import__('os')"},
                {"field": code, "op": "contain", "value": code},
                {"field": code, "op": "in", "value": [code, "eval('1')"]},
            ],
        }
    )

    assert condition.holds(values)  # the first clause compares the text with the text
    assert not condition.conditions[1].holds(values)
    assert not condition.conditions[2].holds(values)
    assert set(asked) == {code}
    assert not marker.exists()


def test_code_as_an_operator_is_refused():
    assert invalid({"field": "f", "op": "__import__('os')", "value": 1}).startswith("condition.op: one of")
