"""The sender identities the platform operator grants a tenant (crm.domain.senders): what a grant
covers, and what is no identity at all."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.senders import SenderIdentities, sender_address, sender_domain


def test_a_domain_covers_every_address_at_exactly_that_domain():
    granted = SenderIdentities.granted(domains=["Acme.COM."])
    assert granted.covers("sales@acme.com") and granted.covers("Info@ACME.com")
    assert not granted.covers("sales@eu.acme.com")  # a subdomain is granted on its own
    assert not granted.covers("sales@acme.com.evil.test")
    assert not granted.covers("sales@notacme.com")


def test_an_address_covers_itself_only():
    granted = SenderIdentities.granted(addresses=["CEO@Acme.org"])
    assert granted.covers("ceo@acme.org")
    assert not granted.covers("sales@acme.org")


def test_nothing_granted_covers_nothing_and_says_so():
    assert not SenderIdentities()
    assert not SenderIdentities().covers("sales@acme.com")
    assert (
        SenderIdentities().described()
        == "none yet: the platform operator grants sender domains and addresses"
    )


def test_international_names_are_granted_and_matched_in_ascii():
    granted = SenderIdentities.granted(domains=["bücher.example"])
    assert granted.values() == ["xn--bcher-kva.example"]
    assert granted.covers("info@bücher.example") and granted.covers("info@xn--bcher-kva.example")


def test_identities_are_stored_as_one_list_and_read_back():
    granted = SenderIdentities.granted(["b.test", "a.test"], ["z@c.test"])
    assert granted.values() == ["a.test", "b.test", "z@c.test"]
    assert SenderIdentities.stored(granted.values()) == granted
    assert granted.described() == "any address at a.test, any address at b.test, z@c.test"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "localhost",
        "sales@acme.com",
        "https://acme.com",
        "acme..com",
        "-acme.com",
        "acme_x.com",
        "a" * 64 + ".com",
    ],
)
def test_what_is_no_domain_name_is_refused(raw):
    with pytest.raises(Invalid, match="is not a domain name"):
        sender_domain(raw)


@pytest.mark.parametrize("raw", ["acme.com", "sales", "sales@localhost", "a@b@acme.com"])
def test_what_is_no_address_is_refused(raw):
    with pytest.raises(Invalid):
        sender_address(raw)


def test_an_address_that_is_no_address_is_covered_by_nothing():
    assert not SenderIdentities.granted(domains=["acme.com"]).covers("not an address")
