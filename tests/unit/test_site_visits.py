"""Sites and the visits their pages report: origins, keys, what a visit may carry, whose word a
contact token is, and what "returned to the site" means."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from crm.domain.errors import Forbidden, Invalid
from crm.domain.origins import normal_origin, origin_of
from crm.domain.sites import (
    MAX_TOKEN_LIFETIME,
    Site,
    TokenCheck,
    TokenVerdict,
    Visit,
    is_return,
    new_secret,
    parse_key,
)
from crm.domain.trigger_events import Contact, ContactKind

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "crmsitesecret_" + "A" * 43
SHOP = Site("acme", "0a1b2c3d4e5f", "Shop", ("HTTPS://Shop.Example/", "http://localhost:8080"), NOW, SECRET)
VISIT = {"url": "https://shop.example/pricing?plan=pro", "visitor_id": "v-1"}


def contact_token(secret: str, claims: dict) -> str:
    """A contact token as the README tells a site's backend to make one (not the CRM's code)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = b64(json.dumps(claims).encode())
    return payload + "." + b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def maria(visitor_id: str = "v-1", expires: datetime = NOW + timedelta(hours=1), **claims) -> dict:
    return {
        "email": "Maria@Client.Example",
        "visitor_id": visitor_id,
        "exp": int(expires.timestamp()),
        **claims,
    }


MARIAS_TAG = contact_token(SECRET, maria()).split(".")[1]


# ---------------------------------------------------------------- origins and keys


def test_origins_are_kept_in_their_normal_form_and_the_key_names_tenant_and_site():
    assert SHOP.origins == ("https://shop.example", "http://localhost:8080")
    assert parse_key(SHOP.key) == ("acme", "0a1b2c3d4e5f")
    assert parse_key("crmsite_acme_0a1b2c3d4e5") is None
    assert parse_key("crmhook_acme_0a1b2c3d4e5f") is None
    assert parse_key("crmsite_acme_0a1b2c3d4e5f\n") is None


@pytest.mark.parametrize("origin", ["shop.example", "ftp://shop.example", "https://shop.example/page", ""])
def test_an_origin_is_scheme_and_host_only(origin):
    with pytest.raises(Invalid, match="origin"):
        Site("acme", "0a1b2c3d4e5f", "Shop", (origin,), NOW, SECRET)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("HTTPS://Shop.Example/", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),  # browsers leave a default port out
        ("http://shop.example:80", "http://shop.example"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://магазин.рф", "https://xn--80aairftm.xn--p1ai"),  # browsers send the ASCII form
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_one_helper_gives_origins_the_form_browsers_send(given, normal):
    assert normal_origin(given) == normal


@pytest.mark.parametrize(
    "origin", ["null", "https://u@shop.example", "https://shop.example:99999", "https://a b", "https://", 5]
)
def test_what_is_no_origin_is_refused_naming_the_field(origin):
    with pytest.raises(Invalid, match=r"^allowed origin"):
        normal_origin(origin, "allowed origin")


def test_a_pages_origin_is_read_from_its_address():
    assert origin_of("https://Shop.Example:443/pricing?plan=pro#top") == "https://shop.example"
    for url in ("javascript:alert(1)", "/pricing", None):
        with pytest.raises(Invalid, match="url"):
            origin_of(url)


def test_webforms_and_sites_normalise_origins_alike():
    from crm.domain.forms import check_origin

    assert check_origin("https://Shop.Example:443/") == SHOP.check_origin("https://shop.example")


def test_only_the_sites_origins_may_report_visits():
    assert SHOP.check_origin("https://shop.example") == "https://shop.example"
    for origin in ("https://evil.example", "null", None, "https://shop.example.evil.example"):
        with pytest.raises(Forbidden):
            SHOP.check_origin(origin)


# ---------------------------------------------------------------- visits


def test_a_visit_carries_the_page_the_visitor_and_the_backends_token():
    visit = Visit.of({**VISIT, "contact_token": "abc.def", "event_id": "pv-1"}, SHOP)
    assert (visit.url, visit.visitor_id, visit.contact_token, visit.event_id) == (
        VISIT["url"],
        "v-1",
        "abc.def",
        "pv-1",
    )
    assert Visit.of(VISIT, SHOP).contact_token is None


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([VISIT], "JSON object"),
        ({**VISIT, "item": "DEAL_1"}, "has no ['item']"),
        ({**VISIT, "email": "maria@client.example"}, "only in contact_token"),
        ({**VISIT, "phone": "+447700900123"}, "only in contact_token"),
        ({**VISIT, "url": "https://other.example/"}, "a page of the site"),
        ({**VISIT, "url": "javascript:alert(1)"}, "url"),
        ({**VISIT, "url": "x" * 2049}, "url"),
        ({**VISIT, "visitor_id": "a b"}, "visitor_id"),
        ({**VISIT, "visitor_id": "v-1\n"}, "visitor_id"),
        ({"url": VISIT["url"]}, "visitor_id"),
        ({**VISIT, "contact_token": 5}, "contact_token"),
        ({**VISIT, "contact_token": ""}, "contact_token"),
        ({**VISIT, "contact_token": "x" * 2049}, "contact_token"),
        ({**VISIT, "event_id": "with space"}, "event_id"),
    ],
)
def test_anything_else_is_refused_with_a_message(document, says):
    with pytest.raises(Invalid) as refused:
        Visit.of(document, SHOP)
    assert says in str(refused.value)


def test_a_return_is_a_visit_after_thirty_minutes_without_one():
    assert not is_return(None, NOW)  # the first visit
    assert not is_return(NOW - timedelta(minutes=29), NOW)  # the same session
    assert is_return(NOW - timedelta(minutes=30), NOW)
    assert is_return(NOW - timedelta(days=3), NOW)


# ---------------------------------------------------------------- contact tokens


def test_a_token_the_sites_backend_signed_vouches_for_its_contact():
    check = SHOP.vouched_contact(contact_token(SECRET, maria()), "v-1", NOW)
    assert check == TokenCheck(TokenVerdict.VERIFIED, Contact(ContactKind.EMAIL, "maria@client.example"))
    by_phone = {"phone": "+44 7700 900123", "visitor_id": "v-1", "exp": int(NOW.timestamp()) + 60}
    assert SHOP.vouched_contact(contact_token(SECRET, by_phone), "v-1", NOW).contact == Contact(
        ContactKind.PHONE, "+447700900123"
    )
    # Claims the CRM does not know are ignored
    assert (
        SHOP.vouched_contact(contact_token(SECRET, maria(iat=1)), "v-1", NOW).verdict is TokenVerdict.VERIFIED
    )


def test_an_expired_token_vouches_for_no_one():
    token = contact_token(SECRET, maria(expires=NOW))
    assert SHOP.vouched_contact(token, "v-1", NOW) == TokenCheck(TokenVerdict.EXPIRED)
    assert SHOP.vouched_contact(token, "v-1", NOW - timedelta(seconds=1)).verdict is TokenVerdict.VERIFIED


@pytest.mark.parametrize(
    "token",
    [
        # another contact's claims under Maria's signature, and Maria's claims under a changed one
        contact_token(SECRET, maria(email="eve@attacker.example")).split(".")[0] + "." + MARIAS_TAG,
        contact_token(SECRET, maria()).split(".")[0]
        + "."
        + ("B" if MARIAS_TAG[0] == "A" else "A")
        + MARIAS_TAG[1:],
        contact_token("crmsitesecret_" + "B" * 43, maria()),  # another site's secret
        contact_token(SECRET, maria(visitor_id="v-2")),  # signed for another visitor
        contact_token(SECRET, maria(expires=NOW + MAX_TOKEN_LIFETIME + timedelta(seconds=1))),
        contact_token(SECRET, {**maria(), "exp": int(NOW.timestamp() + 3600) * 1000}),  # milliseconds
        contact_token(SECRET, {**maria(), "exp": str(int(NOW.timestamp()) + 60)}),
        contact_token(SECRET, {"visitor_id": "v-1", "exp": int(NOW.timestamp()) + 60}),  # no contact
        contact_token(SECRET, {**maria(), "phone": "+447700900123"}),  # two contacts
        contact_token(SECRET, {**maria(), "email": "not-an-email"}),
        contact_token(SECRET, ["v-1"]),  # type: ignore[arg-type]
        "no-dot",
        "a.b.c",
        "ünïcode.tag",
        ".",
    ],
)
def test_a_forged_tampered_or_misdirected_token_is_refused(token):
    assert SHOP.vouched_contact(token, "v-1", NOW) == TokenCheck(TokenVerdict.REFUSED)


def test_the_previous_secret_verifies_during_its_grace_period_only():
    new = new_secret()
    rotated = SHOP.rotated(new, NOW, timedelta(hours=24))
    old_token, new_token = contact_token(SECRET, maria()), contact_token(new, maria())

    assert rotated.vouched_contact(new_token, "v-1", NOW).verdict is TokenVerdict.VERIFIED
    assert rotated.vouched_contact(old_token, "v-1", NOW).verdict is TokenVerdict.VERIFIED
    later = NOW + timedelta(hours=24)
    late_token = contact_token(SECRET, maria(expires=later + timedelta(hours=1)))
    assert rotated.vouched_contact(late_token, "v-1", later).verdict is TokenVerdict.REFUSED
    assert rotated.as_of(later).previous_secret is None
    # Ended early, or a rotation without grace: only the newest secret verifies
    assert rotated.without_previous().vouched_contact(old_token, "v-1", NOW).verdict is TokenVerdict.REFUSED
    assert SHOP.rotated(new, NOW, timedelta(0)).vouched_contact(old_token, "v-1", NOW).verdict is (
        TokenVerdict.REFUSED
    )


def test_two_secrets_at_most_and_the_grace_period_is_bounded():
    second, third = new_secret(), new_secret()
    twice = SHOP.rotated(second, NOW, timedelta(hours=1)).rotated(third, NOW, timedelta(hours=1))
    assert (twice.secret, twice.previous_secret) == (third, second)
    assert twice.vouched_contact(contact_token(SECRET, maria()), "v-1", NOW).verdict is TokenVerdict.REFUSED
    with pytest.raises(Invalid, match="grace"):
        SHOP.rotated(second, NOW, timedelta(days=31))
    with pytest.raises(Invalid, match="secret"):
        Site("acme", "0a1b2c3d4e5f", "Shop", ("https://shop.example",), NOW, "guessable")


def test_secrets_are_256_random_bits_and_never_printed():
    first, second = new_secret(), new_secret()
    assert first != second and len(base64.urlsafe_b64decode(first.split("_", 1)[1] + "=")) == 32
    assert SECRET not in repr(SHOP.rotated(first, NOW, timedelta(hours=1)))
