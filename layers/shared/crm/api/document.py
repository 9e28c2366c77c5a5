"""The OpenAPI document as the API function serves it: the file ``make openapi`` writes next to
this module (``scripts/export_openapi.py``), read on first request. Building it from the routes
costs powertools' OpenAPI models and a walk over every route's schema, about half an `import boto3`
on every cold start; ``tests/unit/test_openapi_document_current.py`` keeps the file current.

``/docs`` is the Swagger UI page as powertools' ``enable_swagger`` serves it (the document with
the request's base path as its server, ``?format=json`` for that document), from the same file."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response, content_types

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def document() -> str:
    return DOCUMENT.read_text()


def openapi_response() -> Response:
    return Response(200, content_types.APPLICATION_JSON, document())


def swagger_response(base_path: str, page_format: str | None) -> Response:
    # Here, not at import: the Swagger UI module loads powertools' OpenAPI models.
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    if page_format == "oauth2-redirect":
        return Response(200, "text/html", swagger_ui.generate_oauth2_redirect_html())
    spec = json.loads(document()) | {"servers": [{"url": base_path or "/"}]}
    # "</" escaped: the document sits inside a <script> element of the page.
    escaped = json.dumps(spec, indent=2, ensure_ascii=False).replace("</", "<\\/")
    if page_format == "json":
        return Response(200, content_types.APPLICATION_JSON, escaped)
    assets = Path(swagger_ui.__file__).parent
    page = swagger_ui.generate_swagger_html(
        escaped,
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(200, "text/html", page)
