"""*Field value changed*: watched fields, firing once on the change that crosses the values given."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params

ABOVE_10K = {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]}


def changed(field: str, old, new, params) -> bool:
    return fires("field_changed", {"changes": {field: {"old": old, "new": new}}}, params)


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "field_changed").title == "Field value changed"


def test_any_change_of_a_watched_field_fires_it():
    params = {"fields": [{"field": "title"}, {"field": "budget_code"}]}
    assert changed("title", "Laptops", "Ten laptops", params)
    assert changed("budget_code", None, "B-7", params)  # a custom field, by its code
    assert not changed("company", "Acme", "Acme Ltd", params)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (9_000, 12_000, True),  # crosses 10,000: fires
        (12_000, 15_000, False),  # already above: a later save does not fire again
        (12_000, 9_000, False),  # goes below
        (None, 12_000, True),  # from nothing to above
        (10_000, 10_001, True),
        (9_000, 10_000, False),  # reaches, but is not above
    ],
)
def test_going_above_a_threshold_fires_once_on_the_crossing(old, new, expected):
    assert changed("amount", old, new, ABOVE_10K) is expected


def test_old_and_new_together_describe_a_transition():
    params = {
        "fields": [
            {"field": "status", "old": {"op": "=", "value": "draft"}, "new": {"op": "=", "value": "sent"}}
        ]
    }
    assert changed("status", "draft", "sent", params)
    assert not changed("status", "review", "sent", params)
    assert not changed("status", "draft", "review", params)


def test_leaving_a_state_fires_when_the_new_value_no_longer_passes():
    params = {"fields": [{"field": "company", "old": {"op": "empty"}}]}
    assert changed("company", None, "Acme", params)
    assert not changed("company", "Acme", "Acme Ltd", params)


def test_a_change_to_the_same_value_is_no_change():
    assert not changed("title", "x", "x", {"fields": [{"field": "title"}]})


def test_any_of_several_watches_fires_it():
    params = {"fields": [{"field": "title"}, *ABOVE_10K["fields"]]}
    event = {"changes": {"amount": {"old": 12_000, "new": 13_000}, "title": {"old": "a", "new": "b"}}}
    assert fires("field_changed", event, params)


@pytest.mark.parametrize("field", ["stage_id", "pipeline_id", "responsible_id"])
def test_stage_pipeline_and_responsible_are_not_watched(field):
    assert f"{field!r} is not watched by this trigger" in refused_params(
        "field_changed", {"fields": [{"field": field}]}
    )


@pytest.mark.parametrize("field", ["type", "id", "version", "fields"])
def test_attributes_no_update_changes_are_not_watched(field):
    # A watch on one of them could never fire: custom fields are watched by their codes.
    assert f"{field!r} is never changed by an update" in refused_params(
        "field_changed", {"fields": [{"field": field}]}
    )


@pytest.mark.parametrize("field", ["responsible_id", "stage_id", "fields", "a b"])
def test_an_event_carries_only_changes_a_watch_may_name(field):
    # The event data agrees with the params: what no watch may name is not an event's change.
    with pytest.raises(Invalid, match="data"):
        changed(field, "x", "y", {"fields": [{"field": "title"}]})


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"fields": []}, "fields: List should have at least 1 item"),
        (
            {"fields": [{"field": "amount", "new": {"op": "~", "value": 1}}]},
            "fields.0.new: Value error, op: one of",
        ),
        ({"fields": [{"field": "amount", "new": {"op": ">"}}]}, "'>' takes one value"),
        ({"fields": [{"field": "amount", "new": {"op": "empty", "value": 3}}]}, "'empty' takes no value"),
        (
            {"fields": [{"field": "amount", "to": {"op": ">", "value": 3}}]},
            "fields.0.to: Extra inputs are not permitted",
        ),
        ({"fields": [{"field": "a b"}]}, "fields.0.field: String should match pattern"),
    ],
)
def test_bad_watches_are_refused_with_their_place(params, problem):
    assert problem in refused_params("field_changed", params)


def test_stored_params_read_back_the_same():
    stored = CATALOGUE.validated_params(RuleKind.TRIGGER, "field_changed", ABOVE_10K)
    assert CATALOGUE.validated_params(RuleKind.TRIGGER, "field_changed", stored) == stored
    assert changed("amount", 9_000, 12_000, stored)
