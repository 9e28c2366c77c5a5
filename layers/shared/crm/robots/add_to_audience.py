"""*Add the contact to an ad audience*: the item's client joins an advertising audience (Bitrix24's
"Add to audience" for Facebook, Google and VK), through a webhook to the endpoint that feeds the
ad provider: signed, keyed and answered as ``crm.robots.web`` says.

The client's emails and phones leave the CRM only hashed: SHA-256 of their normal form, as the
providers' customer matching requires it (Google Customer Match, Meta Custom Audiences). Emails
are trimmed and lower-cased for both; a phone is E.164 for Google ("+4930123456") and its digits
only for Meta ("4930123456"). The providers hash the data they hold the same way and compare."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.web import AnswerOutputs, SignedPostParams, post_signed

Provider = Literal["google", "meta"]


class AddToAudienceParams(SignedPostParams):
    audience_id: str = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    provider: Provider = Field(description="whose matching rules the contact is hashed by")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hashed_emails(emails: list[str]) -> list[str]:
    return list(dict.fromkeys(_sha256(email.strip().lower()) for email in emails))


def hashed_phones(phones: list[str], provider: Provider) -> list[str]:
    """``phones`` as stored (E.164), hashed in the form ``provider`` hashes its own."""
    normal = (phone.strip() if provider == "google" else phone.strip().lstrip("+") for phone in phones)
    return list(dict.fromkeys(_sha256(phone) for phone in normal))


def add_to_audience(ctx: RobotContext, item: Item, params: AddToAudienceParams) -> dict[str, Any]:
    if not item.emails and not item.phones:
        raise RobotFailed(f"{item.ref} has no email or phone to match the client by", retryable=False)
    payload = {
        "audience_id": params.audience_id,
        "provider": params.provider,
        "contact": {
            "email_sha256": hashed_emails(item.emails),
            "phone_sha256": hashed_phones(item.phones, params.provider),
        },
    }
    return post_signed(ctx, params, payload)


ADD_TO_AUDIENCE = CATALOGUE.register(
    RuleType(
        "add_to_audience",
        RuleKind.ROBOT,
        "Add the contact to an ad audience",
        AddToAudienceParams,
        "Sends the client's emails and phones, SHA-256 hashed as Google and Meta match them, to the "
        "endpoint feeding an ad audience (a signed webhook).",
        run=add_to_audience,
        outputs=AnswerOutputs,
    )
)
