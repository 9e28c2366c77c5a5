"""Shared fixtures: fake AWS credentials, moto, tables built from template.yaml itself (with the
local runtime's template loader).

Environment variables are set at import time, before any application module is imported:
pynamodb binds table names when its model classes are defined."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from infra import moto_dynamodb
from infra.aws import create_queues
from infra.functions import LambdaContext
from infra.template import Stack, create_tables, load_template

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"

# The functions' environment as the template resolves it (table, bus and bucket names), so tests and
# deployment cannot drift apart; then the fake credentials and test-only settings.
os.environ.update(Stack.load(ROOT / "template.yaml").environment())
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION=REGION,
    AWS_REGION=REGION,
    POWERTOOLS_TRACE_DISABLED="1",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
# DynamoDB's isolation for moto: conditional writes from several threads lose nothing, and a
# cancelled transaction puts back only what it touched.
moto_dynamodb.install()


def template() -> dict:
    return load_template(ROOT / "template.yaml")


@pytest.fixture
def aws():
    """moto for every AWS call, the template's tables and queues created, warm caches emptied."""
    from crm.adapters import warm

    with mock_aws():
        stack = Stack.load(ROOT / "template.yaml")
        create_tables(boto3.client("dynamodb", region_name=REGION), stack)
        # The queues the functions send to (the planner's, the run queue and its DLQ, ...).
        create_queues(stack, boto3.client("sqs", region_name=REGION))
        warm.clear()
        yield
        warm.clear()


def load_handler(name: str) -> ModuleType:
    """functions/<name>/app.py under a module name of its own (every handler file is app.py)."""
    module_name = f"handler_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


def lambda_context() -> LambdaContext:
    """The context Lambda passes to a handler (the local runtime's model of it)."""
    return LambdaContext(
        "test-function", f"arn:aws:lambda:{REGION}:123456789012:function:test-function", 512, 10
    )
