"""Telephony: the tenant's lines, and calls as the providers report them.

A line is where a provider posts its call events: ``/telephony/twilio/{line id}`` for a Twilio
number's status callbacks, ``/telephony/events/{line id}`` for any other PBX (a JSON body signed
with the line's secret, ``crm.domain.signatures``). The line id names the tenant (``tl_{tenant}_
{12 hex}``), so a provider's request finds its line with one read, and the line says how to check
it: Twilio's auth token, or the secret the CRM made for the PBX.

Every report becomes a ``Call`` (or nothing, for the statuses a call passes through), and a call
is one of three trigger events, by its direction and whether someone answered:

- inbound, nobody answered (Twilio ``no-answer``, ``busy``, ``canceled``, or ``failed``; a
  ``<Dial>`` action whose ``DialCallStatus`` says the agent did not pick up) -> *missed call*;
- inbound, answered and ended (``completed``; a ``<Dial>`` action whose ``DialCallStatus`` is
  ``completed`` or ``answered``) -> *incoming call*;
- outbound (``outbound-api``, ``outbound-dial``), ended -> *outgoing call*.

A call's statuses on the way (``queued``, ``initiated``, ``ringing``, ``in-progress``) are
answered and not acted on, so callbacks that arrive out of order cannot move an item back. A call
has one outcome: its first final report (Twilio calls the ``<Dial>`` action before the number's
status callback says ``completed``, so the action's outcome stands) is applied once.
The client is the other end of the call (the caller of an inbound call, the called number of an
outbound one), in E.164.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from crm.domain import endpoints
from crm.domain.contacts import normal_phone
from crm.domain.errors import Invalid, Unauthorized
from crm.domain.sources import SourceSettings

LINE_PREFIX = endpoints.TELEPHONY_LINE
LINE_ID_PATTERN = endpoints.pattern(LINE_PREFIX)
# Twilio's auth tokens are 32 hex characters.
_AUTH_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_SIGNATURE = 512
DAY = 86_400

TWILIO_SIGNATURE = "X-Twilio-Signature"
PBX_SIGNATURE = "X-Crm-Signature"


class Provider(StrEnum):
    TWILIO = "twilio"
    PBX = "pbx"  # any other PBX, through the documented JSON endpoint


def new_line_id(tenant_id: str) -> str:
    return endpoints.new_id(LINE_PREFIX, tenant_id)


def tenant_of_line(line_id: str) -> str | None:
    """The tenant a line id names, or None when it is not a line id."""
    return endpoints.tenant_of(LINE_PREFIX, line_id)


def new_pbx_secret() -> str:
    return secrets.token_urlsafe(32)


def check_auth_token(token: Any) -> str:
    if not isinstance(token, str) or not _AUTH_TOKEN.match(token.strip()):
        raise Invalid("auth_token: the Twilio account's auth token (32 hex characters, from its console)")
    return token.strip()


@dataclass(frozen=True)
class Line:
    """A tenant's telephony line. ``secret`` checks the provider's requests: Twilio's auth token
    (Twilio signs with it), or the secret the CRM made for a PBX. ``unknown_caller``: what a call
    from a number no item has does on this line; None follows the tenant's telephony source
    setting (``/sources/telephony``)."""

    tenant_id: str
    id: str
    name: str
    provider: Provider
    created_at: datetime
    secret: str = field(repr=False)
    unknown_caller: SourceSettings | None = None
    previous_secret: str | None = field(default=None, repr=False)  # a PBX's, during its grace period
    previous_valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= 200:
            raise Invalid("line name: 1-200 characters")
        if tenant_of_line(self.id) != self.tenant_id:
            raise Invalid(f"{self.id!r} is not a telephony line id of tenant {self.tenant_id!r}")
        try:
            object.__setattr__(self, "provider", Provider(self.provider))
        except ValueError:
            raise Invalid(f"provider: one of {[p.value for p in Provider]}") from None
        if self.provider is Provider.TWILIO:
            check_auth_token(self.secret)
        elif not isinstance(self.secret, str) or not _SECRET.match(self.secret):
            raise Invalid("a PBX line's secret is made by the CRM")
        if (self.previous_secret is None) != (self.previous_valid_until is None):
            raise Invalid("a previous secret has a time it is valid until, and only it")

    def secrets(self, now: datetime) -> tuple[str, ...]:
        """What a request may be signed with now: the secret, and the one before it in its grace."""
        until = self.previous_valid_until
        if self.previous_secret is not None and until is not None and now < until:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def as_of(self, now: datetime) -> Line:
        """The line as it stands at ``now``: a previous secret past its grace period is gone."""
        if len(self.secrets(now)) == 2 or self.previous_secret is None:
            return self
        return replace(self, previous_secret=None, previous_valid_until=None)

    def path(self) -> str:
        """Where the provider posts this line's events, under the API's base URL."""
        if self.provider is Provider.TWILIO:
            return f"/telephony/twilio/{self.id}"
        return f"/telephony/events/{self.id}"


# ---------------------------------------------------------------- calls


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallOutcome(StrEnum):
    """What a call that ended was, as the trigger type it fires."""

    MISSED = "missed_call"
    INCOMING = "incoming_call"
    OUTGOING = "outgoing_call"


@dataclass(frozen=True)
class Call:
    """A call that ended, as one report of it says."""

    provider: Provider
    call_id: str
    status: str  # the provider's final status (``no-answer``, ``completed``, ...)
    direction: Direction
    outcome: CallOutcome
    client_number: str  # E.164
    line_number: str | None
    ended_at: datetime
    duration_seconds: int = 0  # the conversation's length (0: nobody answered)
    ring_seconds: int | None = None  # how long it rang, where the provider says

    def event_id(self, line_id: str) -> str:
        """One outcome per call: the first final report of a call on a line is applied, and any
        other report of it (the same again, the status callback after a ``<Dial>`` action, a PBX's
        report repeated) is a redelivery. The line is part of it: two PBXes may number their calls
        alike."""
        return f"{self.provider.value}:{line_id}:{self.call_id}"

    def data(self, line_id: str) -> dict[str, Any]:
        """What triggers of the call's type see, and what the timeline shows."""
        return {
            "line_id": line_id,
            "provider": self.provider.value,
            "call_id": self.call_id,
            "status": self.status,
            "direction": self.direction.value,
            "client_number": self.client_number,
            "line_number": self.line_number,
            "duration_seconds": self.duration_seconds,
            "ring_seconds": self.ring_seconds,
        }


@dataclass(frozen=True)
class Passing:
    """A report the CRM does not act on: a status on the way, or a call with no client number."""

    call_id: str
    why: str


def _seconds(value: Any, what: str) -> int:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{what}: a whole number of seconds") from None
    if not 0 <= seconds <= DAY:
        raise Invalid(f"{what}: 0 to {DAY} seconds")
    return seconds


def _client(raw: str | None) -> str | None:
    """A number in E.164, or None for what is not one (Twilio's ``client:alice``, ``sip:...``,
    an anonymous caller)."""
    if not raw:
        return None
    try:
        return normal_phone(raw)
    except Invalid:
        return None


# ---------------------------------------------------------------- Twilio

# https://www.twilio.com/docs/voice/api/call-resource#call-status-values
TWILIO_PASSING = ("queued", "initiated", "ringing", "in-progress")
TWILIO_UNANSWERED = ("no-answer", "busy", "canceled", "failed")
TWILIO_FINAL = ("completed", *TWILIO_UNANSWERED)
# Twilio retries a callback within hours; one older than this is a replay (once-records last longer).
REPLAY_HORIZON = timedelta(days=7)


def twilio_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's signature of a form POST: HMAC-SHA1 with the auth token over the full URL and each
    parameter's name and value appended, sorted by name (then value), base64."""
    signed = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def _without_default_port(url: str) -> str:
    return re.sub(r"^(https://[^/:]+):443(/|$)", r"\1\2", re.sub(r"^(http://[^/:]+):80(/|$)", r"\1\2", url))


def verify_twilio(
    url: str, params: Sequence[tuple[str, str]], signature: str | None, auth_token: str
) -> None:
    """Unauthorized unless ``signature`` is Twilio's for this public URL and these parameters.
    Twilio signs the URL as configured; with or without the scheme's default port are the same."""
    if not signature or len(signature) > MAX_SIGNATURE:
        raise Unauthorized(f"no {TWILIO_SIGNATURE} header")
    bare = _without_default_port(url)
    scheme, _, rest = bare.partition("://")
    host, slash, path = rest.partition("/")
    candidates = {bare}
    if ":" not in host:
        candidates.add(f"{scheme}://{host}:{443 if scheme == 'https' else 80}{slash}{path}")
    if not any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, params), signature)
        for candidate in candidates
    ):
        raise Unauthorized(f"the {TWILIO_SIGNATURE} does not match this line's URL and auth token")


def twilio_call(params: Mapping[str, str], now: datetime) -> Call | Passing:
    """The call a Voice status callback (or a ``<Dial>`` action callback) reports."""
    call_id = params.get("CallSid") or ""
    if not re.fullmatch(r"CA[0-9a-f]{32}", call_id):
        raise Invalid("CallSid: Twilio's call id, CA and 32 hex characters")
    status = params.get("CallStatus") or ""
    if status not in (*TWILIO_PASSING, *TWILIO_FINAL):  # a status Twilio adds later: answered, ignored
        return Passing(call_id, f"CallStatus {status!r}: not a status the CRM acts on")
    dial_status = params.get("DialCallStatus")
    if dial_status is not None:  # a <Dial> action: whether the agent picked up is the call's outcome
        if dial_status in ("completed", "answered"):
            status = "completed"
        elif dial_status in TWILIO_UNANSWERED:
            status = dial_status
        else:
            return Passing(call_id, f"DialCallStatus {dial_status!r}: not how a <Dial> ends")
    if status in TWILIO_PASSING:
        return Passing(call_id, f"status {status}: the call has not ended")
    ended_at = _twilio_time(params.get("Timestamp"), now)
    if now - ended_at > REPLAY_HORIZON:
        # Twilio's signature has no time: a callback captured long ago must not fire again once
        # its once-record has expired.
        return Passing(call_id, f"a callback of {ended_at.isoformat()}: too old to act on")
    raw_direction = params.get("Direction") or ""
    if raw_direction == "inbound":
        direction, client, line_number = Direction.INBOUND, params.get("From"), params.get("To")
    elif raw_direction in ("outbound-api", "outbound-dial"):
        direction, client, line_number = Direction.OUTBOUND, params.get("To"), params.get("From")
    else:  # a SIP trunk's legs (trunking-*), or a direction Twilio adds later: not a client's call
        return Passing(call_id, f"Direction {raw_direction!r}: not a call with a client")
    client_number = _client(client)
    if client_number is None:
        return Passing(call_id, f"the other end ({client or 'anonymous'}) is not a phone number")
    answered = status == "completed"
    if direction is Direction.OUTBOUND:
        outcome = CallOutcome.OUTGOING
    else:
        outcome = CallOutcome.INCOMING if answered else CallOutcome.MISSED
    duration = params.get("DialCallDuration") or params.get("CallDuration") or "0"
    return Call(
        provider=Provider.TWILIO,
        call_id=call_id,
        status=status,
        direction=direction,
        outcome=outcome,
        client_number=client_number,
        line_number=_client(line_number),
        ended_at=ended_at,
        duration_seconds=_seconds(duration, "CallDuration") if answered else 0,
    )


def _twilio_time(stamp: str | None, now: datetime) -> datetime:
    """The callback's ``Timestamp`` (RFC 2822); now when Twilio leaves it out (a ``<Dial>`` action)."""
    if not stamp:
        return now
    try:
        at = parsedate_to_datetime(stamp)
    except (TypeError, ValueError):
        raise Invalid(f"Timestamp {stamp!r}: an RFC 2822 date") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# ---------------------------------------------------------------- any other PBX

PBX_FIELDS = {
    "call_id",
    "direction",
    "answered",
    "client_number",
    "line_number",
    "ended_at",
    "duration_seconds",
    "ring_seconds",
}


def pbx_call(document: Any, now: datetime) -> Call:
    """The call a PBX reports to ``/telephony/events/{line id}`` (README, "Telephony")::

        {"call_id": "8812-1", "direction": "inbound", "answered": false,
         "client_number": "+4930901820", "line_number": "+4930555000",
         "ended_at": "2026-11-23T10:15:00Z", "duration_seconds": 0, "ring_seconds": 25}

    ``call_id``, ``direction``, ``answered`` and ``client_number`` are required; a PBX reports a
    call once it ended (the same report again is applied once); without ``ended_at``, it ended
    when it was received (``now``)."""
    if not isinstance(document, dict):
        raise Invalid("the body is a JSON object describing one call that ended")
    if unknown := set(document) - PBX_FIELDS:
        raise Invalid(f"unknown fields: {sorted(unknown)}")
    missing = {"call_id", "direction", "answered", "client_number"} - set(document)
    if missing:
        raise Invalid(f"required: {sorted(missing)}")
    call_id = document["call_id"]
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        raise Invalid("call_id: 1-128 letters, digits, '_', '.', ':' or '-'")
    try:
        direction = Direction(document["direction"])
    except ValueError:
        raise Invalid("direction: inbound or outbound") from None
    answered = document["answered"]
    if not isinstance(answered, bool):
        raise Invalid("answered: true or false")
    if not isinstance(document["client_number"], str):
        raise Invalid("client_number: the client's phone number, with its country code")
    client_number = normal_phone(document["client_number"])
    line_number = document.get("line_number")
    if line_number is not None and not isinstance(line_number, str):
        raise Invalid("line_number: a phone number")
    ended_at = document.get("ended_at")
    if ended_at is not None:
        try:
            ended = datetime.fromisoformat(ended_at) if isinstance(ended_at, str) else None
        except ValueError:
            ended = None
        if ended is None or ended.tzinfo is None:
            raise Invalid("ended_at: an ISO 8601 date-time with its time zone")
    duration = _seconds(document.get("duration_seconds", 0), "duration_seconds")
    ring = document.get("ring_seconds")
    if direction is Direction.OUTBOUND:
        outcome = CallOutcome.OUTGOING
    else:
        outcome = CallOutcome.INCOMING if answered else CallOutcome.MISSED
    return Call(
        provider=Provider.PBX,
        call_id=call_id,
        status="answered" if answered else "unanswered",
        direction=direction,
        outcome=outcome,
        client_number=client_number,
        line_number=None if line_number is None else normal_phone(line_number),
        ended_at=ended if ended_at is not None else now,
        duration_seconds=duration if answered else 0,
        ring_seconds=None if ring is None else _seconds(ring, "ring_seconds"),
    )
