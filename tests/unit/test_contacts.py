"""Contact keys: emails and phones in the normal form items are found by."""

from __future__ import annotations

import pytest

from crm.domain.contacts import contact_keys, normal_email, normal_phone
from crm.domain.errors import Invalid


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("anna@example.com", "anna@example.com"),
        ("  Anna.Smith@Example.COM \n", "anna.smith@example.com"),
        ("sales+crm@mail.example.co.uk", "sales+crm@mail.example.co.uk"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw, normal):
    assert normal_email(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "anna", "anna@example", "@example.com", "anna@", "an na@example.com", "a@b@example.com"]
)
def test_what_is_not_an_email_address_is_refused(raw):
    with pytest.raises(Invalid, match="is not an email address"):
        normal_email(raw)


def test_an_email_address_is_at_most_254_characters():
    domain = "@example.com"
    assert normal_email("a" * (254 - len(domain)) + domain)
    with pytest.raises(Invalid):
        normal_email("a" * (255 - len(domain)) + domain)


@pytest.mark.parametrize(
    ("raw", "region", "normal"),
    [
        ("+49 30 123456", None, "+4930123456"),
        ("+1 (650) 253-0000", None, "+16502530000"),
        ("+7 495 123-45-67", None, "+74951234567"),
        ("(030) 123456", "DE", "+4930123456"),  # a national number in the given region
        ("030/123456", "DE", "+4930123456"),
        ("+44 20 7946 0958", "DE", "+442079460958"),  # the written country code wins over the region
        ("00 44 20 7946 0958", "DE", "+442079460958"),  # the international prefix from Germany
    ],
)
def test_phones_are_written_in_e164(raw, region, normal):
    assert normal_phone(raw, region) == normal


def test_a_national_number_without_a_region_needs_its_country_code():
    with pytest.raises(Invalid, match=r"write it with its country code"):
        normal_phone("030 123456")


@pytest.mark.parametrize("raw", ["", "call me", "+44 1"])
def test_what_is_not_a_phone_number_is_refused(raw):
    with pytest.raises(Invalid, match="is not a phone number"):
        normal_phone(raw)


@pytest.mark.parametrize("raw", ["+1 650 253", "+1 650 253 00001111"])
def test_a_number_of_an_impossible_length_is_refused(raw):
    with pytest.raises(Invalid, match="is not a possible phone number"):
        normal_phone(raw)


def test_contact_keys_name_their_kind():
    assert contact_keys(["anna@example.com"], ["+4930123456", "+16502530000"]) == {
        "email:anna@example.com",
        "phone:+4930123456",
        "phone:+16502530000",
    }
    assert contact_keys([], []) == set()
