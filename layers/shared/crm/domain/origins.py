"""Web origins (``scheme://host[:port]``), in the one form browsers send in the ``Origin`` header,
so that an origin a tenant configured compares equal to the header of a page served from it.

The normal form: the host checked and written as ``crm.domain.urls`` writes every web address (lower
case, an international name in its ASCII form, an IPv6 address in brackets), the port only when it
is not the scheme's default (a browser at ``https://shop.example:443`` sends
``https://shop.example``), no path, query, fragment or user info. ``null`` (a sandboxed page, a
file) and anything else is no origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from crm.domain.errors import Invalid
from crm.domain.urls import MAX_LENGTH, web_address

MAX_ORIGIN = 300
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_origin(text: Any, what: str = "origin") -> str:
    """``text`` in the normal form; Invalid (naming ``what``) for anything that is not an http(s)
    origin."""
    refused = Invalid(f"{what} {text!r}: scheme://host[:port] only, like https://www.example.com")
    if not isinstance(text, str) or len(text) > MAX_ORIGIN:
        raise refused
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        raise refused from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise refused
    return _origin(text.strip(), refused)


def origin_of(url: Any, what: str = "url") -> str:
    """The origin of the page at ``url`` (an http(s) address); Invalid otherwise."""
    return _origin(url, Invalid(f"{what}: an http(s) address of at most {MAX_LENGTH} characters"))


def _origin(url: Any, refused: Invalid) -> str:
    try:
        parts = urlsplit(web_address(url, "origin"))
    except Invalid:
        raise refused from None
    host = parts.netloc if parts.port is None else parts.netloc.rsplit(":", 1)[0]
    if parts.port in (None, _DEFAULT_PORTS[parts.scheme]):
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{parts.port}"
