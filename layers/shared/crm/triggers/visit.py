"""*Site visit*: the client opened a page of the site (any page, or the pages given)."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import UrlData, UrlFilter, url_matches

VISIT = CATALOGUE.register(
    RuleType(
        "visit",
        RuleKind.TRIGGER,
        "Site visit",
        UrlFilter,
        "The client opened a page of the site: any page, or the one given.",
        UrlData,
        url_matches,
    )
)
