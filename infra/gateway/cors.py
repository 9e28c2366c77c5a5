"""The CORS preflight of an API with ``Cors``: SAM adds an OPTIONS method (a mock integration) to
every path, answering with the configured Access-Control headers."""

from __future__ import annotations

from infra.gateway.messages import Response

_ANY_METHODS = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"


def preflight(cors: dict[str, str], methods: list[str]) -> Response:
    """The answer to OPTIONS on a resource serving ``methods`` (``ANY`` for every method)."""
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
