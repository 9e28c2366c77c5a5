"""What the OpenAPI document says beyond what powertools derives from the routes, added in one place
so that every route, present and future, gets it: the answers each operation really gives, with
the one error schema; the bearer key; and links from each created resource to the operations on it
(clients and stateful test tools follow them: create a pipeline, then read, rename, delete it)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from crm.api.schemas import Error

SECURITY_SCHEMES = {
    "bearerAuth": HTTPBearer(description="an API key of the tenant: Authorization: Bearer crm_...")
}
SECURITY = [{"bearerAuth": []}]

SCHEMAS = "#/components/schemas/"
WRITES = ("post", "put", "patch", "delete")
ERRORS = {
    400: "Malformed body: not JSON, not UTF-8, or nested too deep",
    401: "Missing, unknown or revoked API key",
    403: "The API key may not do this",
    404: "Not found: the resource in the path (or the tenant's mailbox) does not exist",
    409: "Conflict with the current state: changed meanwhile (read it again), exists already, "
    "still in use, or a stage move the transition policy refuses (see reason)",
    413: "The body is larger than this API takes",
    415: "The body is not sent as application/json",
    422: "Invalid input: see message and errors",
    429: "Too many requests: slow down and retry",
    500: "Unexpected error: quote request_id when reporting it",
    503: "The CRM's storage is busy: retry after the seconds in Retry-After",
}
# What an answer of these codes carries besides its body.
HEADERS = {
    503: {
        "Retry-After": {
            "description": "seconds to wait before retrying",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    }
}

# Links from the answer of a create operation to the operations on what it created: the source
# operation, the path prefixes of the targets, and where each path parameter's value comes from.
LINKS: list[tuple[tuple[str, str], tuple[str, ...], dict[str, str]]] = [
    (("/employees", "post"), ("/employees/{employee_id}",), {"employee_id": "$response.body#/id"}),
    (("/types", "post"), ("/types/{code}",), {"code": "$response.body#/code"}),
    (
        ("/pipelines", "post"),
        ("/pipelines/{pipeline_id}", "/automation/{item_type}/{pipeline_id}"),
        {
            "pipeline_id": "$response.body#/id",
            "stage_id": "$response.body#/stages/0/id",
            "item_type": "$response.body#/item_type",
        },
    ),
    (
        ("/items/{item_type}", "post"),
        ("/items/{item_type}/{item_id}",),
        {"item_type": "$request.path.item_type", "item_id": "$response.body#/id"},
    ),
    *(
        (
            (f"/automation/{{item_type}}/{{pipeline_id}}/{kind}", "post"),
            (f"/automation/{{item_type}}/{{pipeline_id}}/{kind}/",),
            {
                "item_type": "$request.path.item_type",
                "pipeline_id": "$request.path.pipeline_id",
                "rule_id": "$response.body#/id",
            },
        )
        for kind in ("triggers", "robots")
    ),
    (
        ("/automation/app-triggers", "post"),
        ("/automation/app-triggers/",),
        {"code": "$response.body#/code"},
    ),
    (("/api-keys", "post"), ("/api-keys/{key_id}",), {"key_id": "$response.body#/id"}),
]


def _error_codes(method: str, operation: dict[str, Any]) -> list[int]:
    codes = [401, 403, 404, 429, 500, 503]
    if operation.get("parameters") or "requestBody" in operation:
        codes.append(422)
    if method in WRITES:
        codes.append(409)
    if "requestBody" in operation:
        codes += [400, 413, 415]
    return sorted(codes)


def _path_parameters(path: str) -> set[str]:
    return {part[1:-1] for part in path.split("/") if part.startswith("{")}


def amend(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    error_schema = Error.model_json_schema(ref_template=SCHEMAS + "{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["Error"] = error_schema
    operations = {
        (path, method): operation
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
    }
    for (_, method), operation in operations.items():
        responses = operation["responses"]
        responses.pop("422", None)  # powertools' own, with a body this API does not give
        for code in _error_codes(method, operation):
            responses[str(code)] = {
                "description": ERRORS[code],
                "content": {"application/json": {"schema": {"$ref": SCHEMAS + "Error"}}},
            } | ({"headers": HEADERS[code]} if code in HEADERS else {})
        if "204" in responses:
            responses["204"] = {"description": "Done; no content"}
        operation["responses"] = dict(sorted(responses.items()))
    for source, prefixes, values in LINKS:
        if source not in operations:
            continue
        success = next(code for code in operations[source]["responses"] if code.startswith("2"))
        links = operations[source]["responses"][success].setdefault("links", {})
        for (path, method), operation in operations.items():
            wanted = _path_parameters(path)
            if (path, method) != source and path.startswith(prefixes) and wanted <= set(values):
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {name: values[name] for name in sorted(wanted)},
                }
    return document
