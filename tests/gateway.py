"""API Gateway REST v1 as the tests see it: the REQUEST authorizer runs first, then the proxy
event goes to the API function, both in the exact shapes API Gateway sends."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import lambda_context, load_event, load_handler

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
    return parts.path, single, multi


def proxy_event(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> dict:
    """A REST proxy event for the greedy /{proxy+} resource (public routes have their own)."""
    event = copy.deepcopy(load_event("api/get_pipelines.json"))
    plain_path, query, multi_query = _split(path)
    public = plain_path in ("/openapi.json", "/docs")
    resource = plain_path if public else "/{proxy+}"
    all_headers = {"Accept": "application/json", "Host": f"{API_ID}.execute-api.eu-west-1.amazonaws.com"}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    event.update(
        resource=resource,
        path=plain_path,
        httpMethod=method,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters=multi_query,
        pathParameters=None if public else {"proxy": plain_path.lstrip("/")},
        body=None if body is None else json.dumps(body),
        isBase64Encoded=False,
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
        event = proxy_event(method, path, body, headers)
        if event["resource"] == "/{proxy+}":
            if not key:
                return Answer(401, {"message": "Unauthorized"}, {})
            try:
                policy = self.authorizer.lambda_handler(authorizer_event(event), lambda_context())
            except Exception as error:
                assert str(error) == "Unauthorized"
                return Answer(401, {"message": "Unauthorized"}, {})
            statement = policy["policyDocument"]["Statement"][0]
            if statement["Effect"] != "Allow":
                return Answer(403, {"Message": "User is not authorized to access this resource"}, {})
            event["requestContext"]["authorizer"] = {
                "principalId": policy["principalId"],
                **policy["context"],
            }
        result = self.api.lambda_handler(event, lambda_context())
        body_text = result.get("body") or ""
        headers = dict(result.get("headers") or {})
        headers.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()})
        is_json = headers.get("Content-Type", "").startswith("application/json") and body_text
        return Answer(result["statusCode"], json.loads(body_text) if is_json else body_text, headers)
