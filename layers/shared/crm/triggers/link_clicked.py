"""*Link in email clicked*: the client clicked a tracked link in an email sent from the CRM."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import MessageId, UrlData, UrlFilter, url_matches


class LinkClickedData(UrlData):
    # ``url`` is the address stored when the mail was sent, never one from the click's request.
    message_id: MessageId


LINK_CLICKED = CATALOGUE.register(
    RuleType(
        "link_clicked",
        RuleKind.TRIGGER,
        "Link in email clicked",
        UrlFilter,
        "The client clicked a link in an email sent from the CRM: any link, or the one given.",
        LinkClickedData,
        url_matches,
    )
)
