"""Tracking tokens, the tenant's signing keys, the open pixel and tracked links
(``crm.domain.tracking``, pure)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from crm.domain import tracking
from crm.domain.errors import Invalid
from crm.domain.tracking import Claims, KeyRing, Purpose, SigningKey
from crm.domain.trigger_events import ItemRef

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = SigningKey(1, bytes(range(32)), T0)
OTHER_KEY = SigningKey(1, bytes(range(1, 33)), T0)
ACME = KeyRing("acme", KEY)
MESSAGE = "AbCdEfGhIjKlMnOp"
CLICK = Claims(Purpose.CLICK, "acme", ItemRef("deal", "25"), MESSAGE, 3)


def test_a_token_verifies_under_its_key_and_purpose_and_says_what_it_was_made_for():
    token = tracking.sign(KEY, CLICK)
    assert tracking.verify(ACME, token, Purpose.CLICK, T0) == CLICK
    assert tracking.signed_by(token) == ("acme", 1)


def test_a_token_is_compact_and_url_safe():
    token = tracking.sign(
        KEY, Claims(Purpose.CLICK, "t-0123456789", ItemRef("smart_proc", "12345"), MESSAGE, 199)
    )
    assert len(token) <= 100
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_another_tenants_key_does_not_verify_it():
    token = tracking.sign(KEY, CLICK)
    assert tracking.verify(KeyRing("acme", OTHER_KEY), token, Purpose.CLICK, T0) is None
    # nor does the signing tenant's key vouch for a token claiming another tenant
    assert tracking.verify(KeyRing("globex", KEY), token, Purpose.CLICK, T0) is None


def test_a_token_for_one_purpose_is_no_token_for_another():
    opened = Claims(Purpose.OPEN, "acme", ItemRef("deal", "25"), MESSAGE)
    assert tracking.verify(ACME, tracking.sign(KEY, opened), Purpose.CLICK, T0) is None
    assert tracking.verify(ACME, tracking.sign(KEY, opened), Purpose.REPLY, T0) is None


def _payload(claims_text: str) -> str:
    return base64.urlsafe_b64encode(claims_text.encode()).rstrip(b"=").decode()


def test_a_changed_claim_with_the_old_tag_is_refused():
    _, tag = tracking.sign(KEY, CLICK).split(".")
    for changed in (
        "2|1|c|acme|deal|26|AbCdEfGhIjKlMnOp|3",
        "2|1|c|acme|deal|25|AbCdEfGhIjKlMnOp|4",
        "2|1|c|other|deal|25|AbCdEfGhIjKlMnOp|3",
    ):
        assert tracking.verify(ACME, f"{_payload(changed)}.{tag}", Purpose.CLICK, T0) is None


def test_a_forged_tag_is_refused():
    payload, tag = tracking.sign(KEY, CLICK).split(".")
    for forged in ("", "A" * len(tag), tag[:-1], tag + "A", tag.swapcase()):
        assert tracking.verify(ACME, f"{payload}.{forged}", Purpose.CLICK, T0) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "no-dot",
        "a.b.c",
        "!!!.abc",
        "x" * 600,
        _payload("3|1|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        _payload("1|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",  # format 1, before key ids
        _payload("2|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",  # no key id
        _payload("2|0|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        _payload("2|01|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        _payload("2|1234567|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        _payload("2|1|c|acme|deal|25|short|3") + ".x",
        _payload("2|1|c|acme|deal|25|AbCdEfGhIjKlMnOp|-1") + ".x",
        _payload("2|1|o|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        "\u00e9t\u00e9.abc",
    ],
)
def test_what_is_no_token_has_no_signer_and_does_not_verify(token):
    assert tracking.signed_by(token) is None
    assert tracking.verify(ACME, token, Purpose.CLICK, T0) is None
    assert tracking.verify(ACME, token, Purpose.OPEN, T0) is None


# ---------------------------------------------------------------- rotation


def test_a_token_names_the_key_that_signed_it():
    rotated = ACME.rotated(T0)
    token = tracking.sign(rotated.current, CLICK)
    assert rotated.current.id == 2 and tracking.signed_by(token) == ("acme", 2)
    # the key id is signed: naming another key breaks the tag
    payload, tag = token.split(".")
    renamed = _payload(base64.urlsafe_b64decode(payload + "==").decode().replace("2|2|", "2|1|", 1))
    assert tracking.verify(rotated, f"{renamed}.{tag}", Purpose.CLICK, T0) is None


def test_after_a_rotation_the_new_key_signs_and_the_previous_verifies_during_the_grace_period():
    old_token = tracking.sign(KEY, CLICK)
    rotated = ACME.rotated(T0 + timedelta(days=1), timedelta(days=30))
    new_token = tracking.sign(rotated.current, CLICK)

    assert rotated.previous == KEY and rotated.previous_valid_until == T0 + timedelta(days=31)
    assert rotated.current.material != KEY.material and rotated.rotated_at == T0 + timedelta(days=1)
    for token in (old_token, new_token):
        assert tracking.verify(rotated, token, Purpose.CLICK, T0 + timedelta(days=30)) == CLICK
    # the grace period over: the old key's tokens are forged, the new key's verify
    ended = T0 + timedelta(days=31)
    assert tracking.verify(rotated, old_token, Purpose.CLICK, ended) is None
    assert tracking.verify(rotated, new_token, Purpose.CLICK, ended) == CLICK
    assert rotated.as_of(ended).previous is None


def test_a_retired_or_unknown_key_verifies_nothing():
    old_token = tracking.sign(KEY, CLICK)
    rotated = ACME.rotated(T0)
    assert tracking.verify(rotated.without_previous(), old_token, Purpose.CLICK, T0) is None
    assert tracking.verify(ACME.rotated(T0, timedelta(0)), old_token, Purpose.CLICK, T0) is None
    # a key this ring has never seen (made later, or never): nothing to verify with
    later = tracking.sign(rotated.rotated(T0).current, CLICK)
    assert not rotated.knows(3) and rotated.knows(1)
    assert tracking.verify(rotated, later, Purpose.CLICK, T0) is None
    # a key with the retired key's id but other material (forged): refused too
    assert (
        tracking.verify(rotated, tracking.sign(SigningKey(1, b"\0" * 32, T0), CLICK), Purpose.CLICK, T0)
        is None
    )


def test_two_keys_verify_at_most_a_second_rotation_retires_the_oldest():
    first = tracking.sign(KEY, CLICK)
    twice = ACME.rotated(T0).rotated(T0 + timedelta(hours=1))
    assert (twice.current.id, twice.previous.id) == (3, 2)
    assert tracking.verify(twice, first, Purpose.CLICK, T0 + timedelta(hours=1)) is None
    assert tracking.verify(twice, tracking.sign(twice.previous, CLICK), Purpose.CLICK, T0) == CLICK


@pytest.mark.parametrize("grace", [timedelta(days=-1), timedelta(days=366)])
def test_a_grace_period_is_0_to_365_days(grace):
    with pytest.raises(Invalid):
        ACME.rotated(T0, grace)
    assert ACME.rotated(T0, timedelta(days=365)).previous_valid_until == T0 + timedelta(days=365)


def test_signing_keys_are_256_random_bits_and_never_shown():
    made = {SigningKey.new(1, T0).material for _ in range(3)}
    assert len(made) == 3 and all(len(material) == 32 for material in made)
    assert repr(KEY.material) not in repr(ACME) and "material" not in repr(KEY)
    with pytest.raises(Invalid):
        SigningKey(1, b"short", T0)
    with pytest.raises(Invalid):
        SigningKey(0, bytes(32), T0)


def test_claims_refuse_what_no_token_may_say():
    with pytest.raises(Invalid):
        Claims(Purpose.OPEN, "acme", ItemRef("deal", "25"), MESSAGE, 1)
    with pytest.raises(Invalid):
        Claims(Purpose.CLICK, "acme", ItemRef("deal", "25"), MESSAGE)
    with pytest.raises(Invalid):
        Claims(Purpose.OPEN, "Acme!", ItemRef("deal", "25"), MESSAGE)


def test_a_message_id_carries_a_token_as_its_local_part():
    token = tracking.sign(KEY, Claims(Purpose.REPLY, "acme", ItemRef("deal", "25"), MESSAGE))
    header = tracking.message_id_header(token, "mail.acme.test")
    assert header == f"<{token}@mail.acme.test>"
    assert tracking.token_of_message_id(header) == token
    assert tracking.token_of_message_id(" <CAF+x=y@mail.gmail.com> ") is None
    assert tracking.token_of_message_id("no id at all") is None


def test_the_pixel_is_the_43_byte_transparent_gif():
    assert len(tracking.PIXEL) == 43
    assert tracking.PIXEL.startswith(b"GIF89a\x01\x00\x01\x00") and tracking.PIXEL.endswith(b";")


def tracked(html: str) -> tracking.TrackedHtml:
    return tracking.track_links(html, lambda n: f"https://crm.test/t/c/T{n}", "https://crm.test/t/o/P")


def test_http_links_are_rewritten_in_order_and_their_addresses_kept():
    html = (
        '<p>See <a class="btn" href="https://shop.test/offer?a=1&amp;b=2">the offer</a> and '
        "<A HREF=http://shop.test/terms>terms</A>.</p>"
    )
    result = tracked(html)
    assert result.links == ("https://shop.test/offer?a=1&b=2", "http://shop.test/terms")
    assert '<a class="btn" href="https://crm.test/t/c/T0">the offer</a>' in result.html
    assert '<A HREF="https://crm.test/t/c/T1">terms</A>' in result.html


def test_other_links_stay_as_written():
    html = (
        "<a href='mailto:sales@acme.test'>mail us</a> <a href=\"tel:+4930123\">call</a> "
        '<a href="#top">top</a> <a name="x">anchor</a> <a data-href="https://x.test" href="/relative">r</a>'
    )
    result = tracked(html)
    assert result.links == ()
    assert result.html.startswith(html)


def test_the_pixel_goes_before_the_end_of_the_body_or_at_the_end():
    with_body = tracked("<html><body><p>Hi</p></body></html>").html
    assert with_body.endswith(
        '<img src="https://crm.test/t/o/P" width="1" height="1" alt="" style="display:none"></body></html>'
    )
    assert tracked("<p>Hi</p>").html.startswith('<p>Hi</p><img src="https://crm.test/t/o/P"')


def test_links_over_lines_and_beyond_the_limit():
    many = "\n".join(f'<a\nhref="https://shop.test/{n}">{n}</a>' for n in range(tracking.MAX_LINKS + 5))
    result = tracked(many)
    assert len(result.links) == tracking.MAX_LINKS
    assert result.links[7] == "https://shop.test/7"
    assert 'href="https://crm.test/t/c/T7">7<' in result.html
    assert f'href="https://shop.test/{tracking.MAX_LINKS + 1}"' in result.html


@pytest.mark.parametrize(
    ("purpose", "method", "agent", "ip", "why"),
    [
        (Purpose.OPEN, "HEAD", "Mozilla/5.0", "198.51.100.1", "HEAD"),
        (Purpose.CLICK, "head", "Mozilla/5.0", "198.51.100.1", "HEAD"),
        (Purpose.OPEN, "GET", "Mozilla/5.0", "17.58.63.1", "Apple Mail Privacy Protection"),
        (Purpose.CLICK, "GET", "Mozilla/5.0 (compatible; Mimecast URL protect)", "198.51.100.1", "mimecast"),
        (Purpose.CLICK, "GET", "Slackbot-LinkExpanding 1.0", "198.51.100.1", "slackbot"),
        (Purpose.OPEN, "GET", "Mozilla/5.0 (compatible; SafeLinks)", "2001:db8::1", "safelinks"),
    ],
)
def test_heads_prefetchers_and_scanners_are_told_apart(purpose, method, agent, ip, why):
    assert why in tracking.automated(purpose, method, agent, ip)


@pytest.mark.parametrize(
    ("purpose", "agent", "ip"),
    [
        (
            Purpose.OPEN,
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "66.249.84.1",
        ),
        (Purpose.CLICK, "Mozilla/5.0 (Macintosh) Safari/605.1.15", "17.58.63.1"),  # a person at Apple clicks
        (Purpose.OPEN, None, "not an address"),
        (Purpose.CLICK, "curl/8.5.0", ""),
    ],
)
def test_people_and_gmails_image_proxy_count(purpose, agent, ip):
    assert tracking.automated(purpose, "GET", agent, ip) is None


def test_a_link_longer_than_an_event_carries_stays_as_written():
    long = "https://shop.test/?" + "q" * tracking.MAX_URL
    result = tracked(f'<a href="{long}">long</a> <a href="https://shop.test/short">short</a>')
    assert result.links == ("https://shop.test/short",)
    assert f'href="{long}"' in result.html and 'href="https://crm.test/t/c/T0">short' in result.html


def test_an_href_inside_another_attributes_value_is_not_the_link():
    """The attribute the parser reads is the one rewritten: not ' href=' written inside a title."""
    html = (
        '<a title=\'see href="https://title.test" here\' href="https://good.test/offer">offer</a>'
        ' <a data-x="a href=https://nope.test" href="" HREF=\'https://second.test\'>second</a>'
    )
    result = tracked(html)
    assert result.links == ("https://good.test/offer", "https://second.test")
    assert result.html.startswith(
        '<a title=\'see href="https://title.test" here\' href="https://crm.test/t/c/T0">offer</a>'
        ' <a data-x="a href=https://nope.test" href="" HREF="https://crm.test/t/c/T1">second</a>'
    )


@pytest.mark.parametrize(
    "href",
    [
        "https://good.test/&#13;&#10;Set-Cookie:%20x=1",  # a line break into the redirect's Location
        "https://good.test/a&#9;b",
        "https://good.test/a b",
        "https://user:secret@good.test/",
        "https://good.test:99999/",
        "javascript:alert(1)",
    ],
)
def test_links_the_url_checker_refuses_stay_as_written_and_untracked(href):
    html = f'<a href="{href}">x</a> <a href="https://shop.test/ok">ok</a>'
    result = tracked(html)
    assert result.links == ("https://shop.test/ok",)
    assert result.html.startswith(f'<a href="{href}">x</a> <a href="https://crm.test/t/c/T0">ok</a>')


def test_a_tracked_link_redirects_to_the_address_as_the_url_checker_writes_it():
    result = tracked('<a href=" https://Shop.TEST/caf\u00e9?x=1&amp;y=2\n">x</a>')
    assert result.links == ("https://shop.test/caf%C3%A9?x=1&y=2",)
