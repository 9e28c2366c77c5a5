"""*Incoming email*: mail came from the client (a sender SES authenticated), or only a reply to mail
sent from the CRM."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, MessageId, Params


class IncomingEmailParams(Params):
    only_replies: bool = False


class IncomingEmailData(EventData):
    message_id: MessageId
    # The CRM mail this one answers (found by its In-Reply-To/References), None for a new thread.
    reply_to: MessageId | None = None


def incoming_email_matches(data: IncomingEmailData, params: IncomingEmailParams) -> bool:
    return not params.only_replies or data.reply_to is not None


INCOMING_EMAIL = CATALOGUE.register(
    RuleType(
        "incoming_email",
        RuleKind.TRIGGER,
        "Incoming email",
        IncomingEmailParams,
        "An email came from the client; optionally only a reply to an email sent from the CRM.",
        IncomingEmailData,
        incoming_email_matches,
    )
)
