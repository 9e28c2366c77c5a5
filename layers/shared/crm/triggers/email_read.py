"""*Email read*: the client opened an email sent from the CRM (its tracking pixel was loaded)."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, MessageId, NoParams, always


class EmailReadData(EventData):
    message_id: MessageId


EMAIL_READ = CATALOGUE.register(
    RuleType(
        "email_read",
        RuleKind.TRIGGER,
        "Email read",
        NoParams,
        "The client opened an email sent from the CRM.",
        EmailReadData,
        always,
    )
)
