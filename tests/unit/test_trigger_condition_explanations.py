"""Conditions explain themselves for the journal: every clause with the item's value next to the
value it was compared with, and whether it held."""

from __future__ import annotations

from crm.domain.conditions import SHOWN_TEXT, Comparison, explain, parse

CONDITION = parse(
    {
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
)
VALUES = {"amount": 500, "source": "call", "comments": None}


def test_the_explanation_agrees_with_the_condition():
    for values in (VALUES, VALUES | {"amount": 1500}, {"amount": 1500, "source": "mail", "comments": ""}):
        assert explain(CONDITION, values.get).holds is CONDITION.holds(values.get)


def test_every_clause_is_compared_even_after_the_outcome_is_known():
    explanation = explain(CONDITION, VALUES.get)
    assert explanation.holds is False
    assert explanation.compared == (
        Comparison("amount", ">=", 1000, 500, False),
        Comparison("source", "in", ["web", "call"], "call", True),
        Comparison("comments", "!empty", None, None, False),
    )


def test_comparisons_serialise_for_the_journal():
    assert [c.to_dict() for c in explain(CONDITION, VALUES.get).compared] == [
        {"field": "amount", "op": ">=", "value": 1000, "actual": 500, "held": False},
        {"field": "source", "op": "in", "value": ["web", "call"], "actual": "call", "held": True},
        {"field": "comments", "op": "!empty", "actual": None, "held": False},
    ]


def test_long_texts_are_shown_cut():
    long = "x" * 5000
    shown = explain(parse({"field": "notes", "op": "contain", "value": "y"}), {"notes": long}.get).compared[0]
    assert shown.actual == long  # the comparison itself saw the whole value
    assert shown.to_dict()["actual"] == "x" * SHOWN_TEXT + "…"
    many = explain(parse({"field": "tags", "op": "empty"}), {"tags": [long, "b"]}.get).compared[0]
    assert many.to_dict()["actual"] == ["x" * SHOWN_TEXT + "…", "b"]
