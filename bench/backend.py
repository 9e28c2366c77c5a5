"""The backend the cold-start probes call: moto in server mode on loopback with the template's
resources, a tenant as users have one, and the events of the probes' first invocations.

    python -m bench.backend SAMPLES

runs in the dev venv, in a process of its own (the probes run in bench/.venv-runtime, which has no
moto). It seeds the tenant through the application's own use-cases and handlers, writes one line of
JSON to stdout, ``{"endpoint": ..., "events": {function: [[event, ...] per sample]}}``, and serves
until it is terminated or its stdin closes. Each sample gets events of its own where a repeat
would cost less: a deal still in its first stage for each stage move, a new message for each
inbound mail.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
from typing import Any

from bench.world import (
    SALES_ID,
    SALES_STAGES,
    Tenant,
    put_rules,
    sample_rule,
    ses_delivery,
    stream_records,
)
from tests import conftest
from tests.gateway import Gateway, authorizer_event, proxy_event

SENDER = "ivan.petrov@client.test"  # the contact of two deals, who writes to the tenant's mailbox
RULES = 8  # a trigger and a robot on each stage of the Sales pipeline, as in the calls figures


def _authorized(event: dict[str, Any], gateway: Gateway) -> dict[str, Any]:
    """The proxy event as API Gateway passes it on: with the authorizer's principal and context."""
    policy = gateway.authorizer.lambda_handler(authorizer_event(event), conftest.lambda_context())
    event["requestContext"]["authorizer"] = {"principalId": policy["principalId"], **policy["context"]}
    return event


def seed(samples: int, endpoint: str) -> dict[str, list[list[dict[str, Any]]]]:
    """The tenant, and for each function one list of first-invocation events per sample."""
    from crm.service.tenants import create_tenant
    from infra.aws import client

    gateway = Gateway()
    tenant = Tenant(gateway, "acme", create_tenant("Acme", "acme").api_key)
    tenant.sales_pipeline()
    dynamodb = client("dynamodb", endpoint, conftest.REGION)
    rules = [(SALES_ID, sample_rule(n, SALES_STAGES[n // 2 % 4], n % 2 == 0)) for n in range(RULES)]
    put_rules(dynamodb, tenant.id, rules)
    tenant.new_deal("Two forklifts", emails=[SENDER])
    tenant.new_deal("Service contract", emails=[SENDER])
    deals = [tenant.new_deal(f"Deal {n}") for n in range(samples)]
    bearer = {"Authorization": f"Bearer {tenant.key}"}

    # A stream batch with a StageChanged record: the records of one stage move, as Lambda reads them.
    streams = client("dynamodbstreams", endpoint, conftest.REGION)
    stream_arn = dynamodb.describe_table(TableName=os.environ["ITEMS_TABLE"])["Table"]["LatestStreamArn"]
    moved = tenant.new_deal("Moved")
    since = len(stream_records(streams, stream_arn))
    tenant.move(moved, SALES_STAGES[1])
    batch = {"Records": stream_records(streams, stream_arn, since)}

    s3, address = client("s3", endpoint, conftest.REGION), tenant.mailbox()
    events: dict[str, list[list[dict[str, Any]]]] = {
        "api": [
            [
                _authorized(proxy_event("GET", f"/items/deal/{deal}", None, bearer), gateway),
                _authorized(
                    proxy_event("POST", f"/items/deal/{deal}/stage", {"stage_id": SALES_STAGES[1]}, bearer),
                    gateway,
                ),
            ]
            for deal in deals
        ],
        "authorizer": [
            [authorizer_event(proxy_event("GET", f"/items/deal/{deal}", None, bearer))] for deal in deals
        ],
        "fanout": [[copy.deepcopy(batch)] for _ in deals],
        "inbound_mail": [
            [ses_delivery(s3, address, SENDER, f"cold-start-message-{n}")] for n in range(samples)
        ],
    }
    return events


def main() -> None:
    from infra.aws import Moto, create_resources, point_sdk_at
    from infra.template import Stack

    samples = int(sys.argv[1])
    out = sys.stdout
    moto = Moto()
    endpoint = moto.start()
    try:
        point_sdk_at(endpoint, conftest.REGION)
        # The handlers seeding the tenant log to stdout: keep it for the one line of the answer.
        with contextlib.redirect_stdout(sys.stderr):
            create_resources(Stack.load(conftest.ROOT / "template.yaml"), endpoint)
            events = seed(samples, endpoint)
        out.write(json.dumps({"endpoint": endpoint, "events": events}) + "\n")
        out.flush()
        sys.stdin.read()  # serve until the bench is done (or gone)
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
