"""Fixtures of the integration tests: the bus with the template's rules, read through SQS."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from tests.conftest import REGION, template


@pytest.fixture
def bus(aws):
    """The bus with the template's StageChanged rule, plus a catch-all rule for the test to read."""
    resources = template()["Resources"]
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=os.environ["EVENT_BUS_NAME"])
    queues = {}
    for name, pattern in (
        ("stage-changed", resources["StageChangedRule"]["Properties"]["EventPattern"]),
        ("everything", {"source": ["crm.items"]}),
    ):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name=name, EventBusName=os.environ["EVENT_BUS_NAME"], EventPattern=json.dumps(pattern)
        )
        events.put_targets(
            Rule=name, EventBusName=os.environ["EVENT_BUS_NAME"], Targets=[{"Id": "q", "Arn": arn}]
        )
        queues[name] = url
    return sqs, queues


def drain(sqs, url) -> list[dict]:
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies
