"""A cold start loads only what the function's path needs (issue 8): each handler is imported as
Lambda imports it, in a fresh process (its directory, then the layer), and must leave these
modules unloaded. docs/performance.md has what each one cost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench import template
from tests.conftest import ROOT

# Lambda's active tracing records the functions' segments without the X-Ray SDK; boto3 is a second
# botocore session and s3transfer: the clients come from the DynamoDB connection's session.
EVERY_FUNCTION = {"aws_xray_sdk", "boto3"}
NOT_LOADED = {
    # On the path of every request API Gateway has not cached: no powertools at all.
    "authorizer": {"aws_lambda_powertools", "pydantic"},
    # The OpenAPI document is the file `make openapi` wrote, not built from the routes.
    "api": {"aws_lambda_powertools.event_handler.openapi.models"},
    # Events read as dicts: powertools' data_classes package imports every event class.
    "fanout": {"aws_lambda_powertools.utilities.data_classes"},
    # ... and, firing triggers, neither the management API nor powertools' resolver.
    "inbound_mail": {
        "aws_lambda_powertools.utilities.data_classes",
        "crm.api",
        "aws_lambda_powertools.event_handler",
    },
    # Public ingest: neither the management API's resolver nor its models.
    "ingest_tracking": {"crm.api", "aws_lambda_powertools.event_handler"},
    # Public webforms: neither the management API's resolver nor powertools' event handler.
    "ingest_webform": {"crm.api", "aws_lambda_powertools.event_handler"},
    # Webhook triggers and site visits: neither the management API's resolver nor the event handler.
    "ingest_hooks": {"crm.api", "aws_lambda_powertools.event_handler"},
    # Stripe's payment events: neither the management API's resolver nor the event handler.
    "ingest_payments": {"crm.api", "aws_lambda_powertools.event_handler"},
    # Telephony providers' call events: neither the management API's resolver nor the event handler.
    "ingest_telephony": {"crm.api", "aws_lambda_powertools.event_handler"},
    # An SQS batch read as dicts, without powertools' batch utility (it imports every event class).
    "ingest_crm_changes": {
        "crm.api",
        "aws_lambda_powertools.event_handler",
        "aws_lambda_powertools.utilities.data_classes",
    },
}


def loaded_by(name: str) -> set[str]:
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'functions' / name)!r}, {str(ROOT / 'layers' / 'shared')!r}]\n"
        "import app\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("name", sorted(template.functions()))
def test_a_cold_start_loads_only_what_the_function_needs(name):
    loaded = loaded_by(name)
    assert "pynamodb.models" in loaded  # the handler did import its path
    assert sorted((EVERY_FUNCTION | NOT_LOADED.get(name, set())) & loaded) == []
