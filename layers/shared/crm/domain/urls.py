"""Web addresses the CRM sends browsers to (a form's thank-you page; a tracked link's target), checked
once, here.

Such an address ends up in a ``Location`` header or an ``href``, so what is checked is what is used:
``urlsplit`` silently drops tabs and line breaks while it parses, so a check that returned the text
it was given would let a CR LF through into a header (header injection, or a 502 from API
Gateway). The address returned is rebuilt from its parts: the scheme and host in lower case, an
international host in its ASCII (IDNA) form, and characters a URL may not carry percent-encoded,
so it is plain ASCII.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit, urlunsplit

from crm.domain.errors import Invalid

MAX_LENGTH = 2048
# A host name's labels once in ASCII: letters, digits, '-' and '_' (seen in real host names).
_HOST = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")
# What stays as written in a path, query or fragment: reserved characters, and '%' (escapes made
# already are kept, not escaped twice).
_KEPT = "!#$%&'()*+,/:;=?@[]~"


def web_address(url: object, what: str, limit: int = MAX_LENGTH) -> str:
    """``url`` as an absolute http(s) address, normalised, or Invalid naming ``what``: no control
    characters or white space anywhere, a host, no user name or password (they would be shown
    to every browser), a valid port, at most ``limit`` characters."""
    wrong = f"{what}: an http(s) address of at most {limit} characters, like https://www.example.com/"
    if not isinstance(url, str) or not url or len(url) > limit:
        raise Invalid(wrong)
    if not url.isprintable() or any(character.isspace() for character in url):
        raise Invalid(f"{what}: an address has no spaces, line breaks or other control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Invalid(wrong) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(wrong)
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"{what}: an address without a user name or password in it")
    netloc = _host(parts.hostname, wrong) + ("" if port is None else f":{port}")
    path, query, fragment = (quote(part, safe=_KEPT) for part in (parts.path, parts.query, parts.fragment))
    normal = urlunsplit((parts.scheme, netloc, path, query, fragment))
    if len(normal) > limit:
        raise Invalid(wrong)
    return normal


def _host(hostname: str, wrong: str) -> str:
    """The host as a URL carries it: an IPv6 address in brackets, a name in ASCII."""
    try:
        return f"[{ipaddress.IPv6Address(hostname).compressed}]"
    except ValueError:
        pass
    try:
        ascii_name = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid(wrong) from None
    if not _HOST.match(ascii_name):
        raise Invalid(wrong)
    return ascii_name
