"""AWS calls per operation, by function, service and API operation, against moto with warm caches.

Each operation is done once beforehand on another item, so the measured one finds what a warm
container has: the pipeline configuration cached, clients and connections made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.hooks import LOG, Calls
from bench.registry import Measured, Run, figure
from bench.world import SALES_ID, SALES_STAGES, Tenant, sample_rule, world

RULES_ON_SALES = 8  # a trigger and a robot on each of the four stages


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


@figure("calls.stage_move.api.dynamodb", unit="calls", budget=2)
def stage_move_api(run: Run) -> Measured:
    """DynamoDB calls of the API function for a manual stage move (the floor is one write)."""
    calls = run.shared(stage_move).of(function="api")
    return Measured(len(calls.of(service="DynamoDB")), _detail(calls))


@figure("calls.stage_move.authorizer", unit="calls")
def stage_move_authorizer(run: Run) -> Measured:
    """AWS calls of the authorizer per request (API Gateway caches its answer per key for 300 s)."""
    calls = run.shared(stage_move).of(function="authorizer")
    return Measured(len(calls), _detail(calls))


@figure("calls.stage_move.total", unit="calls")
def stage_move_total(run: Run) -> Measured:
    """AWS calls of a manual stage move through API Gateway: authorizer and API function."""
    calls = run.shared(stage_move)
    return Measured(len(calls), _detail(calls))


@figure("calls.item_create.api", unit="calls")
def item_create_api(run: Run) -> Measured:
    """AWS calls of the API function to create an item (the authorizer's are in the detail)."""
    calls = run.shared(item_create)
    return Measured(len(calls.of(function="api")), _detail(calls))


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
