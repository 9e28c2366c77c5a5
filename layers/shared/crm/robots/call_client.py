"""*Call the client and speak a text*: the telephony provider calls the item's client and reads a
text aloud (Bitrix24's "Call client with text-to-speech"; Twilio's ``<Say>``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Params, Template
from crm.robots.outside import PhoneTemplate, client_phone, rendered, within

# Twilio's <Say> speaks at most 3,000 bytes with a Polly voice (4,096 with its basic ones): one
# limit for every voice, so that changing the voice never breaks a robot that worked.
MAX_TEXT_BYTES = 3000
# Twilio's basic voices and a few Amazon Polly ones (the language comes with the voice).
Voice = Literal[
    "alice",
    "man",
    "woman",
    "Polly.Joanna",
    "Polly.Matthew",
    "Polly.Amy",
    "Polly.Brian",
    "Polly.Marlene",
    "Polly.Hans",
    "Polly.Celine",
    "Polly.Mathieu",
    "Polly.Tatyana",
    "Polly.Maxim",
]


class CallClientParams(Params):
    text: Template
    voice: Voice = "alice"
    to: PhoneTemplate | None = None  # one of the item's phones; none: its first


class CallClientOutputs(BaseModel):
    call_id: str


def call_client(ctx: RobotContext, item: Item, params: CallClientParams) -> dict[str, str]:
    if ctx.ports.telephony is None:
        raise RobotFailed("no telephony provider configured", retryable=False)
    to = client_phone(ctx, item, params.to)
    text = within(
        rendered(ctx.text, params.text, "text"),
        MAX_TEXT_BYTES,
        "text",
        size=lambda text: len(text.encode()),
        unit="bytes",
    )
    call = ctx.ports.telephony.call_and_say(
        ctx.tenant_id, to, text, voice=params.voice, idempotency_key=ctx.idempotency_key
    )
    return {"call_id": call.id}


CALL_CLIENT = CATALOGUE.register(
    RuleType(
        "call_client",
        RuleKind.ROBOT,
        "Call the client and speak a text",
        CallClientParams,
        "Calls the client's phone and reads a text (a template) aloud in the voice chosen.",
        run=call_client,
        outputs=CallClientOutputs,
    )
)
