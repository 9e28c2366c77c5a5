"""API Gateway (REST, v1 proxy integration) on loopback, routed by the template's ``Api`` events.

What is emulated, as API Gateway does it: resource matching (literal segments win over ``{param}``,
``{proxy+}`` takes the rest, then the exact method over ANY), the proxy event (resource, path
parameters, multi-value headers and query, base64 for binary media types, the request context with
the authorizer's context), Lambda authorizers (TOKEN and REQUEST, identity sources, result caching
for ReauthorizeEvery and policy evaluation against the method ARN), SAM's CORS preflight, and the
gateway's own answers: 403 for unknown routes, 401/403 from the authorizer, 413 over 10 MB, 502 for
a failed function or a malformed proxy response.

The stage is not part of the local URL: the API is served at ``/`` (like a custom domain).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.functions import Function, FunctionError, by_arn
from infra.template import Stack

log = logging.getLogger("infra.api")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
IMPLICIT_API = "ServerlessRestApi"  # the API SAM creates for Api events without RestApiId
_ANY_METHODS = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    port: int

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[-1] if found else None


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
        return cls(
            status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(payload).encode()
        )

    @classmethod
    def gateway_error(
        cls, status: int, message: str | None, error_type: str, key: str = "message"
    ) -> Response:
        return cls.json(status, {key: message}, [("x-amzn-ErrorType", error_type)])


@dataclass
class Authorizer:
    name: str
    function: Function
    payload_type: str  # TOKEN or REQUEST
    identity: dict[str, Any]
    ttl: int

    def identity_values(self, request: Request, stage_variables: dict[str, str]) -> tuple[str, ...] | None:
        """The identity sources' values, or None if one is missing (API Gateway then answers 401
        without calling the authorizer)."""
        if self.payload_type == "TOKEN":
            token = request.header(self.identity.get("Header", "Authorization"))
            pattern = self.identity.get("ValidationExpression")
            if token is None or (pattern and not re.fullmatch(pattern, token)):
                return None
            return (token,)
        query = dict(request.query)
        values = [request.header(name) for name in self.identity.get("Headers", [])]
        values += [query.get(name) for name in self.identity.get("QueryStrings", [])]
        values += [stage_variables.get(name) for name in self.identity.get("StageVariables", [])]
        if self.ttl and any(value is None for value in values):
            return None
        return tuple(value or "" for value in values)


@dataclass
class Api:
    api_id: str
    stage: str
    authorizers: dict[str, Authorizer]
    default_authorizer: str | None
    cors: dict[str, str] | None
    binary_media_types: list[str]
    stage_variables: dict[str, str]
    authorize_preflight: bool

    def is_binary(self, content_type: str | None) -> bool:
        media_type = (content_type or "").split(";")[0].strip().lower()
        return bool(media_type) and any(
            fnmatch.fnmatch(media_type, pattern) for pattern in self.binary_media_types
        )


@dataclass
class Route:
    api: Api
    path: str
    method: str  # upper case, or ANY
    function: Function
    authorizer: Authorizer | None

    @property
    def segments(self) -> list[str]:
        return [segment for segment in self.path.split("/") if segment]

    def match(self, parts: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(specificity rank, path parameters) if the route's resource matches the path."""
        rank: list[int] = []
        params: dict[str, str] = {}
        segments = self.segments
        for index, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if index >= len(parts):
                    return None
                params[segment[1:-2]] = "/".join(parts[index:])
                return (*rank, 2), params
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = parts[index]
                rank.append(1)
            elif segment == parts[index]:
                rank.append(0)
            else:
                return None
        return (tuple(rank), params) if len(segments) == len(parts) else None


def _unquote_sam(value: Any) -> str:
    """SAM's CORS values are quoted for API Gateway's mapping language: "'*'" -> "*"."""
    return str(value).strip().strip("'")


def _api(stack: Stack, logical_id: str, functions: dict[str, Function]) -> Api:
    if logical_id == IMPLICIT_API:
        props = stack.resolve(stack.template.get("Globals", {}).get("Api", {}))
        props.setdefault("StageName", "Prod")
        api_id = IMPLICIT_API.lower()[:10]
    else:
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        api_id = stack.attribute(logical_id, "Ref")
    auth = props.get("Auth", {})
    arns = by_arn(functions)
    authorizers = {}
    for name, spec in auth.get("Authorizers", {}).items():
        if spec.get("FunctionArn") not in arns:
            raise NotImplementedError(
                f"authorizer {name}: only Lambda authorizers of this template run locally"
            )
        identity = spec.get("Identity", {})
        authorizers[name] = Authorizer(
            name=name,
            function=arns[spec["FunctionArn"]],
            payload_type=spec.get("FunctionPayloadType", "TOKEN"),
            identity=identity,
            ttl=int(identity.get("ReauthorizeEvery", 300)),
        )
    cors = props.get("Cors")
    if isinstance(cors, str):
        cors = {"AllowOrigin": cors}
    return Api(
        api_id=api_id,
        stage=props["StageName"],
        authorizers=authorizers,
        default_authorizer=auth.get("DefaultAuthorizer"),
        cors={key: _unquote_sam(value) for key, value in cors.items()} if cors else None,
        binary_media_types=[media.replace("~1", "/").lower() for media in props.get("BinaryMediaTypes", [])],
        stage_variables={key: str(value) for key, value in props.get("Variables", {}).items()},
        authorize_preflight=bool(auth.get("AddDefaultAuthorizerToCorsPreflight", True)),
    )


def routes_of(stack: Stack, functions: dict[str, Function]) -> list[Route]:
    """Every Api event of every function, with its API's settings and its authorizer."""
    api_ids = {stack.attribute(lid, "Ref"): lid for lid in stack.of_type("AWS::Serverless::Api")}
    apis: dict[str, Api] = {}
    routes = []
    for function in functions.values():
        for event_name, event in function.events.items():
            if event["Type"] == "HttpApi":
                log.warning(
                    "%s.%s: HttpApi events are not emulated (REST API only)", function.logical_id, event_name
                )
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            logical_id = api_ids[props["RestApiId"]] if "RestApiId" in props else IMPLICIT_API
            if logical_id not in apis:
                apis[logical_id] = _api(stack, logical_id, functions)
            api = apis[logical_id]
            name = props.get("Auth", {}).get("Authorizer", api.default_authorizer)
            authorizer = None if name in (None, "NONE", "AWS_IAM") else api.authorizers[name]
            method = props["Method"].upper()
            routes.append(
                Route(
                    api,
                    props["Path"],
                    "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method,
                    function,
                    authorizer,
                )
            )
    seen: set[tuple[str, str]] = set()
    for route in routes:
        key = ("/".join(re.sub(r"\{[^}]*?\}", "{}", s) for s in route.segments), route.method)
        if key in seen:
            raise ValueError(f"two Api events serve {route.method} {route.path}")
        seen.add(key)
    return routes


class Gateway:
    """Turns one HTTP request into what API Gateway would answer."""

    def __init__(self, routes: list[Route], region: str, account_id: str) -> None:
        self.routes = routes
        self.region = region
        self.account_id = account_id
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        if len(request.body) > MAX_BODY:
            return Response.gateway_error(413, "Request Too Long", "RequestTooLongException")
        parts = [unquote(part) for part in request.path.split("/") if part]
        candidates = [(found, route) for route in self.routes if (found := route.match(parts)) is not None]
        if not candidates:
            return self._missing_token()
        best = min(rank for (rank, _), _ in candidates)
        # API Gateway picks the most specific resource first, then a method of that resource.
        resource = [(params, route) for (rank, params), route in candidates if rank == best]
        methods = {route.method: (params, route) for params, route in resource}
        if request.method in methods:
            params, route = methods[request.method]
        elif request.method == "OPTIONS" and resource[0][1].api.cors is not None:
            return self._preflight(request, resource[0][1], sorted(methods))
        elif "ANY" in methods:
            params, route = methods["ANY"]
        else:
            return self._missing_token()
        return self._invoke(request, route, params)

    def _missing_token(self) -> Response:
        return Response.gateway_error(
            403, "Missing Authentication Token", "MissingAuthenticationTokenException"
        )

    # ------------------------------------------------------------ events

    def _request_context(self, request: Request, route: Route) -> dict[str, Any]:
        now = datetime.now(UTC)
        host = request.header("Host") or f"127.0.0.1:{request.port}"
        return {
            "resourceId": hashlib.sha1(route.path.encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": request.method,
            "extendedRequestId": base64.b64encode(uuid.uuid4().bytes)[:16].decode(),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": request.path,
            "accountId": self.account_id,
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

    def _proxy_event(self, request: Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
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
            "requestContext": self._request_context(request, route),
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _method_arn(self, route: Route, request: Request) -> str:
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{route.api.api_id}/"
            f"{route.api.stage}/{request.method}{request.path}"
        )

    # ------------------------------------------------------------ authorizers

    def _authorize(
        self, request: Request, route: Route, authorizer: Authorizer, event: dict[str, Any]
    ) -> Response | dict[str, Any]:
        """The requestContext.authorizer map if the request may pass, else API Gateway's answer."""
        identity = authorizer.identity_values(request, route.api.stage_variables)
        if identity is None:
            return Response.gateway_error(401, "Unauthorized", "UnauthorizedException")
        method_arn = self._method_arn(route, request)
        key = (authorizer.name, identity)
        started = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            result = cached[1]
        else:
            if authorizer.payload_type == "TOKEN":
                auth_event: dict[str, Any] = {
                    "type": "TOKEN",
                    "authorizationToken": identity[0],
                    "methodArn": method_arn,
                }
            else:
                auth_event = {"type": "REQUEST", "methodArn": method_arn}
                auth_event |= {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
            try:
                result = authorizer.function.invoke(auth_event)
            except FunctionError as error:
                if error.message == "Unauthorized":
                    log.info("authorizer %s: Unauthorized", authorizer.name)
                    return Response.gateway_error(401, "Unauthorized", "UnauthorizedException")
                log.error("authorizer %s failed: %s\n%s", authorizer.name, error, error.trace)
                return Response.gateway_error(500, None, "AuthorizerConfigurationException")
            if not _valid_policy(result):
                log.error("authorizer %s returned no valid policy: %r", authorizer.name, result)
                return Response.gateway_error(500, None, "AuthorizerConfigurationException")
            if authorizer.ttl:
                with self._cache_lock:
                    self._cache[key] = (time.monotonic() + authorizer.ttl, result)
        effect = _evaluate(result["policyDocument"], method_arn)
        if effect == "Deny":
            message = "User is not authorized to access this resource with an explicit deny"
            return Response.gateway_error(403, message, "AccessDeniedException", key="Message")
        if effect is None:
            message = "User is not authorized to access this resource"
            return Response.gateway_error(403, message, "AccessDeniedException", key="Message")
        context = {key: _context_value(value) for key, value in (result.get("context") or {}).items()}
        return {
            **context,
            "principalId": result["principalId"],
            "integrationLatency": int((time.monotonic() - started) * 1000),
        }

    # ------------------------------------------------------------ integration

    def _invoke(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        event = self._proxy_event(request, route, params)
        if route.authorizer is not None:
            authorized = self._authorize(request, route, route.authorizer, event)
            if isinstance(authorized, Response):
                return authorized
            event["requestContext"]["authorizer"] = authorized
        try:
            result = route.function.invoke(event)
        except FunctionError as error:
            log.error(
                "%s %s -> %s failed: %s\n%s",
                request.method,
                request.path,
                route.function.name,
                error,
                error.trace,
            )
            return Response.gateway_error(502, "Internal server error", "InternalServerErrorException")
        response = self._proxy_response(result, route.api, request)
        log.info("%s %s -> %s %d", request.method, request.path, route.function.name, response.status)
        return response

    def _proxy_response(self, result: Any, api: Api, request: Request) -> Response:
        body = result.get("body") if isinstance(result, dict) else None
        if (
            not isinstance(result, dict)
            or not isinstance(result.get("statusCode"), int)
            or not (body is None or isinstance(body, str))
        ):
            log.error("malformed Lambda proxy response: %r", result)
            return Response.gateway_error(502, "Internal server error", "InternalServerErrorException")
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

    def _preflight(self, request: Request, route: Route, methods: list[str]) -> Response:
        """The OPTIONS method SAM adds to every path of an API with Cors (a mock integration)."""
        cors = route.api.cors or {}
        name = route.api.default_authorizer
        if route.api.authorize_preflight and name is not None:
            authorized = self._authorize(
                request, route, route.api.authorizers[name], self._proxy_event(request, route, {})
            )
            if isinstance(authorized, Response):
                return authorized
        allowed = cors.get("AllowMethods") or (
            _ANY_METHODS if "ANY" in methods else ",".join(sorted({*methods, "OPTIONS"}))
        )
        headers = [
            ("Access-Control-Allow-Origin", cors.get("AllowOrigin", "*")),
            ("Access-Control-Allow-Methods", allowed),
        ]
        for key, header in (
            ("AllowHeaders", "Access-Control-Allow-Headers"),
            ("MaxAge", "Access-Control-Max-Age"),
            ("AllowCredentials", "Access-Control-Allow-Credentials"),
        ):
            if key in cors:
                headers.append((header, cors[key]))
        return Response(200, headers)


def _valid_policy(result: Any) -> bool:
    return (
        isinstance(result, dict)
        and "principalId" in result
        and isinstance(result.get("policyDocument"), dict)
        and isinstance(result["policyDocument"].get("Statement"), list)
        and all(
            isinstance(value, str | int | float | bool) for value in (result.get("context") or {}).values()
        )
    )


def _context_value(value: str | int | float | bool) -> str:
    """REST APIs hand the authorizer's context values to the integration as strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _evaluate(policy: dict[str, Any], method_arn: str) -> str | None:
    """ "Deny" if a statement denies the method ARN, "Allow" if one allows it, else None."""
    effects = set()
    for statement in policy["Statement"]:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(action in ("*", "execute-api:*", "execute-api:Invoke") for action in actions):
            continue
        if any(_arn_matches(resource, method_arn) for resource in resources):
            effects.add(statement.get("Effect"))
    return "Deny" if "Deny" in effects else ("Allow" if "Allow" in effects else None)


def _arn_matches(pattern: str, arn: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


# ---------------------------------------------------------------- HTTP server

LocalHandler = Callable[[Request], Response | None]


class HttpServer:
    """A threading HTTP server on 127.0.0.1: ``local`` answers the runtime's own ``/_local/``
    routes, everything else goes through the gateway."""

    def __init__(self, gateway: Gateway, local: LocalHandler, port: int) -> None:
        handler = type("Handler", (_Handler,), {"gateway": gateway, "local": staticmethod(local)})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Handler(BaseHTTPRequestHandler):
    gateway: Gateway
    local: LocalHandler
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            # Read and drop the body, so the client finishes sending and sees the answer.
            while length > 0 and (chunk := self.rfile.read(min(length, 1 << 20))):
                length -= len(chunk)
            self._send(Response.gateway_error(413, "Request Too Long", "RequestTooLongException"))
            return
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        path = unquote(url.path)
        if path != "/":
            path = path.rstrip("/")  # API Gateway ignores a trailing slash
        request = Request(
            method=self.command,
            path=path,
            query=parse_qsl(url.query, keep_blank_values=True),
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            port=self.server.server_address[1],
        )
        try:
            response = self.local(request) or self.gateway.handle(request)
        except Exception:
            log.exception("%s %s: the local runtime failed", request.method, request.path)
            response = Response.json(500, {"message": "local runtime error (see its console)"})
        self._send(response)

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)
