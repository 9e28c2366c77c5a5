"""Signed HTTPS POSTs to another system: what *outgoing webhook* and *add to audience* share.

The body is JSON, sent as the exact bytes that were signed. The signature is Stripe's scheme, so a
receiver can reuse the verifier it has::

    X-Crm-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

The receiver recomputes the HMAC over the raw body, compares in constant time and refuses a ``t``
too far from its clock (a replay). ``X-Idempotency-Key`` is the run's key, the same on every
attempt, so a receiver that keeps it sees a retried delivery as the one it has.

Where the secret lives: in the tenant's secret store (the ``Secrets`` port), under a name; a
robot's params hold only that name (``secret_ref``). Params are shown back by the API to whoever
lists the pipeline's robots, a secret must not be, and the tenant sets the secret once (the one its
receiver verifies with) and rotates it without editing every robot that uses it. A missing secret
fails the run for good: an unsigned request would teach the receiver to accept unsigned ones.

The answer: 2xx is success, and its JSON object's named fields become outputs; 408, 429 and 5xx
are worth another attempt (after Retry-After, seconds or an HTTP-date, when the answer says);
anything else (a 4xx, a redirect, which is not followed) fails for good.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from crm.domain import signatures
from crm.domain.errors import Invalid, Unauthorized
from crm.domain.ports import HttpAnswer
from crm.domain.retry_after import retry_after
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.secrets import NAME_PATTERN as SECRET_NAME
from crm.domain.urls import web_address
from crm.robots.inside import Params

SIGNATURE_HEADER = "X-Crm-Signature"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
TIMEOUT_SECONDS = 10.0
# An answer's field is kept as an output up to this size (as JSON): outputs live in the run's
# record and in the templates of the robots after it.
MAX_ANSWER_FIELD = 4_000
MAX_ANSWER_FIELDS = 20
# How much of a refusing answer's body the run's error quotes.
_QUOTED = 200

# An output's name, as templates read it: robots.<robot id>.<name>.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Host names that only mean something inside a network, never another system on the internet.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
# The local runtime's receivers listen on this machine (http://127.0.0.1:port); deployed, a robot
# posts only to public https addresses. One switch, read once, for the check when a robot is saved
# (here) and for the HTTP adapter when it runs (``crm.service.robots.ports``).
LOOPBACK_ALLOWED = os.environ.get("ROBOT_HTTP_ALLOW_LOOPBACK") == "1"


def _https(url: str) -> str:
    try:
        address = web_address(url, "url")
    except Invalid as error:
        raise ValueError(str(error)) from None
    host = urlsplit(address).hostname or ""
    if LOOPBACK_ALLOWED and _loopback(host):
        return address
    if not address.startswith("https://"):
        raise ValueError("url: an https:// address (the body carries the client's data)")
    try:
        internal = not ipaddress.ip_address(host).is_global
    except ValueError:
        name = host.rstrip(".")
        internal = name == "localhost" or name.endswith(_LOCAL_SUFFIXES)
    if internal:
        raise ValueError(f"url: {host} is not an address on the internet")
    return address


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.rstrip(".") == "localhost"


# Where a robot posts: an https address of another system on the internet. Names resolving to
# internal addresses are the HTTP adapter's to refuse (it sees the address it connects to).
HttpsAddress = Annotated[str, AfterValidator(_https)]


class SignedPostParams(Params):
    url: HttpsAddress
    secret_ref: str = Field(
        pattern=SECRET_NAME,
        description="the name of the tenant's secret the body is signed with (never the secret itself)",
    )
    fields_from_answer: list[str] = Field(
        default_factory=list,
        max_length=MAX_ANSWER_FIELDS,
        description="fields of the JSON answer kept as outputs, read as robots.<robot id>.<field>",
    )

    @field_validator("fields_from_answer")
    @classmethod
    def _output_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _FIELD_NAME.match(name) or name == "status":
                raise ValueError(
                    f"{name!r}: a field name of letters, digits and '_' (not 'status', an output already)"
                )
        if len(set(names)) != len(names):
            raise ValueError("each field is named once")
        return names


class AnswerOutputs(BaseModel):
    """The answer's status and the fields of it the robot keeps (each robot's own names)."""

    model_config = ConfigDict(extra="allow")

    status: int


def post_signed(
    ctx: RobotContext,
    params: SignedPostParams,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    answer_signed: bool = False,
) -> dict[str, Any]:
    """POST ``payload`` to ``params.url``, signed, with the run's idempotency key; the outputs of a
    2xx answer, or RobotFailed as the answer says. ``answer_signed``: the answer must carry its own
    signature with the same secret (an application's robot answering values the CRM will act on)."""
    secret = _secret(ctx, params.secret_ref)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    sent = {
        **(headers or {}),
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: ctx.idempotency_key,
        SIGNATURE_HEADER: signatures.sign(body, secret, ctx.now),
    }
    answer = ctx.ports.http.post(params.url, body, sent, timeout=TIMEOUT_SECONDS)
    if answer_signed and 200 <= answer.status < 300:
        _check_answer(answer, secret, ctx.now)
    return outputs_of(answer, params, ctx.now)


def _check_answer(answer: HttpAnswer, secret: str, now: datetime) -> None:
    """The answer's ``X-Crm-Signature`` is the secret's over its exact body, made within the
    tolerance; RobotFailed (for good: a forged or stale answer stays one) otherwise."""
    try:
        signatures.verify(answer.body, _header(answer, SIGNATURE_HEADER), [secret], now, SIGNATURE_HEADER)
    except Unauthorized as refused:
        raise RobotFailed(f"the answer is not signed: {refused}", retryable=False) from None


def _secret(ctx: RobotContext, name: str) -> str:
    found = None if ctx.ports.secrets is None else ctx.ports.secrets.get(ctx.tenant_id, name)
    if not found:
        raise RobotFailed(
            f"secret_ref: the tenant has no secret named {name!r} to sign the request with",
            retryable=False,
        )
    return found


def outputs_of(answer: HttpAnswer, params: SignedPostParams, now: datetime) -> dict[str, Any]:
    host = urlsplit(params.url).hostname
    if answer.status in (408, 429) or answer.status >= 500:
        raise RobotFailed(
            f"{host} answered {answer.status}",
            retryable=True,
            retry_after=retry_after(_header(answer, "Retry-After"), now),
        )
    if not 200 <= answer.status < 300:
        quoted = answer.body[:_QUOTED].decode(errors="replace")
        quoted = "".join(c if c.isprintable() else " " for c in quoted).strip()
        said = f": {quoted}" if quoted else ""
        raise RobotFailed(f"{host} answered {answer.status}{said}", retryable=False)
    outputs: dict[str, Any] = {"status": answer.status}
    fields = _json_object(answer.body)
    if fields is None:
        return outputs  # not a JSON object: there are no fields to keep
    for name in params.fields_from_answer:
        value = fields.get(name)
        if len(json.dumps(value, ensure_ascii=False)) > MAX_ANSWER_FIELD:
            raise RobotFailed(
                f"{host} answered with {name!r} longer than {MAX_ANSWER_FIELD} characters "
                "as JSON, too long to keep as an output",
                retryable=False,
            )
        outputs[name] = value
    return outputs


def _header(answer: HttpAnswer, name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in answer.headers.items() if key.lower() == wanted), None)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        return None
    return value if isinstance(value, dict) else None
