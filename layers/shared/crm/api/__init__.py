"""The management API: one resolver, a router per resource, domain errors mapped to 4xx."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from crm.api import automation, employees, items, keys, mailbox, pipelines, types
from crm.api.schemas import Message
from crm.domain.errors import Conflict, CrmError, Invalid, MoveRefused, NotFound

TITLE = "CRM automation API"
VERSION = "0.1.0"

app = APIGatewayRestResolver(enable_validation=True)
for module in (employees, types, pipelines, items, automation, keys, mailbox):
    app.include_router(module.router)

app.enable_swagger(path="/docs", title=TITLE, version=VERSION)


def openapi_json() -> str:
    return app.get_openapi_json_schema(title=TITLE, version=VERSION, openapi_version="3.1.0")


@app.get("/openapi.json", include_in_schema=False)
def serve_openapi():
    return Response(200, content_types.APPLICATION_JSON, openapi_json())


STATUS = {Invalid: 422, NotFound: 404, Conflict: 409}


def _message(status: int, message: Message) -> Response:
    return Response(status, content_types.APPLICATION_JSON, message.model_dump_json(exclude_none=True))


@app.exception_handler(CrmError)
def crm_error(error: CrmError) -> Response:
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    reason = error.reason if isinstance(error, MoveRefused) else None
    return _message(status, Message(message=str(error), reason=reason))


@app.exception_handler(PermissionError)
def no_tenant(error: PermissionError) -> Response:
    return _message(403, Message(message="Forbidden"))
