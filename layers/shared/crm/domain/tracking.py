"""Tracking of mail sent from the CRM, pure: signed tokens, the open pixel, tracked links.

A token names what a request to the public tracking routes (or a reply's References) is about:
the tenant, the item, the sent message, and for a click the link's number. It is the claims,
base64url-encoded, a dot, and the first 16 bytes of their HMAC-SHA256 under the tenant's signing
key, base64url-encoded: URL-safe, fits a Message-ID's local part, about 80 characters. Without
the key no one can make a valid token or change a claim (a 128-bit tag); a token verifies only
under the key of the tenant it names, so a tenant's key vouches for its own tokens only.

The tenant is readable before verifying (``claimed_tenant``), so that the public route knows whose
key to verify with; nothing in a token is believed until ``verify`` says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser

from crm.domain.errors import Invalid
from crm.domain.model import ID_PATTERN, TENANT_PATTERN
from crm.domain.trigger_events import ItemRef

FORMAT = "1"
TAG_BYTES = 16
KEY_BYTES = 32
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

    def _text(self) -> str:
        parts = [FORMAT, self.purpose.value, self.tenant_id, self.item.type, self.item.id, self.message_id]
        return "|".join([*parts, "" if self.link is None else str(self.link)])

    @classmethod
    def _of(cls, text: str) -> Claims | None:
        parts = text.split("|")
        if len(parts) != 7 or parts[0] != FORMAT:
            return None
        _, purpose, tenant_id, item_type, item_id, message_id, link = parts
        if not (ID_PATTERN.match(item_type) and ID_PATTERN.match(item_id)) or (link and not link.isdigit()):
            return None
        try:
            return cls(
                Purpose(purpose),
                tenant_id,
                ItemRef(item_type, item_id),
                message_id,
                int(link) if link else None,
            )
        except (Invalid, ValueError):
            return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _tag(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:TAG_BYTES])


def sign(key: bytes, claims: Claims) -> str:
    payload = _b64(claims._text().encode())
    return f"{payload}.{_tag(key, payload)}"


def _claims(token: str) -> Claims | None:
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    payload, _ = token.split(".")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", payload) or (raw := _unb64(payload)) is None:
        return None
    try:
        return Claims._of(raw.decode("ascii"))
    except UnicodeDecodeError:
        return None


def claimed_tenant(token: str) -> str | None:
    """The tenant a token says it is for, NOT verified: whose key to verify it with."""
    claims = _claims(token)
    return None if claims is None else claims.tenant_id


def verify(key: bytes, token: str, purpose: Purpose) -> Claims | None:
    """The token's claims if ``key`` signed them for ``purpose``; None for anything else (forged,
    changed, another tenant's, another purpose, not a token)."""
    claims = _claims(token)
    if claims is None or claims.purpose is not purpose:
        return None
    payload, tag = token.split(".")
    return claims if hmac.compare_digest(tag, _tag(key, payload)) else None


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


def _trackable(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://")) and len(url.strip()) <= MAX_URL


class _Links(HTMLParser):
    """Finds the ``href`` of every ``<a>`` with its place in the source, so that only those values
    are replaced and the rest of the HTML stays byte for byte as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []  # (offset of the start tag, href as decoded)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = next((value for name, value in attrs if name == "href" and value), None)
            if href is not None:
                line, column = self.getpos()
                self.found.append((self._offset(line, column), href))

    def feed_source(self, html: str) -> None:
        # HTMLParser counts lines by "\n" alone; so do these offsets.
        self._starts = [0] + [found.end() for found in re.finditer("\n", html)]
        self.feed(html)
        self.close()

    def _offset(self, line: int, column: int) -> int:
        return self._starts[line - 1] + column


_HREF = re.compile(r"""(\shref\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)""", re.IGNORECASE)


def track_links(html: str, link_url: Callable[[int], str], pixel_url: str) -> TrackedHtml:
    """``html`` with every http(s) link's address replaced by ``link_url(n)`` (n counts the
    tracked links from 0) and the open pixel added at the end of the body. Other links (mailto:,
    tel:, anchors) stay as they are; at most MAX_LINKS links are tracked, the rest stay as written."""
    parser = _Links()
    parser.feed_source(html)
    out, links, done = [], [], 0
    for offset, href in parser.found:
        if not _trackable(href) or len(links) >= MAX_LINKS:
            continue
        tag_end = html.find(">", offset)
        found = _HREF.search(html, offset, tag_end if tag_end != -1 else len(html))
        if found is None:
            continue
        out.append(html[done : found.start()])
        out.append(f'{found.group(1)}"{link_url(len(links))}"')
        links.append(href.strip())
        done = found.end()
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
