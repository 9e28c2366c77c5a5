"""*Email sent to client*: an employee sent the client an email from the CRM, or logged one."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, MessageId, NoParams, always


class EmailSentData(EventData):
    message_id: MessageId


EMAIL_SENT = CATALOGUE.register(
    RuleType(
        "email_sent",
        RuleKind.TRIGGER,
        "Email sent to client",
        NoParams,
        "An email to the client was sent from the CRM, or an employee logged one they sent.",
        EmailSentData,
        always,
    )
)
