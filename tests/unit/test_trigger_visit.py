"""*Site visit*: any page, or the pages given, with the URL filter of tracked links."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params

PRICING = "https://shop.example.com/pricing?plan=pro"


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "visit").title == "Site visit"


def test_any_page_or_the_pages_given_fire_it():
    assert fires("visit", {"url": PRICING})
    assert fires(
        "visit", {"url": PRICING}, {"url": "https://shop.example.com/pricing", "url_match": "prefix"}
    )
    assert fires("visit", {"url": PRICING}, {"url": "pricing", "url_match": "contains"})
    assert not fires("visit", {"url": PRICING}, {"url": "https://shop.example.com/pricing"})


def test_a_relative_address_is_refused_for_an_exact_match():
    assert "url: an http(s) address, unless" in refused_params("visit", {"url": "/pricing"})
