"""``--persist DIR``: the emulated account's data kept across restarts.

moto keeps everything in memory and has no persistence of its own, so on stop the runtime dumps
what the application owns (table items, queued messages, inbound-mail objects) plus the clock's
offset and the demo tenant's key, and loads them back into the fresh resources on the next start,
through the AWS APIs. Items and messages are read straight from moto's stores (it runs in this
process): a Scan through the API costs seconds per thousand items. Not kept: the outbox, stream
history, SQS receive counts and message attributes.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.sqs.models import sqs_backends

from infra import attributes, moto_dynamodb
from infra.template import Stack

log = logging.getLogger("infra.state")

STATE_FILE = "state.json"


def save(
    directory: Path, stack: Stack, clients: dict[str, Any], offset: timedelta, demo: dict[str, Any] | None
) -> None:
    s3 = clients["s3"]
    tables = {}
    dynamodb = dynamodb_backends[stack.account_id][stack.region]
    with moto_dynamodb.lock_of(dynamodb):  # no write half-seen
        for logical_id in stack.of_type("AWS::DynamoDB::Table"):
            name = stack.name(logical_id)
            # As a Scan would answer them: attribute values in DynamoDB's JSON, binary in base64.
            tables[name] = [
                json.loads(dynamo_json_dump(item.attrs)) for item in dynamodb.get_table(name).all_items()
            ]
    queues = {}
    backend = sqs_backends[stack.account_id][stack.region]
    for logical_id in stack.of_type("AWS::SQS::Queue"):
        name = stack.name(logical_id)
        # Straight from moto's store: a ReceiveMessage would hide messages and count receives.
        queues[name] = [
            {"body": message.body, "group_id": message.group_id, "deduplication_id": message.deduplication_id}
            for message in backend.queues[name]._messages
        ]
    buckets = {}
    for logical_id in stack.of_type("AWS::S3::Bucket"):
        name = stack.name(logical_id)
        objects = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
            for entry in page.get("Contents", []):
                content = s3.get_object(Bucket=name, Key=entry["Key"])["Body"].read()
                objects[entry["Key"]] = base64.b64encode(content).decode()
        buckets[name] = objects
    state = {
        "clock_offset_seconds": offset.total_seconds(),
        "demo": demo,
        "tables": tables,
        "queues": queues,
        "buckets": buckets,
    }
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"{STATE_FILE}.partial"
    partial.write_text(json.dumps(state))
    partial.replace(directory / STATE_FILE)  # a crash mid-write leaves the previous state whole
    counts = sum(len(items) for items in tables.values())
    log.info("state saved to %s (%d table items)", directory / STATE_FILE, counts)


def load(
    directory: Path, stack: Stack, clients: dict[str, Any]
) -> tuple[timedelta, dict[str, Any] | None] | None:
    """Put a saved state into the freshly created resources; None if there is none yet."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    dynamodb, sqs, s3 = clients["dynamodb"], clients["sqs"], clients["s3"]
    known = {stack.name(lid) for lid in stack.resources}
    for name, items in state["tables"].items():
        if name not in known:
            log.warning("saved table %s is no longer in the template: skipped", name)
            continue
        for start in range(0, len(items), 25):
            requests = [
                {"PutRequest": {"Item": attributes.from_json(item)}} for item in items[start : start + 25]
            ]
            unprocessed = {name: requests}
            while unprocessed:
                unprocessed = dynamodb.batch_write_item(RequestItems=unprocessed).get("UnprocessedItems")
    for name, messages in state["queues"].items():
        if name not in known:
            continue
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        for message in messages:
            fifo = {"MessageGroupId": message["group_id"]} if message["group_id"] else {}
            if message["deduplication_id"]:
                fifo["MessageDeduplicationId"] = message["deduplication_id"]
            sqs.send_message(QueueUrl=url, MessageBody=message["body"], **fifo)
    for name, objects in state["buckets"].items():
        if name not in known:
            continue
        for key, content in objects.items():
            s3.put_object(Bucket=name, Key=key, Body=base64.b64decode(content))
    log.info("state loaded from %s", path)
    return timedelta(seconds=state["clock_offset_seconds"]), state["demo"]
