"""From a table write to events on the bus: items stream -> fan-out function -> EventBridge ->
the template's StageChanged rule -> its SQS queue (moto delivers bus rules to SQS targets)."""

from __future__ import annotations

import os

import boto3

from tests.conftest import REGION, lambda_context, load_handler
from tests.gateway import Gateway
from tests.integration.conftest import drain


def stream_event(max_records: int = 100) -> dict:
    """The records written so far, as Lambda's DynamoDB event source hands them over."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    arn = dynamodb.describe_table(TableName=os.environ["ITEMS_TABLE"])["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=max_records)["Records"]
    for record in records:
        record["eventSourceARN"] = arn
        record["dynamodb"]["ApproximateCreationDateTime"] = record["dynamodb"][
            "ApproximateCreationDateTime"
        ].timestamp()
    return {"Records": records}


def test_item_writes_reach_the_bus_as_item_events(bus):
    from crm.service.tenants import create_tenant

    sqs, queues = bus
    gateway, key = Gateway(), create_tenant("Acme", "acme").api_key
    stages = [{"name": "New"}, {"name": "Offer"}, {"name": "Won", "semantic": "success"}]
    gateway.call("POST", "/pipelines", {"item_type": "deal", "name": "Sales", "stages": stages}, key)
    gateway.call("POST", "/employees", {"id": "anna", "name": "Anna", "email": "anna@acme.test"}, key)
    gateway.call("POST", "/items/deal", {"title": "Forklift", "emails": ["c@client.test"]}, key)
    gateway.call("PATCH", "/items/deal/1", {"amount": 900, "fields": {}}, key)
    gateway.call("POST", "/items/deal/1/stage", {"stage_id": "offer", "by": "anna"}, key)
    gateway.call("DELETE", "/items/deal/1", None, key)

    event = stream_event()
    answer = load_handler("fanout").lambda_handler(event, lambda_context())
    assert answer == {"batchItemFailures": []}

    published = drain(sqs, queues["everything"])
    assert [e["detail-type"] for e in published] == [
        "ItemCreated",
        "ItemUpdated",
        "StageChanged",
        "ItemDeleted",
    ]
    assert {e["source"] for e in published} == {"crm.items"}
    updated = published[1]["detail"]
    assert updated["changes"] == {"amount": {"old": None, "new": 900}}
    moved = published[2]["detail"]
    assert moved | {"event_id": None, "at": None} == {
        "event_id": None,
        "at": None,
        "tenant_id": "acme",
        "item_type": "deal",
        "item_id": "1",
        "pipeline_id": "sales",
        "stage_id": "offer",
        "version": 3,
        "from_stage": "new",
        "to_stage": "offer",
        "by": "anna",
        "cause": "api",
        "cause_ref": "anna",
        "chain": [],
    }
    # The template's rule routes the stage entries (created in a stage, moved to one) to the robot
    # planner's queue, and nothing else.
    entries = [(e["detail-type"], e["detail"]["stage_id"]) for e in drain(sqs, queues["stage-changed"])]
    assert sorted(entries) == [("ItemCreated", "new"), ("StageChanged", "offer")]


def new_leads_stream(count: int) -> dict:
    """The stream records of a new tenant's leads pipeline and ``count`` leads."""
    from crm.service.tenants import create_tenant

    gateway, key = Gateway(), create_tenant("Acme", "acme").api_key
    gateway.call(
        "POST", "/pipelines", {"item_type": "lead", "name": "Leads", "stages": [{"name": "New"}]}, key
    )
    for n in range(count):
        gateway.call("POST", "/items/lead", {"title": f"Lead {n}"}, key)
    return stream_event()


def test_fan_out_sends_ten_events_per_put_events_call(bus, monkeypatch):
    event = new_leads_stream(25)
    calls = []
    client = boto3.client("events", region_name=REGION)
    client.meta.events.register(
        "provide-client-params.events.PutEvents", lambda params, **_: calls.append(len(params["Entries"]))
    )
    from crm.adapters import eventbridge

    monkeypatch.setattr(eventbridge, "client", lambda service: client)
    assert load_handler("fanout").lambda_handler(event, lambda_context()) == {"batchItemFailures": []}
    assert calls == [10, 10, 5]
    sqs, queues = bus
    assert len(drain(sqs, queues["everything"])) == 25


def test_entries_that_keep_failing_are_reported_from_the_first_failed_record(bus, monkeypatch):
    from crm.adapters import eventbridge

    event = new_leads_stream(3)
    item_records = [
        r for r in event["Records"] if r["dynamodb"]["NewImage"].get("kind", {}).get("S") == "item"
    ]

    class Throttled:
        """EventBridge answering: the second entry of every call is throttled."""

        def __init__(self):
            self.calls = 0

        def put_events(self, Entries):
            self.calls += 1
            answers = [{"EventId": f"e{i}"} for i in range(len(Entries))]
            failed = 0
            if len(Entries) > 1:
                answers[1] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
                failed = 1
            elif self.calls > 1:
                answers[0] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}
                failed = 1
            return {"FailedEntryCount": failed, "Entries": answers}

    throttled = Throttled()
    monkeypatch.setattr(eventbridge, "client", lambda service: throttled)
    monkeypatch.setattr(eventbridge.time, "sleep", lambda _: None)
    answer = load_handler("fanout").lambda_handler(event, lambda_context())
    assert throttled.calls == eventbridge.ATTEMPTS
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": item_records[1]["dynamodb"]["SequenceNumber"]}]
    }
