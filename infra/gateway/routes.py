"""The template's ``Api`` events as routes, and API Gateway's resource matching: literal segments
win over ``{param}``, ``{proxy+}`` takes the rest; the caller then picks the method (exact over
ANY)."""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass
from typing import Any

from infra.functions import Function, by_arn
from infra.gateway.authorizers import Authorizer
from infra.template import NotEmulated, Stack

log = logging.getLogger("infra.api")

IMPLICIT_API = "ServerlessRestApi"  # the API SAM creates for Api events without RestApiId


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


def resource_of(routes: list[Route], parts: list[str]) -> list[tuple[dict[str, str], Route]]:
    """The routes (with their path parameters) of the most specific resource matching the path's
    segments, one per method; empty if no resource matches."""
    candidates = [(found, route) for route in routes if (found := route.match(parts)) is not None]
    if not candidates:
        return []
    best = min(rank for (rank, _), _ in candidates)
    return [(params, route) for (rank, params), route in candidates if rank == best]


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
            raise NotEmulated(f"authorizer {name}: only Lambda authorizers of this template run locally")
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
