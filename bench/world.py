"""The AWS world the in-process figures run in: moto, the template's tables, the test suite's
environment, and the handlers behind API Gateway as the tests drive them (``tests.gateway``).

The call log is installed before anything makes a botocore client, then ``tests.conftest`` sets
the environment (table names, region, fake credentials) before any handler is imported.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench import template
from bench.hooks import LOG

LOG.install()

from tests import conftest  # noqa: E402  (sets the environment: must come before any handler)

REGION = conftest.REGION
BATCH_WRITE = 25  # items per BatchWriteItem

SALES = {
    "item_type": "deal",
    "name": "Sales",
    "stages": [
        {"name": "New"},
        {"name": "Preparation"},
        {"name": "Won", "semantic": "success"},
        {"name": "Lost", "semantic": "failure"},
    ],
}
SALES_ID = "sales"
SALES_STAGES = ("NEW", "PREPARATION", "WON", "LOST")

warnings.filterwarnings("ignore", message="No application metrics to publish")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="botocore")


class _Scoped:
    """A handler module whose calls are attributed to one function, its stdout (EMF metrics) muted."""

    def __init__(self, module: Any, function: str) -> None:
        self.module, self.function = module, function

    def lambda_handler(self, event: dict, context: Any) -> Any:
        with LOG.scope(self.function), contextlib.redirect_stdout(io.StringIO()):
            return self.module.lambda_handler(event, context)


class World:
    """moto started for the whole run, with the tables, the bus and the three handlers."""

    def __init__(self, resources: contextlib.ExitStack) -> None:
        import boto3
        from moto import mock_aws

        from crm.adapters import automation
        from infra.template import create_tables
        from tests.gateway import Gateway

        resources.enter_context(mock_aws())
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.streams = boto3.client("dynamodbstreams", region_name=REGION)
        create_tables(self.dynamodb, template.stack())
        boto3.client("events", region_name=REGION).create_event_bus(Name=os.environ["EVENT_BUS_NAME"])
        automation._cache.clear()
        self.gateway = Gateway()
        self.gateway.api = _Scoped(self.gateway.api, "api")
        self.gateway.authorizer = _Scoped(self.gateway.authorizer, "authorizer")
        self.fanout = _Scoped(conftest.load_handler("fanout"), "fanout")
        self.items_table = os.environ["ITEMS_TABLE"]
        self.automation_table = os.environ["AUTOMATION_TABLE"]
        described = self.dynamodb.describe_table(TableName=self.items_table)
        self._stream_arn = described["Table"]["LatestStreamArn"]

    # ------------------------------------------------------------ tenants, through the API

    def tenant(self, tenant_id: str) -> Tenant:
        from crm.service.tenants import create_tenant

        return Tenant(self, tenant_id, create_tenant(tenant_id.title(), tenant_id).api_key)

    # ------------------------------------------------------------ rules, written directly

    def write_rules(self, tenant_id: str, rules: Iterable[tuple[str, Any]]) -> int:
        """(pipeline id, Rule) pairs as the automation adapter stores them, in batch writes."""
        from crm.adapters.automation import rule_to_dict

        written = 0
        batch: list[dict] = []
        with LOG.off():
            for pipeline_id, rule in rules:
                item = {
                    "pk": {"S": f"{tenant_id}#PIPELINE#{pipeline_id}"},
                    "sk": {"S": f"RULE#{rule.id}"},
                    "rule": {"S": json.dumps(rule_to_dict(rule))},
                }
                batch.append({"PutRequest": {"Item": item}})
                if len(batch) == BATCH_WRITE:
                    written += self._batch_write(batch)
                    batch = []
            if batch:
                written += self._batch_write(batch)
        return written

    def _batch_write(self, requests: list[dict]) -> int:
        pending = {self.automation_table: requests}
        while pending:
            pending = self.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return len(requests)

    # ------------------------------------------------------------ the items stream

    def stream_position(self) -> int:
        return len(self._records())

    def stream_records(self, since: int = 0) -> list[dict[str, Any]]:
        """The items table's stream records after ``since``, as Lambda hands them to the fan-out."""
        return [
            {**r, "eventVersion": "1.1", "awsRegion": REGION, "eventSourceARN": self._stream_arn}
            | {"dynamodb": {**r["dynamodb"], "ApproximateCreationDateTime": _epoch(r["dynamodb"])}}
            for r in self._records()[since:]
        ]

    def _records(self) -> list[dict[str, Any]]:
        with LOG.off():
            shard = self.streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"][0]
            iterator = self.streams.get_shard_iterator(
                StreamArn=self._stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records: list[dict[str, Any]] = []
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                records += page["Records"]
                iterator = page.get("NextShardIterator")
        return records

    def invoke_fanout(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return self.fanout.lambda_handler({"Records": records}, conftest.lambda_context())


def _epoch(change: dict[str, Any]) -> float:
    created = change.get("ApproximateCreationDateTime")
    return created.timestamp() if hasattr(created, "timestamp") else float(created or 0)


@dataclass
class Tenant:
    world: World
    id: str
    key: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self.world.gateway.call(method, path, body, self.key)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.call(method, path, body)
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path} answered {answer.status}: {answer.body}")
        return answer.body

    def sales_pipeline(self) -> str:
        return self.ok("POST", "/pipelines", SALES)["id"]

    def new_deal(self, title: str = "Forklift") -> str:
        return self.ok("POST", "/items/deal", {"title": title})["id"]

    def move(self, item_id: str, stage_id: str) -> Any:
        return self.ok("POST", f"/items/deal/{item_id}/stage", {"stage_id": stage_id})


def sample_rule(number: int, stage_id: str, trigger: bool) -> Any:
    """A trigger or robot as users configure them: parameters, a condition, robot settings."""
    from crm.domain import conditions
    from crm.domain.rules import Delay, DelayKind, Retry, Rule, RuleKind

    if trigger:
        return Rule(
            id=f"t{number:06d}",
            kind=RuleKind.TRIGGER,
            type_code="webform_filled",
            name=f"Web form {number} filled",
            stage_id=stage_id,
            params={"form_id": f"form-{number % 40}"},
            sort=number % 100,
        )
    condition = {
        "join": "and",
        "conditions": [
            {"field": "amount", "op": ">=", "value": 1000 + number % 5000},
            {"field": "currency", "op": "in", "value": ["EUR", "USD"]},
        ],
    }
    return Rule(
        id=f"r{number:06d}",
        kind=RuleKind.ROBOT,
        type_code="send_email",
        name=f"Offer follow-up {number}",
        stage_id=stage_id,
        params={
            "to": "contact",
            "subject": "Your offer {{ item.title }}",
            "body": "Hello {{ contact.name }}, here is the offer we discussed. " * 3,
        },
        condition=conditions.parse(condition),
        run_as="anna",
        sort=number % 100,
        delay=Delay(DelayKind.AFTER, 60, working_time=True),
        retry=Retry(attempts=3, backoff_seconds=300),
    )


def world(run: Any) -> World:
    """The run's world (``run.shared(world)``), closed with the run."""
    return World(run.resources)
