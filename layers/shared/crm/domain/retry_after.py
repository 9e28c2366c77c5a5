"""How long the other side of an HTTP exchange asked us to wait before trying again (its
``Retry-After``): the outgoing webhooks and every provider adapter (Stripe, Twilio) read it here, so
that a run's retry honours it the same way whoever answered."""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime

# The longest wait a Retry-After is taken at: the runner's backoff is at most a day too, and a
# provider asking for a week would park the run where nobody looks.
MAX_RETRY_AFTER = 86_400

_SECONDS = re.compile(r"[0-9]{1,10}")


def retry_after(value: str | None, now: datetime) -> int | None:
    """Seconds to wait as a Retry-After header says (RFC 9110: delay-seconds, or an HTTP-date),
    at most a day; None when it says nothing usable; a date passed already means at once."""
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        seconds = int(value)
    else:
        try:
            at = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        # An HTTP-date is in GMT; a date without a zone is read as UTC rather than refused.
        seconds = math.ceil((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() - now.timestamp())
    return min(max(seconds, 0), MAX_RETRY_AFTER)


def retry_after_in(headers: Mapping[str, str], now: datetime) -> int | None:
    """``retry_after`` of an answer's headers, whatever the case of the header's name."""
    value = next((value for name, value in headers.items() if name.lower() == "retry-after"), None)
    return retry_after(value, now)
