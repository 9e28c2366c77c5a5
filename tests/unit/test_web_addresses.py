"""The one check of the web addresses the CRM sends browsers to (``crm.domain.urls``): http(s) with a
host, nothing that could end a header line or hide in one, no credentials, and what is returned is
rebuilt from the parts that were checked."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.urls import web_address


@pytest.mark.parametrize(
    "url, normal",
    [
        ("https://www.acme.example/thanks?from=form#top", "https://www.acme.example/thanks?from=form#top"),
        ("HTTP://WWW.Acme.Example:8080/Path", "http://www.acme.example:8080/Path"),
        ("https://acme.example", "https://acme.example"),
        ("https://bücher.example/straße?q=ä", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4"),
        ('https://acme.example/a"<b>{c}|\\', "https://acme.example/a%22%3Cb%3E%7Bc%7D%7C%5C"),
        ("https://acme.example/already%20escaped", "https://acme.example/already%20escaped"),
        ("http://[2001:DB8::1]:8443/x", "http://[2001:db8::1]:8443/x"),
        ("http://127.0.0.1:3000/forms/f_demo_0123456789ab?submitted=1", None),
    ],
)
def test_an_address_is_returned_normalised_and_plain_ascii(url, normal):
    checked = web_address(url, "thank_you_url")
    assert checked == (normal or url) and checked.isascii()
    assert web_address(checked, "thank_you_url") == checked  # normal already: unchanged


@pytest.mark.parametrize(
    "url",
    [
        # What urlsplit drops while parsing, and a check of the parts would not see
        "https://acme.example/thanks\r\nSet-Cookie: session=stolen",
        "https://acme.example/\nLocation: https://evil.example",
        "https://acme.\texample/",
        "https://acme.example/thanks\r",
        " https://acme.example/",
        "https://acme.example/a b",
        "https://acme.example/\x00",
        "https://acme.example/\u2028",  # a line separator
        "https://acme.example/\u202egnp.exe",  # a right-to-left override
        "https://acme.example/\u200b",  # a zero-width space
    ],
)
def test_control_characters_and_white_space_anywhere_are_refused(url):
    with pytest.raises(Invalid, match="line breaks or other control characters"):
        web_address(url, "thank_you_url")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://acme.example/",
        "//acme.example/thanks",
        "/thanks",
        "https:/acme.example",
        "https://",
        "https://:443/",
        "https://acme..example/",
        "https://acme.example:99999/",
        "https://acme.example:port/",
        "https://[not-an-address]/",
        "https://acme.example/" + "x" * 2048,
        "",
        None,
        42,
    ],
)
def test_anything_but_an_http_address_with_a_host_is_refused(url):
    with pytest.raises(Invalid, match="thank_you_url: an http"):
        web_address(url, "thank_you_url")


def test_credentials_are_refused_even_where_a_browser_reads_them_as_a_path():
    for url in ("https://user:secret@acme.example/", "https://acme.example\\@evil.example/"):
        with pytest.raises(Invalid, match="without a user name or password"):
            web_address(url, "link")


def test_the_length_cap_counts_the_address_as_it_is_returned():
    assert web_address("https://a.example/" + "x" * 100, "link", limit=118)
    with pytest.raises(Invalid, match="at most 118 characters"):
        web_address("https://a.example/" + "ä" * 30, "link", limit=118)  # 6 characters each, escaped
