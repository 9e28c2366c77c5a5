"""*Outgoing webhook*: an HTTPS POST of the item's data to another system (Bitrix24's "Webhook"
robot), signed, keyed for idempotency; fields of its JSON answer become the robot's outputs, which
the robots after it read (``{{ robots.<robot id>.<field> }}``). What is sent and how the answer is
read: ``crm.robots.web``.

The body is the item's values (``{"item": {...}}``), or the object ``body`` describes, each value a
template. A few headers of the tenant's own may be added (``X-...``, rendered as header values);
credentials may not: params are shown back by the API, so the receiver authenticates the request
by its signature."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Template
from crm.robots.outside import rendered, within
from crm.robots.web import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, AnswerOutputs, SignedPostParams, post_signed

MAX_BODY_FIELDS = 50
MAX_HEADERS = 10
# A header value is one line; servers refuse long ones (8 KB for all headers is common).
MAX_HEADER_VALUE = 1000
_BODY_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
_HEADER_NAME = re.compile(r"^X-[A-Za-z0-9-]{1,60}$", re.IGNORECASE)
# Headers that proxies, AWS or this robot itself set: a tenant's value would be ignored or lie.
_RESERVED = ("x-crm-", "x-amz-", "x-forwarded-", "x-real-ip", IDEMPOTENCY_HEADER.lower())


class OutgoingWebhookParams(SignedPostParams):
    body: dict[str, Template] | None = Field(
        None,
        max_length=MAX_BODY_FIELDS,
        description="the JSON object sent, each value a template; none: the item's values",
    )
    headers: dict[str, Template] = Field(
        default_factory=dict, max_length=MAX_HEADERS, description="X-... headers added, values templates"
    )

    @field_validator("body")
    @classmethod
    def _body_keys(cls, body: dict[str, str] | None) -> dict[str, str] | None:
        for key in body or {}:
            if not _BODY_KEY.match(key):
                raise ValueError(f"{key!r}: a key of letters, digits, '_', '.' and '-', up to 100")
        return body

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if not _HEADER_NAME.match(name) or name.lower().startswith(_RESERVED):
                raise ValueError(
                    f"{name!r}: only X-... headers of your own (not {SIGNATURE_HEADER}, "
                    f"{IDEMPOTENCY_HEADER}, X-Amz-..., X-Forwarded-...); no credentials, which "
                    "the API would show: the receiver checks the signature"
                )
        if len({name.lower() for name in headers}) != len(headers):
            raise ValueError("each header is named once")
        return headers


def item_values(item: Item) -> dict[str, Any]:
    """The item as the receiver gets it by default: what the API shows of it."""
    return {
        "type": item.type,
        "id": item.id,
        "pipeline_id": item.pipeline_id,
        "stage_id": item.stage_id,
        "title": item.title,
        "amount": item.amount,
        "currency": item.currency,
        "responsible_id": item.responsible_id,
        "emails": list(item.emails),
        "phones": list(item.phones),
        "company": item.company,
        "fields": dict(item.fields),
    }


def outgoing_webhook(ctx: RobotContext, item: Item, params: OutgoingWebhookParams) -> dict[str, Any]:
    payload = (
        {"item": item_values(item)}
        if params.body is None
        else {key: rendered(ctx.text, source, f"body.{key}") for key, source in params.body.items()}
    )
    headers = {
        name: within(rendered(ctx.header, source, f"headers.{name}"), MAX_HEADER_VALUE, f"headers.{name}")
        for name, source in params.headers.items()
    }
    return post_signed(ctx, params, payload, headers)


OUTGOING_WEBHOOK = CATALOGUE.register(
    RuleType(
        "outgoing_webhook",
        RuleKind.ROBOT,
        "Outgoing webhook",
        OutgoingWebhookParams,
        f"POSTs the item's data as JSON to an https address, signed ({SIGNATURE_HEADER}: HMAC-SHA256 "
        "as Stripe signs) with a secret of the tenant's; 5xx and 429 are retried; fields of the JSON "
        "answer become outputs.",
        run=outgoing_webhook,
        outputs=AnswerOutputs,
    )
)
