"""moto's EventBridge with the local runtime's memoised input paths (``infra.moto_events``): each
event still gets its own values through a target's input transformer."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from infra import moto_events
from tests.conftest import REGION


def test_an_input_transformer_fills_each_event_with_its_own_values():
    moto_events.install()
    with mock_aws():
        events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="moves")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="moves", EventPattern=json.dumps({"source": ["crm.items"]}))
        transformer = {"InputPathsMap": {"item": "$.detail.item_id"}, "InputTemplate": '{"moved": <item>}'}
        events.put_targets(Rule="moves", Targets=[{"Id": "q", "Arn": arn, "InputTransformer": transformer}])

        for item in ("41", "42"):
            detail = json.dumps({"item_id": item})
            events.put_events(
                Entries=[{"Source": "crm.items", "DetailType": "StageChanged", "Detail": detail}]
            )

        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(message["Body"])["moved"] for message in received) == [
        41,
        42,
    ]  # the template puts the text unquoted
