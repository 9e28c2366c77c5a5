"""*Send SMS*: a text message to the item's client (Bitrix24's "Send SMS"), through the SMS port
(SNS)."""

from __future__ import annotations

from pydantic import BaseModel

from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Params, Template
from crm.robots.outside import PhoneTemplate, client_phone, rendered, within

# What carriers deliver as one message at most: ten concatenated parts (Twilio's and SNS's limit).
MAX_TEXT = 1600


class SendSmsParams(Params):
    text: Template
    to: PhoneTemplate | None = None  # one of the item's phones; none: its first


class SendSmsOutputs(BaseModel):
    message_id: str


def send_sms(ctx: RobotContext, item: Item, params: SendSmsParams) -> dict[str, str]:
    to = client_phone(ctx, item, params.to)
    text = within(rendered(ctx.text, params.text, "text"), MAX_TEXT, "text")
    sent = ctx.ports.sms.send(ctx.tenant_id, to, text, idempotency_key=ctx.idempotency_key)
    return {"message_id": sent.id}


SEND_SMS = CATALOGUE.register(
    RuleType(
        "send_sms",
        RuleKind.ROBOT,
        "Send SMS",
        SendSmsParams,
        f"Sends a text message (a template, at most {MAX_TEXT} characters) to the client's phone.",
        run=send_sms,
        outputs=SendSmsOutputs,
    )
)
