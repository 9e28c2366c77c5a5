"""Request bodies read defensively, for the management API and the public ingest routes alike:
base64 as API Gateway sends binary bodies, a size cap, JSON parsed with bounded depth and digits.
Whatever arrives, the answer is a ``BodyError`` with its status (400, 413, 415), never a crash."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterator
from typing import Any

# API Gateway takes up to 10 MB; nothing the CRM stores from one request comes near this.
MAX_BODY_BYTES = 256 * 1024
# Deeper JSON than any request needs; deep nesting only costs recursion.
MAX_DEPTH = 32
# Python refuses to parse integers of more than 4,300 digits; no field needs more than 30.
MAX_DIGITS = 30


class BodyError(Exception):
    """The request cannot be served as sent, whatever it asks for (400, 405, 413, 415)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class BadValue(Exception):
    """The body parses, but holds a value nothing takes (a non-finite number, broken Unicode)."""

    def __init__(self, place: str, message: str, kind: str) -> None:
        super().__init__(f"{place}: {message}")
        self.place = place
        self.message = message
        self.kind = kind


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def raw_body(body: str | None, is_base64_encoded: bool, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body's bytes as the client sent them; 400 for broken base64, 413 past ``limit``."""
    if not body:
        return b""
    try:
        data = base64.b64decode(body, validate=True) if is_base64_encoded else body.encode()
    except (binascii.Error, UnicodeEncodeError):
        raise BodyError(400, "the body is not UTF-8 text") from None
    if len(data) > limit:
        raise BodyError(413, f"the body has {len(data)} bytes; this endpoint takes at most {limit}")
    return data


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of more than {MAX_DIGITS} digits")
    return int(text)


def _values(document: Any) -> Iterator[tuple[str, int, Any]]:
    """Every value in a parsed document with its place (body.a.0.b) and depth, without recursion."""
    stack = [("body", 0, document)]
    while stack:
        place, depth, value = stack.pop()
        yield place, depth, value
        if isinstance(value, dict):
            stack.extend((f"{place}.{k}", depth + 1, v) for k, v in value.items())
            stack.extend((f"{place}.{k}", depth + 1, k) for k in value)
        elif isinstance(value, list):
            stack.extend((f"{place}.{i}", depth + 1, v) for i, v in enumerate(value))


def parse_json(data: bytes) -> Any:
    """``data`` as JSON (None when empty); BodyError (400) or BadValue for what cannot be read."""
    if not data:
        return None
    try:
        document = json.loads(data.decode(), parse_int=_integer)
    except UnicodeDecodeError:
        raise BodyError(400, "the body is not UTF-8 text") from None
    except RecursionError:
        raise BodyError(400, f"the body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise BodyError(400, f"the body is not JSON: {error}") from None
    for place, depth, value in _values(document):
        if depth > MAX_DEPTH:
            raise BodyError(400, f"the body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, float) and not math.isfinite(value):
            raise BadValue(place, "numbers must be finite", "finite_number")
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                raise BadValue(place, "text must be valid Unicode", "unicode") from None
    return document
