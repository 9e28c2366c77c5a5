"""The management API: one resolver, a router per resource, every error mapped to HTTP here, once."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from crm.api import (
    activities,
    app_robots,
    app_triggers,
    automation,
    bookings,
    document,
    documents,
    emails,
    employees,
    forms,
    hooks,
    items,
    journal,
    keys,
    mailbox,
    notifications,
    payments,
    pipelines,
    requisites,
    robot_settings,
    secrets,
    sites,
    sources,
    tasks,
    telephony,
    types,
)
from crm.api.http import (
    HttpError,
    InvalidBody,
    Resolver,
    error_response,
    request_id,
    summary,
    validation_details,
)
from crm.domain.errors import (
    Conflict,
    CrmError,
    Forbidden,
    Invalid,
    MoveRefused,
    NotFound,
    Throttled,
    TooLarge,
    Unauthorized,
)

TITLE = "CRM automation API"
VERSION = "0.1.0"

logger = Logger(child=True)

app = Resolver()
# App triggers and robots, sources, robot settings, secrets, document templates, payment accounts,
# telephony lines, forms, hooks and sites before automation: their literal paths win over
# /automation/{type}/{pipeline}.
for module in (
    employees,
    types,
    pipelines,
    items,
    journal,
    app_triggers,
    app_robots,
    sources,
    robot_settings,
    secrets,
    documents,
    payments,
    telephony,
    forms,
    hooks,
    sites,
    automation,
    keys,
    mailbox,
    bookings,
    emails,
    activities,
    tasks,
    notifications,
    requisites,
):
    app.include_router(module.router)


def openapi_json() -> str:
    """The OpenAPI document built from the routes: what ``make openapi`` writes to
    ``crm/api/openapi.json``, which /openapi.json and /docs serve (``crm.api.document``)."""
    return app.get_openapi_json_schema(title=TITLE, version=VERSION, openapi_version="3.1.0")


@app.get("/openapi.json", include_in_schema=False)
def serve_openapi():
    return document.openapi_response()


@app.get("/docs", include_in_schema=False)
def serve_swagger_ui():
    query = app.current_event.query_string_parameters or {}
    return document.swagger_response(app._get_base_path(), query.get("format"))


STATUS = {
    Invalid: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    TooLarge: 413,
    Throttled: 503,
}
# Seconds a client waits before retrying a throttled request: DynamoDB's throttling passes in about
# a second, and botocore has retried a few times already.
RETRY_AFTER = "2"


@app.exception_handler(CrmError)
def crm_error(error: CrmError) -> Response:
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    reason = error.reason if isinstance(error, MoveRefused) else None
    headers = {"Retry-After": RETRY_AFTER} if isinstance(error, Throttled) else None
    return error_response(status, str(error), reason=reason, headers=headers)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    details = validation_details(error.errors())
    return error_response(422, summary(details), errors=details)


@app.exception_handler(InvalidBody)
def invalid_body(error: InvalidBody) -> Response:
    return error_response(422, str(error), errors=[error.detail])


@app.exception_handler(HttpError)
def unservable(error: HttpError) -> Response:
    return error_response(error.status, str(error), headers=error.headers)


@app.not_found
def no_route(error: NotFoundError) -> Response:
    event = app.current_event
    allowed = app.allowed_methods(event.path)
    if allowed:
        message = f"{event.http_method} is not allowed on {event.path}; it takes {', '.join(allowed)}"
        return error_response(405, message, headers={"Allow": ", ".join(allowed)})
    return error_response(404, f"there is no {event.path} in this API")


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    # The stack goes to the log, with the request id; the client gets the id, never the details.
    logger.exception("unexpected error", extra={"request_id": request_id()})
    return error_response(500, "internal error")
