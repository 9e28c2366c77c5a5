"""*Resource booked*: any resource, or those chosen."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "resource_booked").title == "Resource booked"


def test_any_or_the_chosen_resources_fire_it():
    assert fires("resource_booked", {"resource_id": "room_1"})
    assert fires("resource_booked", {"resource_id": "room_1"}, {"resource_ids": ["room_1", "room_2"]})
    assert not fires("resource_booked", {"resource_id": "van"}, {"resource_ids": ["room_1", "room_2"]})


def test_resource_ids_are_ids():
    assert "resource_ids.0: String should match pattern" in refused_params(
        "resource_booked", {"resource_ids": ["room #1"]}
    )
