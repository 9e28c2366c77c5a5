"""*Change fields*: values (texts rendered) and arithmetic on numbers, asked as the item's changes;
arithmetic on a value that is not a number fails the robot for good."""

from __future__ import annotations

import pytest

from crm.domain.robots import RobotFailed
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_values_and_arithmetic_become_the_items_changes():
    item = deal(fields={"discount": 0.1, "visits": 2})
    params = {
        "values": {
            "title": "{{ item.title }} (priority)",
            "company": "Acme",
            "source": "web",
            "tags": ["a", "b"],
        },
        "arithmetic": [
            {"field": "amount", "add": 100},
            {"field": "discount", "add": 0.2},
            {"field": "visits", "multiply": 3},
        ],
    }
    outputs, ctx = ran(item, "change_fields", params)

    assert outputs == {"changed": ["title", "company", "source", "tags", "amount", "discount", "visits"]}
    assert ctx.effects.changes == {
        "title": "Ten laptops (priority)",
        "company": "Acme",
        "amount": 12100,
        "fields": {"source": "web", "tags": ["a", "b"], "discount": 0.3, "visits": 6},
    }


def test_an_empty_number_counts_as_zero():
    _, ctx = ran(deal(amount=None), "change_fields", {"arithmetic": [{"field": "amount", "add": 5.5}]})
    assert ctx.effects.changes == {"amount": 5.5}


def test_a_value_set_to_null_clears_it():
    _, ctx = ran(deal(fields={"source": "web"}), "change_fields", {"values": {"source": None}})
    assert ctx.effects.changes == {"fields": {"source": None}}


@pytest.mark.parametrize("value", ["many", True, [1, 2]])
def test_arithmetic_on_what_is_not_a_number_fails_for_good(value):
    with pytest.raises(RobotFailed) as failed:
        ran(deal(fields={"count": value}), "change_fields", {"arithmetic": [{"field": "count", "add": 1}]})
    assert not failed.value.retryable and "not a number" in str(failed.value)


def test_a_result_out_of_range_fails_for_good():
    with pytest.raises(RobotFailed):
        ran(deal(amount=9e14), "change_fields", {"arithmetic": [{"field": "amount", "multiply": 10}]})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "change at least one field"),
        ({"values": {"amount": 1}, "arithmetic": [{"field": "amount", "add": 1}]}, "changed once"),
        ({"values": {"stage_id": "WON"}}, "change stage robot"),
        ({"arithmetic": [{"field": "amount"}]}, "either add or multiply"),
        ({"arithmetic": [{"field": "amount", "add": 1, "multiply": 2}]}, "either add or multiply"),
        ({"arithmetic": [{"field": "amount", "add": "1"}]}, "add"),
        ({"values": {"title": "{{ broken"}}, "not a valid template"),
        ({"values": {"bad name!": 1}}, "values"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("change_fields", params)
