"""Tracking tokens, the open pixel and tracked links (``crm.domain.tracking``, pure)."""

from __future__ import annotations

import base64

import pytest

from crm.domain import tracking
from crm.domain.errors import Invalid
from crm.domain.tracking import Claims, Purpose
from crm.domain.trigger_events import ItemRef

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
MESSAGE = "AbCdEfGhIjKlMnOp"
CLICK = Claims(Purpose.CLICK, "acme", ItemRef("deal", "25"), MESSAGE, 3)


def test_a_token_verifies_under_its_key_and_purpose_and_says_what_it_was_made_for():
    token = tracking.sign(KEY, CLICK)
    assert tracking.verify(KEY, token, Purpose.CLICK) == CLICK
    assert tracking.claimed_tenant(token) == "acme"


def test_a_token_is_compact_and_url_safe():
    token = tracking.sign(
        KEY, Claims(Purpose.CLICK, "t-0123456789", ItemRef("smart_proc", "12345"), MESSAGE, 199)
    )
    assert len(token) <= 100
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_another_tenants_key_does_not_verify_it():
    assert tracking.verify(OTHER_KEY, tracking.sign(KEY, CLICK), Purpose.CLICK) is None


def test_a_token_for_one_purpose_is_no_token_for_another():
    opened = Claims(Purpose.OPEN, "acme", ItemRef("deal", "25"), MESSAGE)
    assert tracking.verify(KEY, tracking.sign(KEY, opened), Purpose.CLICK) is None
    assert tracking.verify(KEY, tracking.sign(KEY, opened), Purpose.REPLY) is None


def _payload(claims_text: str) -> str:
    return base64.urlsafe_b64encode(claims_text.encode()).rstrip(b"=").decode()


def test_a_changed_claim_with_the_old_tag_is_refused():
    _, tag = tracking.sign(KEY, CLICK).split(".")
    for changed in (
        "1|c|acme|deal|26|AbCdEfGhIjKlMnOp|3",
        "1|c|acme|deal|25|AbCdEfGhIjKlMnOp|4",
        "1|c|other|deal|25|AbCdEfGhIjKlMnOp|3",
    ):
        assert tracking.verify(KEY, f"{_payload(changed)}.{tag}", Purpose.CLICK) is None


def test_a_forged_tag_is_refused():
    payload, tag = tracking.sign(KEY, CLICK).split(".")
    for forged in ("", "A" * len(tag), tag[:-1], tag + "A", tag.swapcase()):
        assert tracking.verify(KEY, f"{payload}.{forged}", Purpose.CLICK) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "no-dot",
        "a.b.c",
        "!!!.abc",
        "x" * 600,
        _payload("2|c|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        _payload("1|c|acme|deal|25|short|3") + ".x",
        _payload("1|c|acme|deal|25|AbCdEfGhIjKlMnOp|-1") + ".x",
        _payload("1|o|acme|deal|25|AbCdEfGhIjKlMnOp|3") + ".x",
        "\u00e9t\u00e9.abc",
    ],
)
def test_what_is_no_token_has_no_tenant_and_does_not_verify(token):
    assert tracking.claimed_tenant(token) is None
    assert tracking.verify(KEY, token, Purpose.CLICK) is None
    assert tracking.verify(KEY, token, Purpose.OPEN) is None


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
