"""The tenant's web sites, and the visits their pages report (*site visit*, *client returned to
site*).

A site key (``crmsite_{tenant}_{site id}``) sits in the site's pages for anyone to read: it names
the tenant and the site and authenticates nothing beyond the browser's Origin, which only browsers
are bound to send truthfully. So a visit's own word never says whose it is: the contact is believed
only from a ``contact_token`` the site's backend signed with the site's secret (below), for that
visitor id, unexpired. A verified token links the visitor id to its contact (the visitor record);
later visits of that visitor id reach that contact's open items, firing *site visit* and *client
returned to site* triggers only. An unlinked visitor fires nothing. A visit never names an item,
never creates one, and its page must be on one of the site's origins.

The contact token (what the site's backend computes for a signed-in visitor)::

    payload = base64url(JSON {"email": ... | "phone": ..., "visitor_id": ..., "exp": <Unix seconds>})
    contact_token = payload + "." + base64url(HMAC-SHA256(key=the site's secret as UTF-8, msg=payload))

base64url without "=" padding; exactly one of email and phone; the visitor id the page's beacon
sends (the snippet keeps it in the ``crm_visitor_id`` cookie, which the backend reads); ``exp`` at
most ``MAX_TOKEN_LIFETIME`` ahead. Claims the CRM does not know are ignored. The secret is 256
random bits, shown once; the CRM keeps it (not a hash: checking an HMAC needs the key) in its
encrypted automation table. Rotating keeps the previous secret valid for a grace period, so a
backend can switch over while pages signed with the old one are still open.

Returned: a visitor (a browser's visitor id) the CRM has seen on the site comes back after
``RETURN_AFTER`` (30 minutes without a visit ends a session, as web analytics count sessions). The
first visit of a visitor is not a return, nor is a page view within a session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from crm.domain.errors import Forbidden, Invalid
from crm.domain.hooks import MAX_GRACE
from crm.domain.model import TENANT_PATTERN
from crm.domain.origins import normal_origin, origin_of
from crm.domain.trigger_events import EVENT_ID_PATTERN, VISITOR_PATTERN, Contact, ContactKind

KEY_PREFIX = "crmsite"
SECRET_PREFIX = "crmsitesecret_"
RETURN_AFTER = timedelta(minutes=30)
# A token valid for longer is a mistake (an exp in milliseconds, as JavaScript's Date.now() gives):
# refused rather than a credential that never expires.
MAX_TOKEN_LIFETIME = timedelta(days=30)
MAX_TOKEN = 2048
MAX_ORIGINS = 20
MAX_URL = 2048
MAX_EVENT_ID = 200
_SITE_ID = re.compile(r"^[0-9a-f]{12}$")
_SECRET = re.compile(rf"^{SECRET_PREFIX}[A-Za-z0-9_-]{{43}}$")  # 32 bytes, base64url
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
VISIT_FIELDS = {"url", "visitor_id", "contact_token", "event_id"}


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class TokenVerdict(StrEnum):
    VERIFIED = "verified"
    EXPIRED = "expired"
    REFUSED = "refused"  # not signed with a secret of the site's, malformed, or another visitor's


@dataclass(frozen=True)
class TokenCheck:
    verdict: TokenVerdict
    contact: Contact | None = None  # the contact a verified token vouches for


@dataclass(frozen=True)
class Site:
    tenant_id: str
    id: str
    name: str
    origins: tuple[str, ...]
    created_at: datetime
    secret: str = field(repr=False)  # signs the contact tokens
    rotated_at: datetime | None = None
    previous_secret: str | None = field(default=None, repr=False)  # the secret before the last rotation ...
    previous_valid_until: datetime | None = None  # ... and until when it still verifies tokens

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= 200:
            raise Invalid("site name: 1-200 characters")
        if not isinstance(self.origins, tuple | list) or not 1 <= len(self.origins) <= MAX_ORIGINS:
            raise Invalid(f"origins: 1-{MAX_ORIGINS} origins the site's pages are served from")
        object.__setattr__(self, "origins", tuple(dict.fromkeys(normal_origin(o) for o in self.origins)))
        for secret in (self.secret, self.previous_secret):
            if secret is not None and not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
                raise Invalid(f"a site's secret is {SECRET_PREFIX} and 43 base64url characters")
        if (self.previous_secret is None) != (self.previous_valid_until is None):
            raise Invalid("a previous secret has a time it is valid until, and only it")

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

    # ------------------------------------------------------------ secrets

    def previous_valid(self, now: datetime) -> bool:
        return self.previous_valid_until is not None and now < self.previous_valid_until

    def as_of(self, now: datetime) -> Site:
        """The site as it stands at ``now``: a previous secret past its grace period is retired."""
        return self if self.previous_valid(now) else self.without_previous()

    def without_previous(self) -> Site:
        return replace(self, previous_secret=None, previous_valid_until=None)

    def rotated(self, new: str, now: datetime, grace: timedelta) -> Site:
        """The site with the secret ``new``; the one it replaces verifies for ``grace`` more (0: not
        at all). Two secrets at most: a previous one still in its grace period is retired."""
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise Invalid(f"grace: from 0 to {MAX_GRACE.days} days")
        keep = grace > timedelta(0)
        return replace(
            self,
            secret=new,
            rotated_at=now,
            previous_secret=self.secret if keep else None,
            previous_valid_until=now + grace if keep else None,
        )

    def vouched_contact(self, token: str, visitor_id: str, now: datetime) -> TokenCheck:
        """Whom ``token`` says the visitor ``visitor_id`` is, if the site's backend signed it (with
        the current secret, or the previous one in its grace period) and it has not expired. The
        signature is checked first, in constant time, and nothing in the token is read before."""
        valid = [self.secret]
        if self.previous_secret is not None and self.previous_valid(now):
            valid.append(self.previous_secret)
        claims = _signed_claims(token, valid)
        if claims is None or claims.get("visitor_id") != visitor_id:
            return TokenCheck(TokenVerdict.REFUSED)
        expires = claims.get("exp")
        if not isinstance(expires, int) or isinstance(expires, bool):
            return TokenCheck(TokenVerdict.REFUSED)
        if expires > (now + MAX_TOKEN_LIFETIME).timestamp():
            return TokenCheck(TokenVerdict.REFUSED)
        if expires <= now.timestamp():
            return TokenCheck(TokenVerdict.EXPIRED)
        contact = _claimed_contact(claims)
        return (
            TokenCheck(TokenVerdict.REFUSED)
            if contact is None
            else TokenCheck(TokenVerdict.VERIFIED, contact)
        )


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signed_claims(token: str, keys: list[str]) -> dict[str, Any] | None:
    """The claims of ``token`` if one of ``keys`` signed it; None otherwise."""
    payload, dot, tag = token.partition(".")
    if not dot or not _BASE64URL.fullmatch(payload) or not _BASE64URL.fullmatch(tag):
        return None
    try:
        given = _b64decode(tag)
    except (binascii.Error, ValueError):
        return None
    # Every key is tried, each in constant time: the time taken does not tell how close a guess was.
    matches = [
        hmac.compare_digest(given, hmac.new(key.encode(), payload.encode("ascii"), hashlib.sha256).digest())
        for key in keys
    ]
    if not any(matches):
        return None
    try:
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _claimed_contact(claims: Mapping[str, Any]) -> Contact | None:
    """The one email or phone the claims name, in its normal form; None for none, both or garbage."""
    named = [
        (kind, claims[kind.value]) for kind in (ContactKind.EMAIL, ContactKind.PHONE) if kind.value in claims
    ]
    if len(named) != 1 or not isinstance(named[0][1], str):
        return None
    try:
        return Contact(*named[0])
    except Invalid:
        return None


def parse_key(text: str) -> tuple[str, str] | None:
    """(tenant, site id) a site key names; None for anything that is not a site key."""
    parts = text.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    if not TENANT_PATTERN.fullmatch(parts[1]) or not _SITE_ID.fullmatch(parts[2]):
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class Visit:
    """A page view as a site's page reports it: the page, the browser's visitor id, and when the
    site's backend knows who the visitor is, its signed word for it."""

    url: str
    visitor_id: str
    contact_token: str | None
    event_id: str | None  # the page's id of this view, so a resent report is one event

    @classmethod
    def of(cls, document: Any, site: Site) -> Visit:
        if not isinstance(document, Mapping):
            raise Invalid('a visit is a JSON object: {"url": ..., "visitor_id": ..., "contact_token"?: ...}')
        if named := sorted({"email", "phone"} & set(document)):
            raise Invalid(
                f"a visit does not take {named}: it names its contact only in contact_token, signed by "
                "the site's backend"
            )
        if unknown := sorted(set(document) - VISIT_FIELDS):
            raise Invalid(f"a visit has no {unknown}; it takes {sorted(VISIT_FIELDS)}")
        url, visitor = document.get("url"), document.get("visitor_id")
        if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL:
            raise Invalid(f"url: the page's address, at most {MAX_URL} characters")
        if origin_of(url) not in site.origins:
            raise Invalid(f"url: a page of the site ({', '.join(site.origins)})")
        if not isinstance(visitor, str) or not VISITOR_PATTERN.fullmatch(visitor):
            raise Invalid("visitor_id: 1-128 letters, digits, '_', '.', ':' or '-'")
        token = document.get("contact_token")
        if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN):
            raise Invalid(
                f"contact_token: the token the site's backend signed, at most {MAX_TOKEN} characters"
            )
        event_id = document.get("event_id")
        if event_id is not None and (
            not isinstance(event_id, str)
            or len(event_id) > MAX_EVENT_ID
            or not EVENT_ID_PATTERN.fullmatch(event_id)
        ):
            raise Invalid(f"event_id: 1-{MAX_EVENT_ID} printable characters without spaces")
        return cls(url, visitor, token, event_id)


def is_return(previous_visit_at: datetime | None, now: datetime) -> bool:
    return previous_visit_at is not None and now - previous_visit_at >= RETURN_AFTER
