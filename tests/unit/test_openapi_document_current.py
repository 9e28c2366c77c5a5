"""The API function serves the OpenAPI document `make openapi` wrote (crm/api/openapi.json, shipped
in the layer) instead of building it on every cold start: the file must be what the routes
generate now, and the function must serve it as the document and the Swagger page."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crm.api import openapi_json
from crm.api.document import DOCUMENT
from tests.conftest import ROOT, lambda_context, load_handler
from tests.gateway import STAGE, proxy_event

COMMITTED = (DOCUMENT, ROOT / "docs" / "openapi.json")


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_committed_document_is_what_the_routes_generate(path):
    assert path.read_text() == openapi_json() + "\n", f"{path} is out of date: run `make openapi`"


def call(path: str, query: dict[str, str] | None = None) -> dict:
    event = proxy_event("GET", path)
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    return load_handler("api").lambda_handler(event, lambda_context())


def test_openapi_json_serves_the_file():
    answer = call("/openapi.json")
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == json.loads(DOCUMENT.read_text())


def test_the_swagger_page_shows_the_file_with_the_stage_as_its_server():
    spec = call("/docs", {"format": "json"})
    assert spec["statusCode"] == 200
    assert json.loads(spec["body"]) == json.loads(DOCUMENT.read_text()) | {"servers": [{"url": f"/{STAGE}"}]}
    page = call("/docs")
    assert page["statusCode"] == 200 and page["multiValueHeaders"]["Content-Type"] == ["text/html"]
    assert "SwaggerUIBundle" in page["body"] and '"title": "CRM automation API"' in page["body"]


def test_a_cold_start_does_not_build_the_document():
    # A fresh process, as Lambda's: import the handler, serve /openapi.json; powertools' OpenAPI
    # models (what building the document needs) stay unloaded.
    code = f"""
import json, sys
sys.path[:0] = [{str(ROOT / "functions" / "api")!r}, {str(ROOT / "layers" / "shared")!r}]
import app

class Context:
    function_name, function_version, memory_limit_in_mb = "api", "$LATEST", 512
    invoked_function_arn, aws_request_id = "arn:aws:lambda:eu-west-1:123456789012:function:api", "1"

answer = app.lambda_handler(json.load(sys.stdin), Context())
assert answer["statusCode"] == 200, answer
print(json.dumps(sorted(sys.modules)))
"""
    event = json.dumps(proxy_event("GET", "/openapi.json"))
    done = subprocess.run(
        [sys.executable, "-c", code], input=event, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "aws_lambda_powertools.event_handler.api_gateway" in loaded  # the resolver answered
    assert "aws_lambda_powertools.event_handler.openapi.models" not in loaded
