"""Contact keys: the normal forms of emails and phones that items are found by."""

from __future__ import annotations

import re

from crm.domain.errors import Invalid

# Deliberately loose: the mail server is the judge of deliverability; this catches typing mistakes.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normal_email(raw: str) -> str:
    email = raw.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise Invalid(f"{raw!r} is not an email address")
    return email


def normal_phone(raw: str, region: str | None = None) -> str:
    """E.164 (+4930123456). Without a region the number must be written with its country code."""
    import phonenumbers  # here: its metadata costs cold-start time and most requests carry no phone

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Invalid(f"{raw!r} is not a phone number (write it with its country code, +...)") from None
    if not phonenumbers.is_possible_number(number):
        raise Invalid(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_keys(emails: list[str], phones: list[str]) -> set[str]:
    """The look-up keys of an item's contact data (already normalised)."""
    return {f"email:{e}" for e in emails} | {f"phone:{p}" for p in phones}
