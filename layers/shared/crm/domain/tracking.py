"""Tracking of mail sent from the CRM, pure: signed tokens, the tenant's signing keys, the open pixel,
tracked links.

A token names what a request to the public tracking routes (or a reply's References) is about:
the tenant, the item, the sent message, and for a click the link's number. It is the claims and the
id of the key that signed them, base64url-encoded, a dot, and the first 16 bytes of their
HMAC-SHA256 under that key, base64url-encoded: URL-safe, fits a Message-ID's local part, about 80
characters. Without the key no one can make a valid token or change a claim (a 128-bit tag); a
token verifies only under a key of the tenant it names, so a tenant's keys vouch for its own
tokens only.

Keys rotate (``KeyRing``): a tenant signs with its current key; after a rotation the key before it
still verifies for a grace period (mail is opened and replied to weeks after it is sent) or until it
is retired; then its tokens are forged like any other. Key ids count 1, 2, 3 ... per tenant, so a
token names its key in a few characters and an id below the keys in use is known to be retired.
Tokens of format 1 (before key ids) were never deployed: they are no tokens now.

The tenant and key id are readable before verifying (``signed_by``), so that the public route knows
whose keys to verify with; nothing in a token is believed until ``verify`` says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from html.parser import HTMLParser, attrfind_tolerant, tagfind_tolerant
from typing import NamedTuple

from crm.domain.errors import Conflict, Invalid
from crm.domain.model import ID_PATTERN, TENANT_PATTERN
from crm.domain.trigger_events import ItemRef
from crm.domain.urls import web_address

FORMAT = "2"
TAG_BYTES = 16
KEY_BYTES = 32
# Key ids are 1 to this; a tenant rotating daily reaches it in some 2,700 years.
MAX_KEY_ID = 999_999
# How long a rotated-out key keeps verifying by default, and at most (mail is read for weeks).
DEFAULT_GRACE = timedelta(days=30)
MAX_GRACE = timedelta(days=365)
# Our own id of a sent message: 16 URL-safe characters (96 random bits).
MESSAGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16}$")
MAX_TOKEN = 512
# A sent mail has at most this many tracked links (its links record stays small).
MAX_LINKS = 200

# A transparent 1x1 GIF89a: the smallest image every mail client shows as nothing.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


class Purpose(StrEnum):
    OPEN = "o"  # the open pixel
    CLICK = "c"  # a tracked link (with its number)
    REPLY = "m"  # the Message-ID (and References) of the sent mail, for replies to find the item
    DOCUMENT = "d"  # a generated document's public view link (its id in the message id's place)


@dataclass(frozen=True)
class Claims:
    """What a token says: for whom, about which item and sent message, and (a click) which link."""

    purpose: Purpose
    tenant_id: str
    item: ItemRef
    message_id: str
    link: int | None = None

    def __post_init__(self) -> None:
        if not TENANT_PATTERN.match(self.tenant_id):
            raise Invalid(f"tenant_id {self.tenant_id!r} is not a tenant id")
        if not MESSAGE_ID_PATTERN.match(self.message_id):
            raise Invalid("message id: 16 URL-safe characters")
        if (self.link is not None) != (self.purpose is Purpose.CLICK):
            raise Invalid("a link number is in click tokens, and only there")
        if self.link is not None and not 0 <= self.link < MAX_LINKS:
            raise Invalid(f"link number: 0 to {MAX_LINKS - 1}")

    def _text(self, key_id: int) -> str:
        parts = [FORMAT, str(key_id), self.purpose.value, self.tenant_id, self.item.type, self.item.id]
        return "|".join([*parts, self.message_id, "" if self.link is None else str(self.link)])

    @classmethod
    def _of(cls, text: str) -> tuple[int, Claims] | None:
        """(the id of the key that signed them, the claims) of a token's text; None if it is none."""
        parts = text.split("|")
        if len(parts) != 8 or parts[0] != FORMAT:
            return None
        _, key_id, purpose, tenant_id, item_type, item_id, message_id, link = parts
        if not (ID_PATTERN.match(item_type) and ID_PATTERN.match(item_id)) or (link and not link.isdigit()):
            return None
        if not _KEY_ID.match(key_id):
            return None
        try:
            claims = cls(
                Purpose(purpose),
                tenant_id,
                ItemRef(item_type, item_id),
                message_id,
                int(link) if link else None,
            )
        except (Invalid, ValueError):
            return None
        return int(key_id), claims


# ---------------------------------------------------------------- signing keys

_KEY_ID = re.compile(r"^[1-9][0-9]{0,5}$")


@dataclass(frozen=True)
class SigningKey:
    """One of a tenant's signing keys: 256 random bits, numbered in the order the tenant's keys
    were made."""

    id: int
    material: bytes = field(repr=False)
    created_at: datetime

    def __post_init__(self) -> None:
        if not 1 <= self.id <= MAX_KEY_ID:
            raise Invalid(f"signing key id: 1 to {MAX_KEY_ID}")
        if len(self.material) != KEY_BYTES:
            raise Invalid(f"a signing key is {KEY_BYTES} bytes")

    @classmethod
    def new(cls, key_id: int, at: datetime) -> SigningKey:
        return cls(key_id, secrets.token_bytes(KEY_BYTES), at)


@dataclass(frozen=True)
class KeyRing:
    """A tenant's signing keys in use: the current key signs and verifies; after a rotation the key
    before it verifies too, until ``previous_valid_until``. Two keys at most: a second rotation
    within the grace period retires the older. A retired key's material is forgotten."""

    tenant_id: str
    current: SigningKey
    rotated_at: datetime | None = None
    previous: SigningKey | None = None
    previous_valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if (self.previous is None) != (self.previous_valid_until is None):
            raise Invalid("a previous key has a time it is valid until, and only it")
        if self.previous is not None and self.previous.id >= self.current.id:
            raise Invalid("the previous key is older than the current one")

    @classmethod
    def first(cls, tenant_id: str, material: bytes, at: datetime) -> KeyRing:
        return cls(tenant_id, SigningKey(1, material, at))

    def previous_valid(self, now: datetime) -> bool:
        return self.previous_valid_until is not None and now < self.previous_valid_until

    def as_of(self, now: datetime) -> KeyRing:
        """The ring as it stands at ``now``: a previous key past its grace period is retired."""
        return self if self.previous_valid(now) else self.without_previous()

    def without_previous(self) -> KeyRing:
        return replace(self, previous=None, previous_valid_until=None)

    def knows(self, key_id: int) -> bool:
        """True if this ring can tell whether ``key_id`` verifies: ids up to its current key's are
        its keys or retired ones; a greater id is a key made after this ring was read."""
        return key_id <= self.current.id

    def key(self, key_id: int, now: datetime) -> SigningKey | None:
        """The key ``key_id`` names, if it verifies tokens at ``now``."""
        if key_id == self.current.id:
            return self.current
        if self.previous is not None and key_id == self.previous.id and self.previous_valid(now):
            return self.previous
        return None

    def rotated(self, now: datetime, grace: timedelta = DEFAULT_GRACE) -> KeyRing:
        """A new current key; the one it replaces verifies for ``grace`` more (0: not at all), and a
        previous key still in its grace period is retired."""
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise Invalid(f"grace: 0 to {MAX_GRACE.days} days")
        if self.current.id >= MAX_KEY_ID:
            raise Conflict(f"this tenant's signing keys have reached the last id, {MAX_KEY_ID}")
        keep = grace > timedelta(0)
        return replace(
            self,
            current=SigningKey.new(self.current.id + 1, now),
            rotated_at=now,
            previous=self.current if keep else None,
            previous_valid_until=now + grace if keep else None,
        )


class Signer(NamedTuple):
    """Whose key, and which of them, a token says signed it (not verified)."""

    tenant_id: str
    key_id: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _tag(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:TAG_BYTES])


def sign(key: SigningKey, claims: Claims) -> str:
    payload = _b64(claims._text(key.id).encode())
    return f"{payload}.{_tag(key.material, payload)}"


def _read(token: str) -> tuple[int, Claims] | None:
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    payload, _ = token.split(".")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", payload) or (raw := _unb64(payload)) is None:
        return None
    try:
        return Claims._of(raw.decode("ascii"))
    except UnicodeDecodeError:
        return None


def signed_by(token: str) -> Signer | None:
    """The tenant and key a token says signed it, NOT verified: whose key to verify it with."""
    found = _read(token)
    return None if found is None else Signer(found[1].tenant_id, found[0])


def verify(keys: KeyRing, token: str, purpose: Purpose, now: datetime) -> Claims | None:
    """The token's claims if one of ``keys`` valid at ``now`` signed them for ``purpose``; None for
    anything else (forged, changed, another tenant's, a retired or unknown key, another purpose,
    not a token)."""
    found = _read(token)
    if found is None:
        return None
    key_id, claims = found
    key = keys.key(key_id, now)
    if key is None or claims.purpose is not purpose or claims.tenant_id != keys.tenant_id:
        return None
    payload, tag = token.split(".")
    return claims if hmac.compare_digest(tag, _tag(key.material, payload)) else None


# ---------------------------------------------------------------- Message-ID


def message_id_header(token: str, domain: str) -> str:
    """``<token@domain>``: a token's alphabet (letters, digits, '-', '_', one '.') is a dot-atom."""
    return f"<{token}@{domain}>"


def token_of_message_id(message_id: str) -> str | None:
    """The local part of ``<token@domain>`` (None if it is not of that shape)."""
    found = re.fullmatch(r"\s*<?([A-Za-z0-9_.-]{1,512})@[^<>@\s]+>?\s*", message_id)
    return found.group(1) if found else None


# ---------------------------------------------------------------- links and pixel


@dataclass(frozen=True)
class TrackedHtml:
    html: str
    links: tuple[str, ...]  # the address each link number redirects to, in order


# The longest address a *link clicked* event carries; a longer link stays as written.
MAX_URL = 8192


def _tracked_address(href: str) -> str | None:
    """The address a link's ``href`` (entities decoded) is tracked as, as the redirect will send the
    reader there; None for one not to track: not http(s), too long, or one the URL checker refuses
    (a line break, written as ``&#13;&#10;``, would reach the redirect's Location header)."""
    try:
        return web_address(href.strip(), "link", MAX_URL)
    except Invalid:
        return None


class _Href(NamedTuple):
    start: int  # where the value is written in the source (quotes included)
    end: int
    address: str  # the address it is tracked as


class _Links(HTMLParser):
    """Finds the ``href`` of every ``<a>`` the parser reads, and where its value is written: the
    parser reports where a start tag begins (``getpos``) and its text as written
    (``get_starttag_text``); in that text its attributes are walked the way the parser walks them,
    so that an ``href=`` inside another attribute's value is never taken for the link."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        # HTMLParser counts lines by "\n" alone; so do these offsets.
        self._starts = [0] + [found.end() for found in re.finditer("\n", html)]
        self.found: list[_Href] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = next((value for name, value in attrs if name == "href" and value), None)
        address = None if href is None else _tracked_address(href)
        text = self.get_starttag_text()
        if address is None or text is None:
            return
        line, column = self.getpos()
        start = self._starts[line - 1] + column
        span = _href_span(text)
        if span is not None and self.html.startswith(text, start):
            self.found.append(_Href(start + span[0], start + span[1], address))


def _href_span(tag: str) -> tuple[int, int] | None:
    """Where the value of the first non-empty ``href`` is written in a start tag, found with the
    parser's own patterns as ``HTMLParser.parse_starttag`` applies them (the ``href`` it reported)."""
    at = tagfind_tolerant.match(tag, 1)
    position = len(tag) if at is None else at.end()
    while position < len(tag) and (attribute := attrfind_tolerant.match(tag, position)) is not None:
        name, equals, value = attribute.group(1, 2, 3)
        if value[:1] == value[-1:] and value[:1] in ("'", '"'):
            value = value[1:-1]
        if name.lower() == "href" and equals and value:
            return attribute.span(3)
        position = attribute.end()
    return None


def track_links(html: str, link_url: Callable[[int], str], pixel_url: str) -> TrackedHtml:
    """``html`` with every http(s) link's address replaced by ``link_url(n)`` (n counts the
    tracked links from 0) and the open pixel added at the end of the body. Other links (mailto:,
    tel:, anchors, addresses the URL checker refuses) stay as they are; at most MAX_LINKS links are
    tracked, the rest stay as written. Only the values of those hrefs change: the rest of the HTML
    stays byte for byte as written."""
    parser = _Links(html)
    parser.feed(html)
    parser.close()
    out, links, done = [], [], 0
    for href in parser.found[:MAX_LINKS]:
        out.append(html[done : href.start])
        out.append(f'"{link_url(len(links))}"')
        links.append(href.address)
        done = href.end
    out.append(html[done:])
    tracked = "".join(out)
    pixel = f'<img src="{pixel_url}" width="1" height="1" alt="" style="display:none">'
    closing = tracked.lower().rfind("</body>")
    tracked = tracked + pixel if closing == -1 else tracked[:closing] + pixel + tracked[closing:]
    return TrackedHtml(tracked, tuple(links))


# ---------------------------------------------------------------- automated fetches

# Apple Mail Privacy Protection loads every remote image through Apple's proxies when a mail
# arrives, read or not; its requests come from Apple's network, 17.0.0.0/8.
_APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
# Mail gateways that open each link of a mail to scan it before the reader sees it, and chat and
# office apps that fetch a link to show a preview: their user agents say who they are.
_SCANNERS = (
    "safelinks",  # Microsoft Defender Safe Links
    "proofpoint",
    "urldefense",
    "mimecast",
    "barracuda",
    "symantec",
    "forcepoint",
    "trendmicro",
    "sophos",
    "slackbot",
    "skypeuripreview",
    "microsoft office",
    "teamsbot",
    "whatsapp",
    "telegrambot",
    "facebookexternalhit",
    "linkpreview",
    "bot/",
    "crawler",
    "spider",
)


def automated(purpose: Purpose, method: str, user_agent: str | None, source_ip: str | None) -> str | None:
    """Why a request to a tracking route is no person opening or clicking (None: it may be one).
    Gmail's image proxy (GoogleImageProxy) loads a pixel when its reader opens the mail: it counts.
    Apple's proxies preload images, not links: a click from Apple's network counts."""
    if method.upper() == "HEAD":
        return "a HEAD request (a check, not a fetch)"
    try:
        if purpose is Purpose.OPEN and source_ip and ipaddress.ip_address(source_ip) in _APPLE_NETWORK:
            return "Apple Mail Privacy Protection (it loads every image on arrival)"
    except ValueError:
        pass
    agent = (user_agent or "").lower()
    scanner = next((name for name in _SCANNERS if name in agent), None)
    return None if scanner is None else f"an automated fetch ({scanner} in the user agent)"
