"""Signed HTTP bodies in Stripe's scheme, which the CRM uses wherever a body is signed with a shared
secret: Stripe's own events (``Stripe-Signature``), the requests robots send and the answers they
check (``X-Crm-Signature``), and the events other providers post to the generic endpoints.

    <header>: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>[,v1=...]

The receiver recomputes the HMAC over the raw bytes with each secret it holds (two during a
rotation), compares in constant time, and refuses a ``t`` more than ``TOLERANCE`` from its clock
(a replay or a long-delayed delivery). A sender may send several ``v1`` values (Stripe does while a
secret is rolled); one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from crm.domain.errors import Unauthorized

TOLERANCE = timedelta(seconds=300)
MAX_HEADER = 4096


def mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, at: datetime) -> str:
    """The header value that signs ``body`` with ``secret`` at ``at``."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={mac(secret, timestamp, body)}"


def verify(body: bytes, header: str | None, secrets: Sequence[str], now: datetime, name: str) -> datetime:
    """When ``body`` was signed, if ``header`` (the value of the header ``name``) signs the raw bytes
    with one of ``secrets`` within ``TOLERANCE`` of ``now``; Unauthorized otherwise, saying why."""
    if not header or len(header) > MAX_HEADER:
        raise Unauthorized(f"no {name} header")
    timestamps, signatures = [], []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not re.fullmatch(r"\d{1,12}", timestamps[0]):
        raise Unauthorized(f"the {name} header has no timestamp (t=...)")
    if not signatures:
        raise Unauthorized(f"the {name} header has no v1 signature")
    timestamp = int(timestamps[0])
    expected = [mac(secret, timestamp, body) for secret in secrets]
    if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
        raise Unauthorized(f"the {name} does not match the body with this endpoint's signing secret")
    # Compared as seconds first: a t far from now is refused before it is made a date (which a t
    # past the year 9999 could not be).
    if abs(now.timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise Unauthorized(
            f"the {name} was made at t={timestamp}, more than "
            f"{int(TOLERANCE.total_seconds())} s from now: a replayed or delayed delivery"
        )
    return datetime.fromtimestamp(timestamp, UTC)
