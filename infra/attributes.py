"""DynamoDB attribute values between boto3 (binary values as bytes) and JSON (binary values in
base64, as Lambda's stream events and our state files carry them)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any


def to_json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _convert(value, lambda raw: base64.b64encode(raw).decode()) for name, value in values.items()
    }


def from_json(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _convert(value, base64.b64decode) for name, value in values.items()}


def _convert(value: dict[str, Any], binary: Callable[[Any], Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    match kind:
        case "B":
            return {"B": binary(inner)}
        case "BS":
            return {"BS": [binary(item) for item in inner]}
        case "M":
            return {"M": {name: _convert(item, binary) for name, item in inner.items()}}
        case "L":
            return {"L": [_convert(item, binary) for item in inner]}
        case _:
            return value
