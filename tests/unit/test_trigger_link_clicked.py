"""*Link in email clicked*: any link, or the link given (same page, a page under it, or containing)."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params

OFFER = "https://shop.example.com/offers/7?utm=mail"


def clicked(link: str, **params) -> bool:
    return fires("link_clicked", {"message_id": "<offer-7@crm.example>", "url": link}, params)


def test_it_is_in_the_catalogue_in_the_crms_words():
    described = CATALOGUE.get(RuleKind.TRIGGER, "link_clicked").describe()
    assert described["title"] == "Link in email clicked"
    assert set(described["params_schema"]["properties"]) == {"url", "url_match"}


def test_without_a_url_any_link_fires_it():
    assert clicked(OFFER)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com/offers/7?utm=mail", True),
        ("HTTPS://Shop.Example.com/offers/7?utm=mail", True),  # scheme and host are case-blind
        ("https://shop.example.com/offers/7?utm=mail#top", True),  # fragments never reach a server
        ("https://shop.example.com/offers/7", False),
        ("https://shop.example.com/Offers/7?utm=mail", False),  # the path is case-sensitive
    ],
)
def test_an_exact_url_is_the_same_page(url, expected):
    assert clicked(url, url=OFFER) is expected


def test_an_empty_path_is_the_root_page():
    assert clicked("https://shop.example.com/", url="https://shop.example.com")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com/offers/7", True),
        ("https://shop.example.com/offers/", True),
        ("https://shop.example.com/blog/offers/7", False),
        ("https://other.example.com/offers/7", False),
    ],
)
def test_a_prefix_is_any_page_under_it(url, expected):
    assert clicked(url, url="https://shop.example.com/offers/", url_match="prefix") is expected


def test_contains_looks_for_a_text_anywhere_in_the_link_ignoring_case():
    assert clicked(OFFER, url="OFFERS/7", url_match="contains")
    assert not clicked(OFFER, url="pricing", url_match="contains")


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"url": "shop.example.com/offers"}, "url: an http(s) address, unless url_match is 'contains'"),
        (
            {"url": "ftp://shop.example.com/", "url_match": "prefix"},
            "url: an http(s) address, unless url_match is 'contains'",
        ),
        ({"url": "x", "url_match": "regex"}, "url_match: Input should be 'exact', 'prefix' or 'contains'"),
        ({"url": "https://x.example/" + "a" * 2048}, "url: String should have at most 2048 characters"),
        ({"url": ""}, "url: String should have at least 1 character"),
    ],
)
def test_bad_url_filters_are_refused(params, problem):
    assert problem in refused_params("link_clicked", params)
