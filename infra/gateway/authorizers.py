"""Lambda authorizers (TOKEN and REQUEST) as API Gateway runs them: identity sources checked
first, the result cached per identity for ReauthorizeEvery seconds, the cached policy evaluated
against each request's method ARN."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from infra.functions import Function, FunctionError
from infra.gateway.messages import Request, Response

log = logging.getLogger("infra.api")


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


class Authorization:
    """The authorizers of one gateway, with their result cache."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def authorize(
        self,
        authorizer: Authorizer,
        request: Request,
        stage_variables: dict[str, str],
        method_arn: str,
        event: dict[str, Any],
    ) -> Response | dict[str, Any]:
        """The requestContext.authorizer map if the request may pass, else API Gateway's answer.
        ``event`` is the proxy event the integration would get (a REQUEST authorizer sees it)."""
        identity = authorizer.identity_values(request, stage_variables)
        if identity is None:
            return _unauthorized()
        key = (authorizer.name, identity)
        started = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            result = cached[1]
        else:
            found = self._invoke(authorizer, identity, method_arn, event)
            if isinstance(found, Response):
                return found
            result = found
            if authorizer.ttl:
                with self._lock:
                    self._cache[key] = (time.monotonic() + authorizer.ttl, result)
        effect = evaluate(result["policyDocument"], method_arn)
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

    def _invoke(
        self, authorizer: Authorizer, identity: tuple[str, ...], method_arn: str, event: dict[str, Any]
    ) -> Response | dict[str, Any]:
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
                return _unauthorized()
            log.error("authorizer %s failed: %s\n%s", authorizer.name, error, error.trace)
            return Response.gateway_error(500, None, "AuthorizerConfigurationException")
        if not _valid_policy(result):
            log.error("authorizer %s returned no valid policy: %r", authorizer.name, result)
            return Response.gateway_error(500, None, "AuthorizerConfigurationException")
        return result


def _unauthorized() -> Response:
    return Response.gateway_error(401, "Unauthorized", "UnauthorizedException")


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


def evaluate(policy: dict[str, Any], method_arn: str) -> str | None:
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
