"""*CRM form filled*: any form, or the forms chosen."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    described = CATALOGUE.get(RuleKind.TRIGGER, "form_filled").describe()
    assert described["title"] == "CRM form filled"
    assert set(described["params_schema"]["properties"]) == {"form_ids"}


def test_without_a_form_filter_any_form_fires_it():
    assert fires("form_filled", {"form_id": "contact_us"})


@pytest.mark.parametrize(
    ("form", "expected"), [("contact_us", True), ("price_request", True), ("jobs", False)]
)
def test_with_a_form_filter_only_those_forms_fire_it(form, expected):
    params = {"form_ids": ["contact_us", "price_request"]}
    assert fires("form_filled", {"form_id": form}, params) is expected


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"form_ids": ["has space"]}, "form_ids.0: String should match pattern"),
        ({"form_ids": [f"f{n}" for n in range(51)]}, "form_ids: List should have at most 50 items"),
        ({"forms": ["contact_us"]}, "forms: Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_refused_with_their_place(params, problem):
    assert problem in refused_params("form_filled", params)


def test_an_event_without_its_form_is_refused_not_taken_for_another_form():
    from crm.domain.errors import Invalid

    with pytest.raises(Invalid, match=r"data of a 'form_filled' event: form_id: Field required"):
        fires("form_filled", {})
