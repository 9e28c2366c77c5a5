"""*Webhook*: another system called the tenant's trigger URL for an item (``target=DEAL_25``), with
a code, as Bitrix24's ``crm.automation.trigger``."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import Code, EventData, Params


class WebhookParams(Params):
    code: Code | None = None  # none: every call


class WebhookData(EventData):
    code: Code | None = None


def webhook_matches(data: WebhookData, params: WebhookParams) -> bool:
    return params.code is None or params.code == data.code


WEBHOOK = CATALOGUE.register(
    RuleType(
        "webhook",
        RuleKind.TRIGGER,
        "Webhook",
        WebhookParams,
        "Another system called the trigger URL for the item: any call, or one with the code given.",
        WebhookData,
        webhook_matches,
    )
)
