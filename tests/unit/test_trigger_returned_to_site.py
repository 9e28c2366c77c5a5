"""*Client returned to site*: a known client came back."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params, trigger_event


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "returned_to_site").title == "Client returned to site"


def test_every_return_fires_it():
    assert fires("returned_to_site", {"url": "https://shop.example.com/"})


def test_a_plain_visit_is_not_a_return():
    returned = CATALOGUE.get(RuleKind.TRIGGER, "returned_to_site")
    assert not returned.matches(trigger_event("visit", {"url": "https://shop.example.com/"}), {})


def test_it_takes_no_params_and_its_events_name_the_page():
    assert "url: Extra inputs are not permitted" in refused_params(
        "returned_to_site", {"url": "https://x.example"}
    )
    with pytest.raises(Invalid, match="url: Field required"):
        fires("returned_to_site", {})
