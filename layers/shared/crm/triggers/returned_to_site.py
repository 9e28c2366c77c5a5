"""*Client returned to site*: a known client (one the CRM has from a form, mail or call) came back
to the site; the event's ``url`` is the page they came back to."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import NoParams, UrlData, always

RETURNED_TO_SITE = CATALOGUE.register(
    RuleType(
        "returned_to_site",
        RuleKind.TRIGGER,
        "Client returned to site",
        NoParams,
        "A client the CRM knows came back to the site.",
        UrlData,
        always,
    )
)
