"""The tenant's web sites, and the visits their pages report (*site visit*, *client returned to
site*).

A site key (``crmsite_{tenant}_{site id}``) sits in the site's pages for anyone to read: it names
the tenant and the site and authenticates nothing beyond the browser's Origin, which only browsers
are bound to send truthfully. What a visit can do is capped accordingly: it reaches the items of
the contact it names (or the visitor was linked to before) and fires *site visit* and *client
returned to site* triggers only; it never names an item, never creates one, and its page must be
on one of the site's origins.

Returned: a visitor (a browser's visitor id) the CRM has seen on the site comes back after
``RETURN_AFTER`` (30 minutes without a visit ends a session, as web analytics count sessions). The
first visit of a visitor is not a return, nor is a page view within a session.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from crm.domain.errors import Forbidden, Invalid
from crm.domain.model import TENANT_PATTERN
from crm.domain.trigger_events import EVENT_ID_PATTERN, VISITOR_PATTERN, Contact, ContactKind

KEY_PREFIX = "crmsite"
RETURN_AFTER = timedelta(minutes=30)
MAX_ORIGINS = 20
MAX_URL = 2048
MAX_EVENT_ID = 200
_SITE_ID = re.compile(r"^[0-9a-f]{12}$")
VISIT_FIELDS = {"url", "visitor_id", "email", "phone", "event_id"}


def normal_origin(text: Any) -> str:
    """``https://shop.example`` (scheme and host in lower case, a port if any; no path)."""
    if not isinstance(text, str) or len(text) > 300:
        raise Invalid("origin: an http(s) origin like https://shop.example")
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise Invalid(f"origin {text!r}: scheme and host only, like https://shop.example")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise Invalid(f"origin {text!r}: scheme and host only, like https://shop.example")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class Site:
    tenant_id: str
    id: str
    name: str
    origins: tuple[str, ...]
    created_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= 200:
            raise Invalid("site name: 1-200 characters")
        if not isinstance(self.origins, tuple | list) or not 1 <= len(self.origins) <= MAX_ORIGINS:
            raise Invalid(f"origins: 1-{MAX_ORIGINS} origins the site's pages are served from")
        object.__setattr__(self, "origins", tuple(dict.fromkeys(normal_origin(o) for o in self.origins)))

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}_{self.tenant_id}_{self.id}"

    def check_origin(self, origin: str | None) -> str:
        """The request's Origin if it is one of the site's; Forbidden otherwise (browsers always
        send one on these requests)."""
        try:
            normal = normal_origin(origin or "")
        except Invalid:
            normal = None
        if normal is None or normal not in self.origins:
            raise Forbidden(f"origin {origin!r} is not one of this site's origins")
        return normal


def parse_key(text: str) -> tuple[str, str] | None:
    """(tenant, site id) a site key names; None for anything that is not a site key."""
    parts = text.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    if not TENANT_PATTERN.match(parts[1]) or not _SITE_ID.match(parts[2]):
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class Visit:
    """A page view as a site's page reports it: the page, the browser's visitor id, and the
    contact when the page knows it (after a sign-in or a form)."""

    url: str
    visitor_id: str
    contact: Contact | None
    event_id: str | None  # the page's id of this view, so a resent report is one event

    @classmethod
    def of(cls, document: Any, site: Site) -> Visit:
        if not isinstance(document, Mapping):
            raise Invalid('a visit is a JSON object: {"url": ..., "visitor_id": ..., "email"?: ...}')
        if unknown := sorted(set(document) - VISIT_FIELDS):
            raise Invalid(f"a visit has no {unknown}; it takes {sorted(VISIT_FIELDS)}")
        url, visitor = document.get("url"), document.get("visitor_id")
        if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL:
            raise Invalid(f"url: the page's address, at most {MAX_URL} characters")
        try:
            page_origin = normal_origin(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}")
        except (Invalid, ValueError):
            raise Invalid("url: an http(s) address") from None
        if page_origin not in site.origins:
            raise Invalid(f"url: a page of the site ({', '.join(site.origins)})")
        if not isinstance(visitor, str) or not VISITOR_PATTERN.match(visitor):
            raise Invalid("visitor_id: 1-128 letters, digits, '_', '.', ':' or '-'")
        event_id = document.get("event_id")
        if event_id is not None and (
            not isinstance(event_id, str)
            or len(event_id) > MAX_EVENT_ID
            or not EVENT_ID_PATTERN.match(event_id)
        ):
            raise Invalid(f"event_id: 1-{MAX_EVENT_ID} printable characters without spaces")
        return cls(url, visitor, _contact(document), event_id)


def _contact(document: Mapping[str, Any]) -> Contact | None:
    """The email if given, else the phone (both are checked)."""
    found = []
    for kind in (ContactKind.EMAIL, ContactKind.PHONE):
        value = document.get(kind.value)
        if value is not None:
            if not isinstance(value, str):
                raise Invalid(f"{kind.value}: a text")
            found.append(Contact(kind, value))
    return found[0] if found else None


def is_return(previous_visit_at: datetime | None, now: datetime) -> bool:
    return previous_visit_at is not None and now - previous_visit_at >= RETURN_AFTER
