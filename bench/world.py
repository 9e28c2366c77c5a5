"""The AWS world the in-process figures run in: moto, the template's tables, the test suite's
environment, and the handlers behind API Gateway as the tests drive them (``tests.gateway``), the
fan-out and the inbound-mail function.

The call log is installed before anything makes a botocore client, then ``tests.conftest`` sets
the environment (table names, region, fake credentials) before any handler is imported.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import time
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from bench import template
from bench.hooks import LOG

LOG.install()

from tests import conftest  # noqa: E402  (sets the environment: must come before any handler)

REGION = conftest.REGION
BATCH_WRITE = 25  # items per BatchWriteItem

SALES_ID = "sales"
SALES_STAGES = ("NEW", "PREPARATION", "WON", "LOST")
SALES = {  # ids given, so that rules can be written for its stages before it exists
    "id": SALES_ID,
    "item_type": "deal",
    "name": "Sales",
    "stages": [
        {"id": "NEW", "name": "New"},
        {"id": "PREPARATION", "name": "Preparation"},
        {"id": "WON", "name": "Won", "semantic": "success"},
        {"id": "LOST", "name": "Lost", "semantic": "failure"},
    ],
}

# A webform on the Sales pipeline whose submissions create deals (the sources' figures and the
# webform's cold start post to it).
CONTACT_FORM = {
    "name": "Contact us",
    "kind": "form",
    "item_type": "deal",
    "pipeline_id": SALES_ID,
    "fields": [
        {"name": "name", "label": "Name", "type": "text", "required": True, "maps_to": "title"},
        {"name": "email", "label": "Email", "type": "email", "required": True, "maps_to": "emails"},
    ],
}

warnings.filterwarnings("ignore", message="No application metrics to publish")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="botocore")


class _Scoped:
    """A handler module whose calls are attributed to one function, its stdout (logs, EMF metrics) muted,
    and the CPU time of each invocation kept, less the time inside moto's backend (the fake AWS):
    what would run inside the Lambda function."""

    def __init__(self, module: Any, function: str, stdout: io.TextIOBase) -> None:
        self.module, self.function, self.stdout = module, function, stdout
        self.cpu_ms: list[float] = []

    def lambda_handler(self, event: dict, context: Any) -> Any:
        started, in_moto = time.process_time(), LOG.backend_seconds
        try:
            with LOG.scope(self.function), contextlib.redirect_stdout(self.stdout):
                return self.module.lambda_handler(event, context)
        finally:
            spent = time.process_time() - started - (LOG.backend_seconds - in_moto)
            self.cpu_ms.append(spent * 1000)


class World:
    """moto started for the whole run, with the tables, the bus, the inbound bucket and the handlers."""

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
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ses = boto3.client("ses", region_name=REGION)
        self.s3.create_bucket(
            Bucket=os.environ["INBOUND_BUCKET"], CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        automation._cache.clear()
        # The handlers' logs and metrics go where Lambda's stdout would, but nowhere: their loggers
        # take the stdout of the moment they are imported.
        sink = resources.enter_context(open(os.devnull, "w"))  # noqa: SIM115  (closed with the run)
        with contextlib.redirect_stdout(sink):
            self.gateway = Gateway()
            self.gateway.api = _Scoped(self.gateway.api, "api", sink)
            self.gateway.authorizer = _Scoped(self.gateway.authorizer, "authorizer", sink)
            self.fanout = _Scoped(conftest.load_handler("fanout"), "fanout", sink)
            self.inbound_mail = _Scoped(conftest.load_handler("inbound_mail"), "inbound_mail", sink)
        self._sink = sink
        self._handlers: dict[str, _Scoped] = {}
        self.items_table = os.environ["ITEMS_TABLE"]
        described = self.dynamodb.describe_table(TableName=self.items_table)
        self._stream_arn = described["Table"]["LatestStreamArn"]

    def handler(self, name: str) -> _Scoped:
        """The handler of functions/{name}, its calls attributed to it (loaded once)."""
        if name not in self._handlers:
            with contextlib.redirect_stdout(self._sink):
                self._handlers[name] = _Scoped(conftest.load_handler(name), name, self._sink)
        return self._handlers[name]

    # ------------------------------------------------------------ tenants, through the API

    def tenant(self, tenant_id: str) -> Tenant:
        from crm.domain.senders import SenderIdentities
        from crm.service.tenants import create_tenant

        # The platform operator grants the tenant its sender domain (CRM mail is sent from it).
        senders = SenderIdentities.granted(domains=[f"{tenant_id}.test"])
        issued = create_tenant(tenant_id.title(), tenant_id, senders=senders)
        return Tenant(self.gateway, tenant_id, issued.api_key)

    def write_rules(self, tenant_id: str, rules: Iterable[tuple[str, Any]]) -> int:
        with LOG.off():
            return put_rules(self.dynamodb, tenant_id, rules)

    # ------------------------------------------------------------ the items stream

    def stream_position(self) -> int:
        return len(self.stream_records())

    def stream_records(self, since: int = 0) -> list[dict[str, Any]]:
        with LOG.off():
            return stream_records(self.streams, self._stream_arn, since)

    def invoke_fanout(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return self.fanout.lambda_handler({"Records": records}, conftest.lambda_context())

    # ------------------------------------------------------------ inbound mail

    def mail_event(self, address: str, sender: str, message_id: str) -> dict[str, Any]:
        """A message to ``address`` stored in the bucket as SES does; its receipt event."""
        with LOG.off():
            return ses_delivery(self.s3, address, sender, message_id)

    def invoke_inbound_mail(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.inbound_mail.lambda_handler(event, conftest.lambda_context())


# ---------------------------------------------------------------- shared with bench.backend


def proxy(
    sample: str, method: str, url: str, body: str | None = None, **headers: str | None
) -> dict[str, Any]:
    """The proxy event API Gateway would hand the function for ``url`` (path and query), shaped as
    the function's sample event ``sample`` (its resource's path parameters filled in; a header
    given as None is left out)."""
    event = copy.deepcopy(conftest.load_event(sample))
    parts = urlsplit(url)
    resource = event["resource"]
    pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource)) + "$"
    found = re.match(pattern, parts.path)
    if found is None:
        raise ValueError(f"{url} is not a path of {resource}")
    query = dict(pair.split("=", 1) for pair in parts.query.split("&")) if parts.query else None
    all_headers = {k: v for k, v in {**event["headers"], **headers}.items() if v is not None}
    event.update(
        httpMethod=method,
        path=parts.path,
        pathParameters=found.groupdict(),
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters=None if query is None else {k: [v] for k, v in query.items()},
        body=body,
        isBase64Encoded=False,
    )
    event["requestContext"].update(httpMethod=method, path=f"/dev{parts.path}", requestId=str(uuid.uuid4()))
    return event


def put_rules(dynamodb: Any, tenant_id: str, rules: Iterable[tuple[str, Any]]) -> int:
    """(pipeline id, Rule) pairs as the automation adapter stores them, in batch writes: thousands
    of rules in seconds, where the API would save the pipeline once per rule."""

    table, written, batch = os.environ["AUTOMATION_TABLE"], 0, []
    for pipeline_id, rule in rules:
        item = {
            "pk": {"S": f"{tenant_id}#PIPELINE#{pipeline_id}"},
            "sk": {"S": f"RULE#{rule.id}"},
            "rule": {"S": json.dumps(rule.to_dict())},
        }
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == BATCH_WRITE:
            written += _batch_write(dynamodb, table, batch)
            batch = []
    if batch:
        written += _batch_write(dynamodb, table, batch)
    return written


def _batch_write(dynamodb: Any, table: str, requests: list[dict]) -> int:
    pending = {table: requests}
    while pending:
        pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(requests)


def stream_records(streams: Any, stream_arn: str, since: int = 0) -> list[dict[str, Any]]:
    """The stream's records after the first ``since``, as Lambda hands them to the fan-out."""
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        records += page["Records"]
        iterator = page.get("NextShardIterator")
    return [
        {**r, "eventVersion": "1.1", "awsRegion": REGION, "eventSourceARN": stream_arn}
        | {"dynamodb": {**r["dynamodb"], "ApproximateCreationDateTime": _epoch(r["dynamodb"])}}
        for r in records[since:]
    ]


def _epoch(change: dict[str, Any]) -> float:
    created = change.get("ApproximateCreationDateTime")
    return created.timestamp() if hasattr(created, "timestamp") else float(created or 0)


def ses_delivery(s3: Any, address: str, sender: str, message_id: str) -> dict[str, Any]:
    """SES's S3 action (the raw message under the prefix) and the receipt event of its Lambda
    action, for a reply from ``sender`` with its own Message-ID; ``message_id`` is SES's id."""
    event = copy.deepcopy(conftest.load_event("inbound_mail/ses_receipt.json"))
    ses = event["Records"][0]["ses"]
    message = EmailMessage()
    message["From"], message["To"] = sender, address
    message["Subject"] = "Re: your quote for two forklifts"
    message["Message-ID"] = f"<{message_id}@client.test>"
    message.set_content("Hello,\n\nwe accept the quote. Please send the invoice.\n\nIvan")
    bucket, prefix = os.environ["INBOUND_BUCKET"], os.environ["INBOUND_PREFIX"]
    s3.put_object(Bucket=bucket, Key=f"{prefix}{message_id}", Body=message.as_bytes())
    ses["mail"]["messageId"] = message_id
    ses["mail"]["source"] = sender
    ses["mail"]["destination"] = ses["receipt"]["recipients"] = [address]
    ses["mail"]["commonHeaders"]["messageId"] = message["Message-ID"]
    return event


@dataclass
class Tenant:
    gateway: Any  # tests.gateway.Gateway: API Gateway with the authorizer, in front of the API
    id: str
    key: str

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.gateway.call(method, path, body, self.key, headers)

    def ok(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        answer = self.call(method, path, body, headers)
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path} answered {answer.status}: {answer.body}")
        return answer.body

    def sales_pipeline(self) -> str:
        return self.ok("POST", "/pipelines", SALES)["id"]

    def new_deal(
        self, title: str = "Forklift", emails: list[str] | None = None, headers: dict[str, str] | None = None
    ) -> str:
        body = {"title": title, **({"emails": emails} if emails else {})}
        return self.ok("POST", "/items/deal", body, headers)["id"]

    def move(self, item_id: str, stage_id: str) -> Any:
        return self.ok("POST", f"/items/deal/{item_id}/stage", {"stage_id": stage_id})

    def mailbox(self) -> str:
        return self.ok("GET", "/mailbox")["address"]


def sample_rule(number: int, stage_id: str, trigger: bool, trigger_type: str = "webform_filled") -> Any:
    """A trigger or robot as users configure them: parameters, a condition, robot settings."""
    from crm.domain import conditions
    from crm.domain.delays import Delay, DelayKind, DelayUnit
    from crm.domain.rules import Retry, Rule, RuleKind

    if trigger:
        return Rule(
            id=f"t{number:06d}",
            kind=RuleKind.TRIGGER,
            type_code=trigger_type,
            name=f"{trigger_type} {number}",
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
        params={  # valid for crm/robots/send_email.py: to the item's first email
            "subject": "Your offer {{ item.title }}",
            "body_text": "Hello {{ item.company }}, here is the offer we discussed. " * 3,
        },
        condition=conditions.parse(condition),
        run_as="anna",
        sort=number % 100,
        delay=Delay(kind=DelayKind.AFTER, amount=1, unit=DelayUnit.HOURS, working_time=True),
        retry=Retry(attempts=3, backoff_seconds=300),
    )


def world(run: Any) -> World:
    """The run's world (``run.shared(world)``), closed with the run."""
    return World(run.resources)
