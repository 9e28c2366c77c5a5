"""The CRM-changes source against moto, the whole hop: an item update -> items stream -> fan-out ->
the bus -> the template's ItemUpdatedRule -> its SQS queue -> IngestCrmChangesFunction with the
SQS batch as Lambda hands it over. The deal moves, the timeline and the journal say why, and
redeliveries, malformed messages and automation firing itself change nothing they should not."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import timedelta

import boto3
import pytest

from crm.domain.model import Cause, CauseKind, TimelineEntry, TimelineKind
from crm.domain.transitions import MAX_CHAIN_DEPTH
from tests.conftest import REGION, lambda_context, load_handler, template
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_stream_fanout import stream_event

STAGES = [
    {"name": "New"},
    {"name": "Large order"},
    {"name": "Handed over"},
    {"name": "Won", "semantic": "success"},
]
ABOVE_10K = {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]}


class Bus:
    """The items stream read past what was delivered already, the fan-out, and the template's
    ItemUpdatedRule delivering to a queue read as Lambda's SQS event source reads it."""

    def __init__(self) -> None:
        events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=os.environ["EVENT_BUS_NAME"])
        self.url = self.sqs.create_queue(QueueName="crm-changes")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        self.arn = attributes["Attributes"]["QueueArn"]
        pattern = template()["Resources"]["ItemUpdatedRule"]["Properties"]["EventPattern"]
        events.put_rule(
            Name="crm-changes", EventBusName=os.environ["EVENT_BUS_NAME"], EventPattern=json.dumps(pattern)
        )
        events.put_targets(
            Rule="crm-changes",
            EventBusName=os.environ["EVENT_BUS_NAME"],
            Targets=[{"Id": "q", "Arn": self.arn}],
        )
        self.seen = 0

    def publish(self) -> None:
        """The stream records written since the last call, through the fan-out to the bus."""
        records = stream_event()["Records"]
        fresh, self.seen = records[self.seen :], len(records)
        answer = load_handler("fanout").lambda_handler({"Records": fresh}, lambda_context())
        assert answer == {"batchItemFailures": []}

    def batch(self) -> dict:
        """What reached the queue, as the SQS event source hands it to the function."""
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return {"Records": [self.record(m["MessageId"], m["Body"], m) for m in messages]}

    def record(self, message_id: str, body: str, message: dict | None = None) -> dict:
        message = message or {}
        return {
            "messageId": message_id,
            "receiptHandle": message.get("ReceiptHandle", "handle"),
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": REGION,
        }


def ingest(batch: dict) -> dict:
    return load_handler("ingest_crm_changes").lambda_handler(batch, lambda_context())


@pytest.fixture
def crm(aws):
    """Tenant acme: deals in "sales", with *field value changed* (amount above 10,000) on "Large
    order" and *responsible changed* (to Boris) on "Handed over"; deal 1 at 9,000 with Anna."""
    from crm.service import configuration, items, rules

    for employee in ("anna", "boris"):
        configuration.create_employee(
            "acme", {"id": employee, "name": employee.title(), "email": f"{employee}@a.test"}
        )
    configuration.create_pipeline(
        "acme", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    made = {}
    for stage, type_code, params in (
        ("large_order", "field_changed", ABOVE_10K),
        ("handed_over", "responsible_changed", {"to_employee": "boris"}),
    ):
        rule = {"type_code": type_code, "stage_id": stage, "name": f"{type_code} rule", "params": params}
        made[type_code] = rules.create_rule("acme", "deal", "sales", rules.RuleKind.TRIGGER, rule)
    items.create_item("acme", "deal", {"title": "Forklift", "amount": 9_000, "responsible_id": "anna"})
    return made


@pytest.fixture
def bus(aws) -> Bus:
    return Bus()


def stage_of(item_id: str = "1") -> str:
    from crm.service import items

    return items.get_item("acme", "deal", item_id).stage_id


def journal(item_id: str = "1") -> list[dict]:
    from crm.service.triggers import item_journal

    entries, _ = item_journal("acme", "deal", item_id, 50, None)
    return entries


def moves(item_id: str = "1") -> list[TimelineEntry]:
    from crm.service import items

    entries, _ = items.timeline("acme", "deal", item_id, 50, None)
    return [e for e in entries if e.kind is TimelineKind.STAGE_CHANGED]


def update(**changes) -> None:
    from crm.service import items

    items.update_item("acme", "deal", "1", changes, by="anna")


def test_the_amount_going_above_10000_moves_the_deal_and_the_journal_says_why(crm, bus):
    # When Anna raises the amount over 10,000
    update(amount=12_000)
    bus.publish()
    batch = bus.batch()
    assert ingest(batch) == {"batchItemFailures": []}

    # Then the deal is in "Large order", moved by the trigger, recorded as its responsible's move
    rule = crm["field_changed"]
    assert stage_of() == "large_order"
    (move,) = moves()
    assert move.by == "anna" and move.data["trigger"] == {"id": rule.id, "name": rule.name}
    assert move.data["event"]["source"] == "crm_changes"
    (entry,) = journal()
    assert entry["outcome"] == "moved"
    assert entry["event"]["data"] == {"changes": {"amount": {"old": 9_000, "new": 12_000}}}
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(rule.id, "moved")]

    # And the same batch delivered again, or the record published again, changes nothing
    assert ingest(batch) == {"batchItemFailures": []}
    bus.seen = 0
    bus.publish()  # the fan-out publishes every stream record once more: new envelope ids
    assert ingest(bus.batch()) == {"batchItemFailures": []}
    assert len(moves()) == 1 and len(journal()) == 1

    # And a later save above 10,000 is no crossing: journaled, not fired
    update(amount=15_000)
    bus.publish()
    ingest(bus.batch())
    latest = journal()[0]
    assert [v["verdict"] for v in latest["verdicts"]] == ["params_mismatch"]
    assert stage_of() == "large_order" and len(moves()) == 1


def test_a_new_responsible_moves_the_deal_to_the_responsible_changed_stage(crm, bus):
    update(responsible_id="boris")
    bus.publish()
    assert ingest(bus.batch()) == {"batchItemFailures": []}
    assert stage_of() == "handed_over"
    (move,) = moves()
    assert move.by == "boris" and move.data["trigger"]["id"] == crm["responsible_changed"].id


def test_a_malformed_message_fails_alone_and_the_rest_of_the_batch_is_applied(crm, bus):
    update(amount=12_000)
    bus.publish()
    good = bus.batch()["Records"]
    not_an_update = json.loads(good[0]["body"]) | {"detail-type": "StageChanged"}
    batch = {
        "Records": [
            bus.record("not-json", "{"),
            *good,
            bus.record("wrong-kind", json.dumps(not_an_update)),
        ]
    }
    answer = ingest(batch)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "not-json"}, {"itemIdentifier": "wrong-kind"}]}
    assert stage_of() == "large_order" and len(journal()) == 1


def test_automation_that_keeps_firing_itself_stops_at_the_chain_bound_journaled(crm, bus):
    # Given a change made by a robot at the end of a chain of automatic moves (as a robot that
    # sets the amount on a stage a field_changed trigger leads to would write it)
    from crm.adapters import items

    before = items.get("acme", "deal", "1")
    chain = tuple(f"trigger:t{n}" for n in range(MAX_CHAIN_DEPTH - 1))
    after = replace(
        before,
        amount=12_000,
        version=before.version + 1,
        updated_at=before.updated_at + timedelta(minutes=1),
        last_change=Cause(CauseKind.ROBOT, "rob-1", chain),
    )
    entry = TimelineEntry("tl-robot", TimelineKind.FIELDS_CHANGED, after.updated_at, None, {"changes": {}})
    items.replace_item("acme", before, after, entry)

    # When its update reaches the source
    bus.publish()
    assert ingest(bus.batch()) == {"batchItemFailures": []}

    # Then the deal stays, and the journal says the chain is too deep
    assert stage_of() == "new" and moves() == []
    (entry,) = journal()
    assert entry["outcome"] == "not_moved"
    assert [v["verdict"] for v in entry["verdicts"]] == ["chain_too_deep"]
    assert entry["event"]["chain"] == [*chain, "robot:rob-1"]


def test_a_pipeline_without_such_triggers_journals_nothing_and_a_trigger_added_since_fires(aws, bus):
    from crm.service import configuration, items, rules

    configuration.create_pipeline(
        "acme", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    configuration.create_employee("acme", {"id": "anna", "name": "Anna", "email": "anna@a.test"})
    items.create_item("acme", "deal", {"title": "Forklift", "amount": 9_000})
    update(title="Forklift, yellow")
    bus.publish()
    assert ingest(bus.batch()) == {"batchItemFailures": []}
    assert journal() == []  # every save is an update: none is journaled where no trigger watches

    # A trigger added by another container, after this one read the pipeline, is seen at once
    from crm.adapters import automation

    without_it = automation.load("acme", "sales")
    rule = {"type_code": "field_changed", "stage_id": "large_order", "params": ABOVE_10K}
    rules.create_rule("acme", "deal", "sales", rules.RuleKind.TRIGGER, rule)
    automation._cache[("acme", "sales")] = without_it
    update(amount=11_000)
    bus.publish()
    assert ingest(bus.batch()) == {"batchItemFailures": []}
    assert stage_of() == "large_order"


def test_an_update_in_a_pipeline_without_such_triggers_costs_one_read_whatever_it_changed(aws, bus, dynamodb):
    from crm.service import configuration, items

    configuration.create_pipeline(
        "acme", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    for employee in ("anna", "ivan"):
        configuration.create_employee(
            "acme", {"id": employee, "name": employee, "email": f"{employee}@a.test"}
        )
    items.create_item("acme", "deal", {"title": "Forklift", "amount": 9_000, "responsible_id": "anna"})
    update(amount=12_000, responsible_id="ivan")  # both a field change and a new responsible
    bus.publish()
    batch = bus.batch()
    dynamodb.calls.clear()
    assert ingest(batch) == {"batchItemFailures": []}
    assert [operation for operation, _ in dynamodb.calls] == ["Query"]  # one fresh read of the pipeline
    assert journal() == []
