"""Sites and the visits their pages report: origins, keys, what a visit may carry, and what
"returned to the site" means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.domain.errors import Forbidden, Invalid
from crm.domain.sites import Site, Visit, is_return, parse_key
from crm.domain.trigger_events import Contact, ContactKind

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SHOP = Site("acme", "0a1b2c3d4e5f", "Shop", ("HTTPS://Shop.Example/", "http://localhost:8080"), NOW)
VISIT = {"url": "https://shop.example/pricing?plan=pro", "visitor_id": "v-1"}


def test_origins_are_kept_in_their_normal_form_and_the_key_names_tenant_and_site():
    assert SHOP.origins == ("https://shop.example", "http://localhost:8080")
    assert parse_key(SHOP.key) == ("acme", "0a1b2c3d4e5f")
    assert parse_key("crmsite_acme_0a1b2c3d4e5") is None
    assert parse_key("crmhook_acme_0a1b2c3d4e5f") is None


@pytest.mark.parametrize("origin", ["shop.example", "ftp://shop.example", "https://shop.example/page", ""])
def test_an_origin_is_scheme_and_host_only(origin):
    with pytest.raises(Invalid, match="origin"):
        Site("acme", "0a1b2c3d4e5f", "Shop", (origin,), NOW)


def test_only_the_sites_origins_may_report_visits():
    assert SHOP.check_origin("https://shop.example") == "https://shop.example"
    for origin in ("https://evil.example", "null", None, "https://shop.example.evil.example"):
        with pytest.raises(Forbidden):
            SHOP.check_origin(origin)


def test_a_visit_carries_the_page_the_visitor_and_the_contact_when_known():
    visit = Visit.of({**VISIT, "email": "Maria@Client.Example", "phone": "+44 7700 900123"}, SHOP)
    assert (visit.url, visit.visitor_id) == (VISIT["url"], "v-1")
    assert visit.contact == Contact(ContactKind.EMAIL, "maria@client.example")
    assert Visit.of({**VISIT, "phone": "+44 7700 900123"}, SHOP).contact == Contact(
        ContactKind.PHONE, "+447700900123"
    )
    assert Visit.of(VISIT, SHOP).contact is None


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([VISIT], "JSON object"),
        ({**VISIT, "item": "DEAL_1"}, "has no ['item']"),
        ({**VISIT, "url": "https://other.example/"}, "a page of the site"),
        ({**VISIT, "url": "javascript:alert(1)"}, "url"),
        ({**VISIT, "url": "x" * 2049}, "url"),
        ({**VISIT, "visitor_id": "a b"}, "visitor_id"),
        ({"url": VISIT["url"]}, "visitor_id"),
        ({**VISIT, "email": "not-an-email"}, "not an email"),
        ({**VISIT, "email": 5}, "email: a text"),
        ({**VISIT, "event_id": "with space"}, "event_id"),
    ],
)
def test_anything_else_is_refused_with_a_message(document, says):
    with pytest.raises(Invalid, match=None) as refused:
        Visit.of(document, SHOP)
    assert says in str(refused.value)


def test_a_return_is_a_visit_after_thirty_minutes_without_one():
    assert not is_return(None, NOW)  # the first visit
    assert not is_return(NOW - timedelta(minutes=29), NOW)  # the same session
    assert is_return(NOW - timedelta(minutes=30), NOW)
    assert is_return(NOW - timedelta(days=3), NOW)
