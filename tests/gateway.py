"""API Gateway REST v1 as the tests see it: the REQUEST authorizer runs first, then the proxy
event goes to the API function, both in the exact shapes API Gateway sends. ``Gateway.wsgi``
serves the same over WSGI, for clients that speak HTTP (schemathesis)."""

from __future__ import annotations

import base64
import copy
import json
import logging
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.conftest import lambda_context, load_event, load_handler, template

API_ID = "a1b2c3d4e5"
STAGE = "dev"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def _split(path: str) -> tuple[str, dict[str, str] | None, dict[str, list[str]] | None]:
    parts = urlsplit(path)
    multi = parse_qs(parts.query, keep_blank_values=True) or None
    single = {k: v[-1] for k, v in multi.items()} if multi else None
    return unquote(parts.path), single, multi


def _body(raw: bytes | None) -> tuple[str | None, bool]:
    """The body as API Gateway hands it over: text, or base64 when it is not UTF-8 text."""
    if not raw:
        return None, False
    try:
        return raw.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), True


def proxy_event(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> dict:
    """A REST proxy event for the greedy /{proxy+} resource (public routes have their own); the body
    is ``body`` as JSON, or ``raw`` bytes as they came."""
    event = copy.deepcopy(load_event("api/get_pipelines.json"))
    plain_path, query, multi_query = _split(path)
    public = plain_path in ("/openapi.json", "/docs")
    resource = plain_path if public else "/{proxy+}"
    all_headers = {"Accept": "application/json", "Host": f"{API_ID}.execute-api.eu-west-1.amazonaws.com"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
        raw = json.dumps(body).encode()
    all_headers.update(headers or {})
    text, is_base64 = _body(raw)
    event.update(
        resource=resource,
        path=plain_path,
        httpMethod=method,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters=multi_query,
        pathParameters=None if public else {"proxy": plain_path.lstrip("/")},
        body=text,
        isBase64Encoded=is_base64,
    )
    event["requestContext"].update(
        resourcePath=resource,
        httpMethod=method,
        path=f"/{STAGE}{plain_path}",
        requestId=str(uuid.uuid4()),
    )
    event["requestContext"].pop("authorizer", None)
    return event


def authorizer_event(proxy: dict) -> dict:
    event = copy.deepcopy(load_event("authorizer/request.json"))
    for key in (
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
    ):
        event[key] = proxy[key]
    event["methodArn"] = (
        f"arn:aws:execute-api:eu-west-1:123456789012:{API_ID}/{STAGE}/{proxy['httpMethod']}{proxy['path']}"
    )
    event["requestContext"] = {k: v for k, v in proxy["requestContext"].items() if k != "authorizer"}
    return event


class Gateway:
    def __init__(self) -> None:
        self.api = load_handler("api")
        self.authorizer = load_handler("authorizer")

    def call(
        self, method: str, path: str, body: Any = None, key: str | None = None, headers: dict | None = None
    ) -> Answer:
        headers = {**({"Authorization": f"Bearer {key}"} if key else {}), **(headers or {})}
        return self.answer(self.send(proxy_event(method, path, body, headers)))

    def send(self, event: dict) -> dict:
        """What API Gateway answers to the request of this proxy event (statusCode, headers, body)."""
        if event["resource"] == "/{proxy+}":
            if "authorization" not in {k.lower() for k in event["headers"]}:
                return _gateway_answer(event, "UNAUTHORIZED", 401, "Unauthorized")
            try:
                policy = self.authorizer.lambda_handler(authorizer_event(event), lambda_context())
            except Exception as error:
                assert str(error) == "Unauthorized"
                return _gateway_answer(event, "UNAUTHORIZED", 401, "Unauthorized")
            statement = policy["policyDocument"]["Statement"][0]
            if statement["Effect"] != "Allow":
                message = "User is not authorized to access this resource"
                return _gateway_answer(event, "ACCESS_DENIED", 403, message)
            event["requestContext"]["authorizer"] = {
                "principalId": policy["principalId"],
                **policy["context"],
            }
        try:
            return self.api.lambda_handler(event, lambda_context())
        except Exception:  # what API Gateway answers when the function fails
            logging.getLogger(__name__).exception("the API function failed")
            return _gateway_answer(event, "DEFAULT_5XX", 502, "Internal server error")

    @staticmethod
    def answer(result: dict) -> Answer:
        body_text = result.get("body") or ""
        headers = dict(result.get("headers") or {})
        headers.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()})
        is_json = headers.get("Content-Type", "").startswith("application/json") and body_text
        return Answer(result["statusCode"], json.loads(body_text) if is_json else body_text, headers)


@cache
def _gateway_responses() -> dict:
    return template()["Resources"]["CrmApi"]["Properties"]["GatewayResponses"]


def _gateway_answer(event: dict, kind: str, status: int, message: str) -> dict:
    """API Gateway's own answer of this kind (UNAUTHORIZED, ...), as the template's GatewayResponses
    shape it: the kind's own response, else the 4XX or 5XX default."""
    responses = _gateway_responses()
    response = responses.get(kind) or responses["DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"]
    body = (
        response["ResponseTemplates"]["application/json"]
        .replace("$context.error.messageString", json.dumps(message))
        .replace("$context.requestId", event["requestContext"]["requestId"])
    )
    headers = {
        name: value.strip("'")
        for name, value in response.get("ResponseParameters", {}).get("Headers", {}).items()
    }
    return {
        "statusCode": response.get("StatusCode", status),
        "headers": {"Content-Type": "application/json", **headers},
        "body": body,
    }


def wsgi_app(gateway: Gateway):
    """The gateway as a WSGI application: each HTTP request becomes the proxy event API Gateway
    would send, and the function's answer becomes the HTTP response (base64 bodies decoded)."""
    from werkzeug.wrappers import Request, Response

    @Request.application
    def application(request: Request) -> Response:
        query = request.query_string.decode("latin-1")
        path = quote(request.path, safe="/") + (f"?{query}" if query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        event = proxy_event(request.method, path, headers=headers, raw=request.get_data())
        result = gateway.send(event)
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(payload, status=result["statusCode"])
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = value
        for key, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.setlist(key, values)
        return response

    return application
