"""The HTTP edge of the management API, where powertools' resolver does not answer the way a client
expects: request bodies are JSON only and read defensively (400, 413, 415, never a crash), a method
a known path does not serve is 405 with ``Allow``, 204 has no body, and every error has one shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.compat import field_annotation_is_sequence
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from crm.api.schemas import Error, ErrorDetail
from crm.bodies import BadValue, parse_json, raw_body
from crm.bodies import BodyError as HttpError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI


class InvalidBody(Exception):
    """The body is JSON, but holds a value no field takes (422, like any validation error)."""

    def __init__(self, field: str, message: str, kind: str) -> None:
        super().__init__(f"{field}: {message}")
        self.detail = ErrorDetail(field=field, message=message, type=kind)


def read_json(event: BaseProxyEvent) -> Any:
    """The request body as JSON; HttpError or InvalidBody for what cannot be stored or read."""
    media = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in ("", content_types.APPLICATION_JSON):
        raise HttpError(415, f"send the body as JSON (Content-Type: application/json), not {media!r}")
    try:
        return parse_json(raw_body(event.body, event.is_base64_encoded))
    except BadValue as error:
        raise InvalidBody(error.place, error.message, error.kind) from None


class JsonBodies(OpenAPIRequestValidationMiddleware):
    """powertools' request validation, with bodies read by ``read_json`` (it would take forms and
    multipart too, and let a malformed body crash the function)."""

    def _get_body(self, app: Any) -> Any:
        body = read_json(app.current_event)
        # powertools takes a list's first element for a field that is no list (a form's repeated
        # field); in JSON, an array where the route takes an object is invalid, not its first element.
        params = app.context["_route"].dependant.body_params
        if isinstance(body, list) and not any(
            field_annotation_is_sequence(p.field_info.annotation) for p in params
        ):
            raise InvalidBody("body", "Input should be a JSON object, not an array", "model_attributes_type")
        return body


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
