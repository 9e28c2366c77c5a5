"""The REST v1 proxy event API Gateway builds for an integration, and the proxy response it reads
back (status, single and multi-value headers, base64 for binary media types)."""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.gateway.messages import Request, Response, internal_server_error
from infra.gateway.routes import Api, Route

log = logging.getLogger("infra.api")


def proxy_event(request: Request, route: Route, params: dict[str, str], account_id: str) -> dict[str, Any]:
    headers = list(request.headers)
    present = {key.lower() for key, _ in headers}
    # Headers API Gateway adds in front of every integration.
    for key, value in (
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(request.port)),
        ("X-Forwarded-Proto", "http"),
    ):
        if key.lower() not in present:
            headers.append((key, value))
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for key, value in request.query:
        multi_query.setdefault(key, []).append(value)
    body: str | None = None
    is_base64 = False
    if request.body:
        try:
            body = request.body.decode()
        except UnicodeDecodeError:
            body = None
        # Binary media types arrive base64-encoded. So does a body that is not UTF-8 text at all,
        # which API Gateway would mangle instead; locally it is passed intact.
        if body is None or route.api.is_binary(request.header("Content-Type")):
            body, is_base64 = base64.b64encode(request.body).decode(), True
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {key: values[-1] for key, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": route.api.stage_variables or None,
        "requestContext": _request_context(request, route, account_id),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _request_context(request: Request, route: Route, account_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    host = request.header("Host") or f"127.0.0.1:{request.port}"
    return {
        "resourceId": hashlib.sha1(route.path.encode()).hexdigest()[:6],
        "resourcePath": route.path,
        "httpMethod": request.method,
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes)[:16].decode(),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": request.path,
        "accountId": account_id,
        "protocol": "HTTP/1.1",
        "stage": route.api.stage,
        "domainPrefix": host.split(".")[0],
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "requestId": str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.header("User-Agent"),
            "user": None,
        },
        "domainName": host,
        "apiId": route.api.api_id,
    }


def proxy_response(result: Any, api: Api, request: Request) -> Response:
    """What the client gets for a function's result: its status, headers and body, or 502 when the
    result is not a proxy response."""
    body = result.get("body") if isinstance(result, dict) else None
    if (
        not isinstance(result, dict)
        or not isinstance(result.get("statusCode"), int)
        or not (body is None or isinstance(body, str))
    ):
        log.error("malformed Lambda proxy response: %r", result)
        return internal_server_error()
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    for key, values in multi.items():
        headers += [(key, str(value)) for value in values]
    # A header in both maps keeps only its multiValueHeaders values, as API Gateway merges them.
    named = {key.lower() for key in multi}
    headers += [(k, str(v)) for k, v in (result.get("headers") or {}).items() if k.lower() not in named]
    payload = (body or "").encode()
    if result.get("isBase64Encoded") and body:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        # API Gateway decodes only for a binary media type; otherwise the client gets base64 text.
        if api.is_binary(request.header("Accept")) or api.is_binary(content_type):
            payload = base64.b64decode(body)
    headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
    return Response(result["statusCode"], headers, payload)
