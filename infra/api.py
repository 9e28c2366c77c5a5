"""API Gateway (REST, v1 proxy integration), routed by the template's ``Api`` events.

What is emulated, as API Gateway does it: resource matching (literal segments win over ``{param}``,
``{proxy+}`` takes the rest, then the exact method over ANY), the proxy event (resource, path
parameters, multi-value headers and query, base64 for binary media types, the request context with
the authorizer's context), Lambda authorizers (TOKEN and REQUEST, identity sources, result caching
for ReauthorizeEvery and policy evaluation against the method ARN), SAM's CORS preflight, and the
gateway's own answers: 403 for unknown routes, 401/403 from the authorizer, 413 over 10 MB, 502 for
a failed function or a malformed proxy response. The parts are in ``infra.gateway``.

The stage is not part of the local URL: the API is served at ``/`` (like a custom domain).

``Gateway`` needs no server: ``Gateway.from_stack(stack, functions).handle(Request(...))`` answers
in-process what the HTTP server answers on loopback.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from infra.functions import Function, FunctionError
from infra.gateway import cors
from infra.gateway.authorizers import Authorization, Authorizer
from infra.gateway.events import proxy_event, proxy_response
from infra.gateway.messages import (
    MAX_BODY,
    Request,
    Response,
    internal_server_error,
    missing_authentication_token,
    too_long,
)
from infra.gateway.routes import Route, resource_of, routes_of
from infra.gateway.server import HttpServer
from infra.template import Stack

__all__ = ["Gateway", "HttpServer", "Request", "Response", "routes_of"]

log = logging.getLogger("infra.api")


class Gateway:
    """Turns one HTTP request into what API Gateway would answer."""

    def __init__(self, routes: list[Route], region: str, account_id: str) -> None:
        self.routes = routes
        self.region = region
        self.account_id = account_id
        self.authorization = Authorization()

    @classmethod
    def from_stack(cls, stack: Stack, functions: dict[str, Function]) -> Gateway:
        """The gateway of the template's APIs, invoking ``functions`` (loaded, by logical id)."""
        return cls(routes_of(stack, functions), stack.region, stack.account_id)

    def handle(self, request: Request) -> Response:
        if len(request.body) > MAX_BODY:
            return too_long()
        resource = resource_of(self.routes, [unquote(part) for part in request.path.split("/") if part])
        # API Gateway picks the most specific resource first, then a method of that resource.
        methods = {route.method: (params, route) for params, route in resource}
        if request.method in methods:
            params, route = methods[request.method]
        elif request.method == "OPTIONS" and resource and resource[0][1].api.cors is not None:
            return self._preflight(request, resource[0][1], sorted(methods))
        elif "ANY" in methods:
            params, route = methods["ANY"]
        else:
            return missing_authentication_token()
        return self._invoke(request, route, params)

    def _invoke(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        event = proxy_event(request, route, params, self.account_id)
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
            return internal_server_error()
        response = proxy_response(result, route.api, request)
        log.info("%s %s -> %s %d", request.method, request.path, route.function.name, response.status)
        return response

    def _authorize(
        self, request: Request, route: Route, authorizer: Authorizer, event: dict
    ) -> Response | dict:
        method_arn = (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{route.api.api_id}/"
            f"{route.api.stage}/{request.method}{request.path}"
        )
        return self.authorization.authorize(authorizer, request, route.api.stage_variables, method_arn, event)

    def _preflight(self, request: Request, route: Route, methods: list[str]) -> Response:
        api = route.api
        if api.authorize_preflight and api.default_authorizer is not None:
            event = proxy_event(request, route, {}, self.account_id)
            authorized = self._authorize(request, route, api.authorizers[api.default_authorizer], event)
            if isinstance(authorized, Response):
                return authorized
        return cors.preflight(api.cors or {}, methods)
