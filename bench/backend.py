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
    CONTACT_FORM,
    SALES_ID,
    SALES_STAGES,
    Tenant,
    proxy,
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
    from crm.domain.senders import SenderIdentities
    from crm.service.tenants import create_tenant
    from infra.aws import client

    gateway = Gateway()
    senders = SenderIdentities.granted(domains=["acme.test"])
    tenant = Tenant(gateway, "acme", create_tenant("Acme", "acme", senders=senders).api_key)
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
    events |= _ingest_events(tenant, samples, endpoint)
    return events


def _ingest_events(tenant: Tenant, samples: int, endpoint: str) -> dict[str, list[list[dict[str, Any]]]]:
    """First invocations of the ingest functions, each reaching a deal of its own (one per function
    and sample, so that each event finds its deal where its trigger moves it): a webhook call
    naming it, a webform submission from its contact, the open of a mail sent about it, an
    ``ItemUpdated`` of its amount crossing a *field value changed* trigger's threshold."""
    import re
    import uuid

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from infra.aws import client

    def trigger(type_code: str, params: dict[str, Any]) -> None:
        body = {"type_code": type_code, "stage_id": SALES_STAGES[1], "name": type_code, "params": params}
        tenant.ok("POST", f"/automation/deal/{SALES_ID}/triggers", body)

    secret = tenant.ok("POST", "/automation/hooks", {"name": "Accounting"})["secret"]
    form_id = tenant.ok("POST", "/automation/forms", CONTACT_FORM)["id"]
    trigger("webhook", {"code": "paid"})
    trigger("form_filled", {"form_ids": [form_id]})
    trigger("email_read", {})
    trigger("field_changed", {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]})
    client("ses", endpoint, conftest.REGION).verify_email_identity(EmailAddress="sales@acme.test")
    tenant.ok("PUT", "/mailbox/sender", {"address": "sales@acme.test", "display_name": "Acme"})
    sample_change = conftest.load_event("ingest_crm_changes/amount_above_10000.json")
    events: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in ("ingest_hooks", "ingest_webform")}
    events |= {"ingest_tracking": [], "ingest_crm_changes": []}

    def deal_of(email: str) -> str:
        return tenant.new_deal(f"Deal of {email}", emails=[email])

    for n in range(samples):
        url = f"/hooks/{secret}/trigger?target=DEAL_{deal_of(f'hook{n}@client.test')}&code=paid"
        events["ingest_hooks"].append([proxy("ingest_hooks/hook_trigger_get.json", "GET", url)])
        email = f"form{n}@client.test"
        deal_of(email)
        body = json.dumps({"name": "Jane", "email": email})
        headers = {"Content-Type": "application/json", "Accept": "application/json", "Origin": None}
        submit = proxy("ingest_webform/submit_browser.json", "POST", f"/forms/{form_id}", body, **headers)
        events["ingest_webform"].append([submit])
        mail = {"subject": "Offer", "html": '<p>Your <a href="https://shop.acme.test/o">offer</a>.</p>'}
        tenant.ok(
            "POST",
            f"/items/deal/{deal_of(f'reader{n}@client.test')}/emails",
            mail,
            {"X-Forwarded-Proto": "https"},
        )
        raw = ses_backends[DEFAULT_ACCOUNT_ID][conftest.REGION].sent_messages[-1].raw_data
        raw = raw.decode() if isinstance(raw, bytes) else raw
        pixel = re.search(r"/t/o/[A-Za-z0-9_.=-]+", raw.replace("=\n", ""))
        assert pixel is not None, "the sent mail has no open pixel"
        events["ingest_tracking"].append([proxy("ingest_tracking/open_pixel.json", "GET", pixel.group())])
        change = copy.deepcopy(sample_change)
        envelope = json.loads(change["Records"][0]["body"])
        envelope["id"] = str(uuid.uuid4())
        envelope["detail"].update(
            event_id=f"{uuid.uuid4().hex}:fields",
            tenant_id=tenant.id,
            item_id=deal_of(f"buyer{n}@client.test"),
            pipeline_id=SALES_ID,
        )
        envelope["detail"].update(stage_id=SALES_STAGES[0], version=2)
        change["Records"][0]["body"] = json.dumps(envelope)
        events["ingest_crm_changes"].append([change])
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
