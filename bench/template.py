"""What the figures read from template.yaml, through the local runtime's model of it
(``infra.template.Stack``: Globals merged, intrinsic functions resolved to local names)."""

from __future__ import annotations

from functools import cache
from typing import Any

from bench import ROOT
from infra.template import Stack


@cache
def stack() -> Stack:
    return Stack.load(ROOT / "template.yaml")


def functions() -> dict[str, str]:
    """{handler name: logical id} for every function whose code is functions/<name>/."""
    found = {}
    for logical_id, resource in stack().of_type("AWS::Serverless::Function").items():
        code = str(resource["Properties"].get("CodeUri", "")).strip("/")
        if code.startswith("functions/"):
            found[code.removeprefix("functions/")] = logical_id
    return found


def _property(name: str, key: str, default: Any = None) -> Any:
    return stack().resolve(stack().resources[functions()[name]]["Properties"].get(key, default))


def memory_mb(name: str) -> int:
    return int(_property(name, "MemorySize", 128))


def runtime(name: str) -> str:
    return str(_property(name, "Runtime", "python3.13"))


def handler(name: str) -> str:
    return str(_property(name, "Handler", "app.lambda_handler"))


def tracing_active(name: str) -> bool:
    return _property(name, "Tracing") == "Active"


def environment(name: str) -> dict[str, str]:
    """The function's environment variables as the template resolves them locally."""
    return stack().function_environment(functions()[name])


def streamed_tables() -> set[str]:
    """Names of the tables with a stream (each item written there is one stream record)."""
    tables = stack().of_type("AWS::DynamoDB::Table")
    return {
        stack().name(lid) for lid, table in tables.items() if "StreamSpecification" in table["Properties"]
    }
