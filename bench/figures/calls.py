"""AWS calls per operation, by function, service and API operation, against moto with warm caches.

Each operation is done once beforehand on another item (another contact, another message), so the
measured one finds what a warm container has: the pipeline configuration cached, clients and
connections made. The budgets are the floors of issue 8 (Performance II): a stage move or an update
reads the item and writes one transaction; a create writes one transaction after at most one read;
a contact look-up is one read of the contact index; inbound mail reads its message from S3 and
records it with at most three DynamoDB calls, at most three again on a redelivery. Issue 8 set two
for inbound mail before a message fired triggers; since issue 9 a delivery is the *incoming email*
trigger event by contact, whose floor is three (the contact index's Query, one read of the items or
of the event's earlier answers, one transaction), and the message is written in the event's own
transactions, so recording it costs nothing beyond that floor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bench.hooks import LOG, Calls
from bench.registry import Measured, Run, figure
from bench.world import SALES_ID, SALES_STAGES, Tenant, sample_rule, world

RULES_ON_SALES = 8  # a trigger and a robot on each of the four stages
SENDER = "ivan.petrov@client.test"  # the contact of two deals
OTHER_SENDER = "olga.smirnova@client.test"  # the contact of one deal, for warm-ups


def acme(run: Run) -> Tenant:
    """The tenant the operations run as: the Sales pipeline with its triggers and robots."""
    tenant = run.shared(world).tenant("acme")
    tenant.sales_pipeline()
    rules = [(SALES_ID, sample_rule(n, SALES_STAGES[n // 2 % 4], n % 2 == 0)) for n in range(RULES_ON_SALES)]
    run.shared(world).write_rules(tenant.id, rules)
    return tenant


# ---------------------------------------------------------------- measured operations


def stage_move(run: Run) -> Calls:
    tenant = run.shared(acme)
    warm, measured = tenant.new_deal(), tenant.new_deal()
    tenant.move(warm, "PREPARATION")
    with LOG.recording() as calls:
        answer = tenant.move(measured, "PREPARATION")
    assert answer["moved"], answer
    if not calls.of(service="DynamoDB"):
        raise RuntimeError("the call log saw no DynamoDB call: was a botocore session made before it?")
    return calls


def item_create(run: Run) -> Calls:
    tenant = run.shared(acme)
    tenant.new_deal("warm-up")
    with LOG.recording() as calls:
        tenant.new_deal("Measured")
    return calls


def item_create_keyed(run: Run) -> Calls:
    """A create with an Idempotency-Key (a client that may retry), after one with another key."""
    tenant = run.shared(acme)
    tenant.new_deal("warm-up", headers={"Idempotency-Key": str(uuid.uuid4())})
    with LOG.recording() as calls:
        tenant.new_deal("Measured", headers={"Idempotency-Key": str(uuid.uuid4())})
    return calls


def item_update(run: Run) -> Calls:
    tenant = run.shared(acme)
    warm, measured = tenant.new_deal(), tenant.new_deal()
    tenant.ok("PATCH", f"/items/deal/{warm}", {"title": "Two forklifts"})
    with LOG.recording() as calls:
        tenant.ok("PATCH", f"/items/deal/{measured}", {"title": "Two forklifts"})
    return calls


def contacts(run: Run) -> Tenant:
    """acme with two deals whose contact is SENDER and one whose contact is OTHER_SENDER."""
    tenant = run.shared(acme)
    tenant.new_deal("Two forklifts", emails=[SENDER])
    tenant.new_deal("Service contract", emails=[SENDER.upper()])  # the index keys it lower-cased
    tenant.new_deal("Pallets", emails=[OTHER_SENDER])
    return tenant


def contact_lookup(run: Run) -> Calls:
    tenant = run.shared(contacts)
    tenant.ok("GET", f"/items?email={OTHER_SENDER}")
    with LOG.recording() as calls:
        found = tenant.ok("GET", f"/items?email={SENDER}")
    if len(found) != 2:
        raise RuntimeError(f"the look-up found {len(found)} items, not the contact's 2")
    return calls


@dataclass(frozen=True)
class MailDelivery:
    first: Calls
    redelivery: Calls  # the same receipt event again (SES or Lambda retrying)


def inbound_mail(run: Run) -> MailDelivery:
    """A message from the contact of two deals, delivered and then redelivered, after a warm-up
    message from another contact."""
    w, tenant = run.shared(world), run.shared(contacts)
    address = tenant.mailbox()
    w.invoke_inbound_mail(w.mail_event(address, OTHER_SENDER, "warm-up-message"))
    event = w.mail_event(address, SENDER, "measured-message")
    with LOG.recording() as first:
        recorded = w.invoke_inbound_mail(event)
    with LOG.recording() as again:
        recorded_again = w.invoke_inbound_mail(event)
    if recorded.get("recorded") != 2 or recorded_again.get("recorded") != 0:
        raise RuntimeError(f"delivery answered {recorded}, redelivery {recorded_again}")
    return MailDelivery(first, again)


@dataclass(frozen=True)
class FanoutBatch:
    calls: Calls
    moves: int  # the stage moves whose records make the batch
    records: int
    events: int
    detail_types: dict[str, int]
    result: dict[str, Any]


def fanout_batch(run: Run) -> FanoutBatch:
    """Ten stage moves, then their ten item records from the stream as one fan-out batch."""
    w, tenant = run.shared(world), run.shared(acme)
    start = w.stream_position()
    deals = [tenant.new_deal(f"Deal {n}") for n in range(10)]
    w.invoke_fanout(w.stream_records(start))  # warm-up: the ItemCreated batch
    start = w.stream_position()
    for deal in deals:
        tenant.move(deal, "PREPARATION")
    records = [r for r in w.stream_records(start) if r["dynamodb"]["Keys"]["sk"]["S"] == "ITEM"][:10]
    with LOG.recording() as calls:
        result = w.invoke_fanout(records)
    entries = [e for c in calls.of(service="EventBridge") for e in c.params.get("Entries", [])]
    types: dict[str, int] = {}
    for entry in entries:
        types[entry["DetailType"]] = types.get(entry["DetailType"], 0) + 1
    return FanoutBatch(calls, len(deals), len(records), len(entries), types, result)


@dataclass(frozen=True)
class RulesLoad:
    cold: Calls
    warm: Calls
    rules: int


def rules_load(run: Run) -> RulesLoad:
    from crm.adapters import automation

    tenant = run.shared(acme)
    automation.forget(tenant.id, SALES_ID)
    with LOG.scope("api"), LOG.recording() as cold:
        config = automation.load(tenant.id, SALES_ID)
    with LOG.scope("api"), LOG.recording() as warm:
        automation.load(tenant.id, SALES_ID)
    return RulesLoad(cold, warm, len(config.rules))


def _detail(calls: Calls) -> dict[str, Any]:
    detail: dict[str, Any] = {"calls": calls.by_function()}
    if calls.of(service="DynamoDB"):
        detail["dynamodb_units"] = calls.of(service="DynamoDB").units().as_json()
    return detail


# ---------------------------------------------------------------- figures


def _dynamodb_calls(calls: Calls, function: str) -> Measured:
    """The function's DynamoDB calls; the detail has every call of the operation."""
    return Measured(len(calls.of(function=function, service="DynamoDB")), _detail(calls))


@figure("calls.stage_move.api.dynamodb", unit="calls", budget=2)
def stage_move_api(run: Run) -> Measured:
    """DynamoDB calls of the API function for a manual stage move (the floor is one write)."""
    return _dynamodb_calls(run.shared(stage_move).of(function="api"), "api")


@figure("calls.stage_move.authorizer", unit="calls")
def stage_move_authorizer(run: Run) -> Measured:
    """AWS calls of the authorizer per request (API Gateway caches its answer per key for 60 s)."""
    calls = run.shared(stage_move).of(function="authorizer")
    return Measured(len(calls), _detail(calls))


@figure("calls.stage_move.total", unit="calls")
def stage_move_total(run: Run) -> Measured:
    """AWS calls of a manual stage move through API Gateway: authorizer and API function."""
    calls = run.shared(stage_move)
    return Measured(len(calls), _detail(calls))


@figure("calls.item_create.api.dynamodb", unit="calls", budget=2)
def item_create_api(run: Run) -> Measured:
    """DynamoDB calls of the API function to create an item (the authorizer's are in the detail)."""
    return _dynamodb_calls(run.shared(item_create), "api")


@figure("calls.item_create_keyed.api.dynamodb", unit="calls", budget=2)
def item_create_keyed_api(run: Run) -> Measured:
    """DynamoDB calls of the API function to create an item with an Idempotency-Key."""
    return _dynamodb_calls(run.shared(item_create_keyed), "api")


@figure("calls.item_update.api.dynamodb", unit="calls", budget=2)
def item_update_api(run: Run) -> Measured:
    """DynamoDB calls of the API function to update an item's title (PATCH)."""
    return _dynamodb_calls(run.shared(item_update), "api")


@figure("calls.contact_lookup.api.dynamodb", unit="calls", budget=1)
def contact_lookup_api(run: Run) -> Measured:
    """DynamoDB calls of the API function to find a contact's two items (GET /items?email=)."""
    return _dynamodb_calls(run.shared(contact_lookup), "api")


def _mail(run: Run, delivery: str, service: str) -> Measured:
    calls: Calls = getattr(run.shared(inbound_mail), delivery)
    return Measured(len(calls.of(function="inbound_mail", service=service)), _detail(calls))


@figure("calls.inbound_mail.first.dynamodb", unit="calls", budget=3)
def inbound_mail_dynamodb(run: Run) -> Measured:
    """DynamoDB calls of the inbound-mail function for a message from the contact of two items
    (whose pipeline has no incoming_email trigger): the floor of a trigger event by contact, the
    contact index's Query, the read of the event's earlier answers, and one transaction of the
    tenant's journal entry with the message on both items (issue 8's 2 predates mail as a trigger)."""
    return _mail(run, "first", "DynamoDB")


@figure("calls.inbound_mail.first.s3", unit="calls", budget=1)
def inbound_mail_s3(run: Run) -> Measured:
    """S3 calls of the inbound-mail function for that message (reading the raw message)."""
    return _mail(run, "first", "S3")


@figure("calls.inbound_mail.redelivery.dynamodb", unit="calls", budget=3)
def inbound_mail_redelivery_dynamodb(run: Run) -> Measured:
    """DynamoDB calls of the inbound-mail function when the same message is delivered again: the
    contact index's Query, the event's earlier answer, and the message's entries refused at their
    markers in one transaction (an item that got the sender's address since still gets it)."""
    return _mail(run, "redelivery", "DynamoDB")


@figure("calls.inbound_mail.redelivery.s3", unit="calls", budget=1)
def inbound_mail_redelivery_s3(run: Run) -> Measured:
    """S3 calls of the inbound-mail function when the same message is delivered again."""
    return _mail(run, "redelivery", "S3")


@figure("calls.fanout.put_events_per_10_events", unit="calls", budget=1)
def fanout_put_events(run: Run) -> Measured:
    """PutEvents calls per 10 published events, for one fan-out batch of 10 stream records."""
    batch = run.shared(fanout_batch)
    if batch.result.get("batchItemFailures") or not batch.events:
        raise RuntimeError(f"the fan-out did not publish the batch: {batch.result}")
    put_events = len(batch.calls.of(service="EventBridge"))
    detail = {
        "records": batch.records,
        "events": batch.events,
        "event_types": batch.detail_types,
        **_detail(batch.calls),
    }
    return Measured(put_events * 10 / batch.events, detail)


@figure("calls.rules_load.cold", unit="calls", budget=1)
def rules_load_cold(run: Run) -> Measured:
    """Calls to load a pipeline's rules into a container that has not cached them."""
    load = run.shared(rules_load)
    return Measured(len(load.cold), {"rules": load.rules, **_detail(load.cold)})


@figure("calls.rules_load.warm", unit="calls", budget=0)
def rules_load_warm(run: Run) -> Measured:
    """Calls to load the same pipeline's rules again in the warm container."""
    load = run.shared(rules_load)
    return Measured(len(load.warm), {"rules": load.rules, "calls": load.warm.by_function()})
