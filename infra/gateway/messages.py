"""An HTTP request as the gateway receives it, and the answer it gives."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass
class Request:
    method: str
    path: str  # percent-decoded, without the query string
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)  # names as the client sent them
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    port: int = 3000

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
        """An answer of API Gateway itself (not of a function), with its error type header."""
        return cls.json(status, {key: message}, [("x-amzn-ErrorType", error_type)])


def missing_authentication_token() -> Response:
    """API Gateway's answer for a path or method no route serves (not 404: it does not say which)."""
    return Response.gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def too_long() -> Response:
    return Response.gateway_error(413, "Request Too Long", "RequestTooLongException")


def internal_server_error() -> Response:
    """A function that failed or answered something that is not a proxy response."""
    return Response.gateway_error(502, "Internal server error", "InternalServerErrorException")
