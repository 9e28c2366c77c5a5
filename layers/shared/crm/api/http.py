"""The HTTP edge of the management API, where powertools' resolver does not answer the way a client
expects: request bodies are JSON only and read defensively (400, 413, 415, never a crash), a method
a known path does not serve is 405 with ``Allow``, 204 has no body, and every error has one shape."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from crm.api.schemas import Error, ErrorDetail

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

# API Gateway takes up to 10 MB; nothing this API stores comes near this.
MAX_BODY_BYTES = 256 * 1024
# Deeper JSON than any request of this API needs; deep nesting only costs recursion.
MAX_DEPTH = 32
# Python refuses to parse integers of more than 4,300 digits; no field needs more than 30.
MAX_DIGITS = 30


class HttpError(Exception):
    """The request cannot be served as sent, whatever it asks for (400, 405, 413, 415)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class InvalidBody(Exception):
    """The body is JSON, but holds a value no field takes (422, like any validation error)."""

    def __init__(self, field: str, message: str, kind: str) -> None:
        super().__init__(f"{field}: {message}")
        self.detail = ErrorDetail(field=field, message=message, type=kind)


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of more than {MAX_DIGITS} digits")
    return int(text)


def _values(document: Any) -> Iterator[tuple[str, int, Any]]:
    """Every value in a parsed document with its place (body.a.0.b) and depth, without recursion."""
    stack = [("body", 0, document)]
    while stack:
        place, depth, value = stack.pop()
        yield place, depth, value
        if isinstance(value, dict):
            stack.extend((f"{place}.{k}", depth + 1, v) for k, v in value.items())
            stack.extend((f"{place}.{k}", depth + 1, k) for k in value)
        elif isinstance(value, list):
            stack.extend((f"{place}.{i}", depth + 1, v) for i, v in enumerate(value))


def read_json(event: BaseProxyEvent) -> Any:
    """The request body as JSON; HttpError or InvalidBody for what cannot be stored or read."""
    media = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in ("", content_types.APPLICATION_JSON):
        raise HttpError(415, f"send the body as JSON (Content-Type: application/json), not {media!r}")
    raw = event.body
    if not raw:
        return None
    try:
        data = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode()
    except (binascii.Error, UnicodeEncodeError):
        raise HttpError(400, "the body is not UTF-8 text") from None
    if len(data) > MAX_BODY_BYTES:
        raise HttpError(413, f"the body has {len(data)} bytes; this API takes at most {MAX_BODY_BYTES}")
    try:
        document = json.loads(data.decode(), parse_int=_integer)
    except UnicodeDecodeError:
        raise HttpError(400, "the body is not UTF-8 text") from None
    except RecursionError:
        raise HttpError(400, f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise HttpError(400, f"the body is not JSON: {error}") from None
    for place, depth, value in _values(document):
        if depth > MAX_DEPTH:
            raise HttpError(400, f"the body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidBody(place, "numbers must be finite", "finite_number")
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                raise InvalidBody(place, "text must be valid Unicode", "unicode") from None
    return document


class JsonBodies(OpenAPIRequestValidationMiddleware):
    """powertools' request validation, with bodies read by ``read_json`` (it would take forms and
    multipart too, and let a malformed body crash the function)."""

    def _get_body(self, app: Any) -> Any:
        return read_json(app.current_event)


class Resolver(APIGatewayRestResolver):
    def __init__(self) -> None:
        super().__init__(enable_validation=True)
        # powertools keeps its validation middleware here; this one differs in reading the body only.
        self._request_validation_middleware = JsonBodies()

    def allowed_methods(self, path: str) -> list[str]:
        """The methods some route serves on ``path`` (empty: the path is unknown)."""
        routes = self._static_routes + self._dynamic_routes
        return sorted({route.method for route in routes if route.rule.match(path)})

    def _to_response(self, result: Any) -> Any:
        response = super()._to_response(result)
        if response.status_code == 204:
            # No Content: no body, not even JSON's null.
            response.body = None
            response.headers.pop("Content-Type", None)
        return response

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPI:
        """powertools' document, amended (``crm.api.openapi``): every place that serves the document,
        /openapi.json, /docs and ``make openapi``, serves the amended one."""
        # Here, not at import: only ``make openapi`` builds the document (``crm.api.document``).
        from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

        from crm.api.openapi import SECURITY, SECURITY_SCHEMES, amend

        kwargs["security_schemes"] = kwargs.get("security_schemes") or SECURITY_SCHEMES
        kwargs["security"] = kwargs.get("security") or SECURITY
        document = (
            super().get_openapi_schema(**kwargs).model_dump(by_alias=True, exclude_none=True, mode="json")
        )
        return OpenAPI.model_validate(amend(document))


def error_response(
    status: int,
    message: str,
    *,
    reason: str | None = None,
    errors: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The one shape of every error answer, with the request id to quote."""
    body = Error(message=message, reason=reason, errors=errors, request_id=request_id())
    return Response(status, content_types.APPLICATION_JSON, body.model_dump_json(exclude_none=True), headers)


def request_id() -> str | None:
    event = getattr(BaseRouter, "current_event", None)
    return event.request_context.request_id if event is not None else None


def validation_details(errors: list[dict[str, Any]]) -> list[ErrorDetail]:
    return [
        ErrorDetail(field=".".join(str(part) for part in e["loc"]), message=e["msg"], type=e["type"])
        for e in errors
    ]


def summary(details: list[ErrorDetail]) -> str:
    first = f"{details[0].field}: {details[0].message}" if details else "the request is invalid"
    return first + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")
