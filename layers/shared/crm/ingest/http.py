"""The HTTP edge every public ingest function shares: an API Gateway (REST, v1 proxy) event read
into a ``Request``, a ``Response`` written back, and the CRM's errors mapped to statuses once:
malformed 400, bad secret or signature 401/403, unknown form or hook 404, oversize 413, busy 503.
Never a 5xx for bad input: an unexpected error is a logged 500 with the request id to quote.

Plain dicts, not powertools' event classes or resolver: these functions face providers and
browsers, and their cold start is budgeted (Performance II)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.bodies import MAX_BODY_BYTES, BadValue, BodyError, media_type, parse_json, raw_body
from crm.domain.errors import (
    Conflict,
    CrmError,
    Forbidden,
    Invalid,
    NotFound,
    StaleWrite,
    Throttled,
    TooLarge,
    Unauthorized,
)

logger = Logger()

# No form of the CRM's has a hundredth of this; parsing more only costs memory.
MAX_FORM_FIELDS = 1000


@dataclass(frozen=True)
class Request:
    """One request as the client sent it; header names in lower case."""

    method: str
    path: str  # the path as the client asked for it (/forms/f_acme_1)
    resource: str  # the template's route (/forms/{form_id})
    path_params: Mapping[str, str]
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    source_ip: str
    request_id: str
    stage: str = ""
    host: str = ""
    domain: str = ""  # API Gateway's (requestContext.domainName), not a header the client sets

    @classmethod
    def of(cls, event: Mapping[str, Any], limit: int = MAX_BODY_BYTES) -> Request:
        """From a REST API proxy event; BodyError (400, 413) for a body that cannot be read."""
        context = event.get("requestContext") or {}
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if isinstance(v, str)}
        query = {k: list(v) for k, v in (event.get("multiValueQueryStringParameters") or {}).items()}
        for name, value in (event.get("queryStringParameters") or {}).items():
            query.setdefault(name, [value])
        return cls(
            method=(event.get("httpMethod") or "GET").upper(),
            path=event.get("path") or "/",
            resource=event.get("resource") or "",
            path_params=dict(event.get("pathParameters") or {}),
            query=query,
            headers=headers,
            body=raw_body(event.get("body"), bool(event.get("isBase64Encoded")), limit),
            source_ip=(context.get("identity") or {}).get("sourceIp") or "",
            request_id=context.get("requestId") or "",
            stage=context.get("stage") or "",
            host=headers.get("host", ""),
            domain=context.get("domainName") or "",
        )

    @property
    def media_type(self) -> str:
        return media_type(self.headers.get("content-type"))

    def public_url(self, base: str) -> str:
        """The URL the client called, as a provider that signs it (Twilio) has it: ``base`` (the
        API's public base URL, configuration: a custom domain's), else API Gateway's own domain and
        stage; then the route with its parameters, and the query string as sent."""
        root = base.rstrip("/") or f"https://{self.domain}/{self.stage}"
        path = self.resource
        for name, value in self.path_params.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        pairs = [(name, value) for name, values in self.query.items() for value in values]
        return root + path + (f"?{urlencode(pairs)}" if pairs else "")

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body as JSON (None when empty); 400 for anything else."""
        try:
            return parse_json(self.body)
        except BadValue as error:
            raise BodyError(400, str(error)) from None

    def form(self) -> dict[str, list[str]]:
        """An urlencoded body's fields (several values per name kept, in order); 400 when it is not
        UTF-8, 413 past MAX_FORM_FIELDS fields."""
        try:
            text = self.body.decode()
        except UnicodeDecodeError:
            raise BodyError(400, "the form is not UTF-8 text") from None
        try:
            return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:  # more fields than that
            raise BodyError(413, f"the form has more than {MAX_FORM_FIELDS} fields") from None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_proxy(self) -> dict[str, Any]:
        """The proxy integration's answer; bytes that are not text go base64-encoded."""
        if isinstance(self.body, bytes):
            try:
                body, encoded = self.body.decode(), False
            except UnicodeDecodeError:
                body, encoded = base64.b64encode(self.body).decode(), True
        else:
            body, encoded = self.body, False
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": body,
            "isBase64Encoded": encoded,
        }


def json_response(status: int, document: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, json.dumps(document), {"Content-Type": "application/json", **(headers or {})})


def error(
    status: int, message: str, request_id: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    """The CRM's one error shape (as the management API answers)."""
    body = {"message": message} | ({"request_id": request_id} if request_id else {})
    return json_response(status, body, headers)


def redirect(status: int, location: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, b"", {"Location": location, "Cache-Control": "no-store", **(headers or {})})


# One status per meaning: bad input is never a 5xx. A write that met a concurrent one twice
# (StaleWrite) is 503 with Retry-After, not 409: providers, browsers and booking systems retry a
# 503 and drop a 4xx, and the event was valid.
STATUS: list[tuple[type[CrmError], int]] = [
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (TooLarge, 413),
    (Invalid, 400),
    (StaleWrite, 503),
    (Conflict, 409),
    (Throttled, 503),
]
RETRY_LATER = (Throttled, StaleWrite)


def status_of(failure: CrmError) -> int:
    return next((status for kind, status in STATUS if isinstance(failure, kind)), 400)


def serve(
    handle: Callable[[Request], Response], *, limit: int = MAX_BODY_BYTES
) -> Callable[[dict, LambdaContext], dict]:
    """A Lambda handler for a source's ``handle``: the request read, the errors answered once."""

    @logger.inject_lambda_context
    def lambda_handler(event: dict, context: LambdaContext) -> dict:
        request_id = ((event.get("requestContext") or {}).get("requestId")) or ""
        try:
            request = Request.of(event, limit)
            return handle(request).to_proxy()
        except BodyError as refused:
            return error(refused.status, str(refused), request_id, refused.headers).to_proxy()
        except CrmError as refused:
            status = status_of(refused)
            headers = {"Retry-After": "1"} if isinstance(refused, RETRY_LATER) else {}
            if status >= 500:
                logger.warning("refused: store busy", extra={"error": str(refused)})
            return error(status, str(refused), request_id, headers).to_proxy()
        except Exception:
            logger.exception("internal error")
            return error(500, "internal error", request_id).to_proxy()

    return lambda_handler
