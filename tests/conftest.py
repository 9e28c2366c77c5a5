"""Shared fixtures: fake AWS credentials, moto, tables built from template.yaml itself.

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
import yaml
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
TABLES = {
    "ITEMS_TABLE": "ItemsTable",
    "AUTOMATION_TABLE": "AutomationTable",
    "TENANTS_TABLE": "TenantsTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
}

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION=REGION,
    AWS_REGION=REGION,
    EVENT_BUS_NAME="crm-test",
    INBOUND_BUCKET="test-inbound-mail",
    INBOUND_PREFIX="inbound/",
    INBOUND_DOMAIN="inbound.example.com",
    POWERTOOLS_SERVICE_NAME="crm-test",
    POWERTOOLS_METRICS_NAMESPACE="CrmTest",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_DEV="0",
    **{variable: f"test-{logical}" for variable, logical in TABLES.items()},
)
os.environ.pop("AWS_ENDPOINT_URL", None)


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags (!Ref, !GetAtt, ...) as plain {"Fn": value} mappings."""


def _tag(loader: yaml.Loader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)


def create_tables(dynamodb) -> None:
    """Every table of the template, with its keys, indexes and stream, as the stack creates it."""
    resources = template()["Resources"]
    for variable, logical in TABLES.items():
        props = resources[logical]["Properties"]
        args = {
            "TableName": os.environ[variable],
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props["BillingMode"],
        }
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        dynamodb.create_table(**args)


@pytest.fixture
def aws():
    """moto for every AWS call, the template's tables created, warm caches emptied."""
    from crm.adapters import automation, idempotency

    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name=REGION))
        automation._cache.clear()
        idempotency._store.cache_clear()
        yield
        automation._cache.clear()


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


class LambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:test-function"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "2026/11/23/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()
