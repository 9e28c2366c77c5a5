"""Cost per million manual stage moves at AWS list prices: a model, from the counts of the call
figures and the handlers' warm durations measured in the same run.

Per move: one API Gateway REST request; the authorizer and the API function, each one invocation
billed for its compute plus the latency of the calls it made, at the memory size template.yaml
gives it (arm64); the DynamoDB request units of those calls; the stream records the move writes,
fanned out in invocations of a fixed number of records, each event one EventBridge custom event;
each StageChanged event one SQS message (sent by the rule, received and deleted in batches by its
consumer). Stream reads by Lambda are free; CloudWatch Logs, X-Ray traces, storage and data
transfer are not counted.

Measured: each handler's compute, as the CPU time of warm invocations in this process (stage moves
through the authorizer and the API, fan-out batches of ten item records), less the time inside
moto's backend; the tracer is off there (the test suite's environment). Assumed (bench/prices.json,
labelled in the detail): the latency of each AWS call (moto's is not DynamoDB's or EventBridge's),
the CPU share of a function of the template's memory size (a full vCPU at 1,769 MB) and that a
vCPU there is as fast as a core of this machine, and the prices as of their date.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import template
from bench.figures.calls import acme, fanout_batch, stage_move
from bench.hooks import LOG, Calls
from bench.registry import Measured, Run, figure
from bench.world import SALES_STAGES, world

PRICES = Path(__file__).resolve().parent.parent / "prices.json"
TIMED_MOVES, QUICK_TIMED_MOVES = 40, 10
FANOUT_BATCH = 10  # item records per timed fan-out invocation


@dataclass(frozen=True)
class WarmDurations:
    cpu_ms: dict[str, list[float]]  # per function, each timed warm invocation

    def median(self, function: str) -> float:
        return statistics.median(self.cpu_ms[function])


def warm_durations(run: Run) -> WarmDurations:
    """Stage moves of fresh deals through the authorizer and the API, then their item records in
    fan-out batches of ten, each after one to warm up; the call log is off (its bookkeeping is not
    the function's)."""
    w, tenant = run.shared(world), run.shared(acme)
    handlers = {"api": w.gateway.api, "authorizer": w.gateway.authorizer, "fanout": w.fanout}
    count = QUICK_TIMED_MOVES if run.quick else TIMED_MOVES
    deals = [tenant.new_deal(f"Timed {n}") for n in range(1 + count)]
    start = w.stream_position()
    with LOG.off():
        tenant.move(deals[0], SALES_STAGES[1])  # warm-up
        marks = {f: len(h.cpu_ms) for f, h in handlers.items()}
        for deal in deals[1:]:
            tenant.move(deal, SALES_STAGES[1])
        items = [r for r in w.stream_records(start) if r["dynamodb"]["Keys"]["sk"]["S"] == "ITEM"]
        batches = [items[n : n + FANOUT_BATCH] for n in range(0, len(items) - FANOUT_BATCH + 1, FANOUT_BATCH)]
        w.invoke_fanout(batches[0])  # warm-up
        marks["fanout"] = len(w.fanout.cpu_ms)
        for batch in batches[1:] or batches:
            result = w.invoke_fanout(batch)
            if result.get("batchItemFailures"):
                raise RuntimeError(f"the fan-out failed a timed batch: {result}")
    return WarmDurations({f: h.cpu_ms[marks[f] :] for f, h in handlers.items()})


def _compute_ms(function: str, durations: WarmDurations, assumptions: dict[str, Any]) -> float:
    """The measured CPU time, stretched to the CPU share of the function's memory size."""
    share = min(1.0, template.memory_mb(function) / assumptions["lambda_full_vcpu_memory_mb"])
    return durations.median(function) / share


def _billed_ms(calls: Calls, compute_ms: float, assumptions: dict[str, Any], waited_ms: float = 0) -> int:
    latency = assumptions["call_latency_ms"]
    waited = sum(latency.get(c.name, latency["default"]) for c in calls) + waited_ms
    return math.ceil(compute_ms + waited)


def _gb_seconds(function: str, billed_ms: int) -> float:
    return billed_ms / 1000 * template.memory_mb(function) / 1024


def _stream_records(calls: Calls) -> int:
    """Items the calls wrote to tables with a stream (one stream record each)."""
    streamed = template.streamed_tables()
    count = 0
    for call in calls.of(service="DynamoDB"):
        if call.operation == "TransactWriteItems":
            for entry in call.params["TransactItems"]:
                ((action, body),) = entry.items()
                count += action != "ConditionCheck" and body["TableName"] in streamed
        elif call.operation in ("PutItem", "UpdateItem", "DeleteItem"):
            count += call.params["TableName"] in streamed
    return count


@figure("cost.stage_move_per_million", unit="USD")
def stage_move_cost(run: Run) -> Measured:
    """A million manual stage moves at list prices (a model: measured compute, assumed latencies)."""
    table = json.loads(PRICES.read_text())
    price, assume = table["prices"], table["assumptions"]
    move, batch = run.shared(stage_move), run.shared(fanout_batch)
    durations = run.shared(warm_durations)
    api, authorizer = move.of(function="api"), move.of(function="authorizer")
    authorizer_runs = assume["authorizer_runs_per_request"]

    # the fan-out: records of this move, batched; PutEvents calls as the measured batch made them
    records = _stream_records(move)
    moves_per_invocation = assume["stream_records_per_fanout_invocation"] / records
    events_per_move = batch.events / batch.moves
    put_events_per_event = len(batch.calls.of(service="EventBridge")) / batch.events
    put_events = math.ceil(moves_per_invocation * events_per_move * put_events_per_event)
    put_events_ms = put_events * assume["call_latency_ms"]["EventBridge.PutEvents"]
    fanout_invocations = 1 / moves_per_invocation

    compute = {f: _compute_ms(f, durations, assume) for f in ("api", "authorizer", "fanout")}
    billed = {
        "api": _billed_ms(api, compute["api"], assume),
        "authorizer": _billed_ms(authorizer, compute["authorizer"], assume),
        "fanout": _billed_ms(Calls(), compute["fanout"], assume, put_events_ms),
    }
    invocations = {"api": 1.0, "authorizer": authorizer_runs, "fanout": fanout_invocations}
    units = api.units() + authorizer.units() * authorizer_runs
    stage_changed = batch.detail_types.get("StageChanged", 0) / batch.moves
    sqs_requests = stage_changed * (1 + 2 / assume["sqs_messages_per_consumer_batch"])

    def lambda_cost(function: str) -> float:
        gb_s = invocations[function] * _gb_seconds(function, billed[function])
        return (
            invocations[function] * price["lambda_requests_per_million"]
            + gb_s * price["lambda_arm64_gb_seconds_per_million"]
        )

    usd = {
        "api_gateway": price["api_gateway_rest_requests_per_million"],
        "lambda_api": lambda_cost("api"),
        "lambda_authorizer": lambda_cost("authorizer"),
        "lambda_fanout": lambda_cost("fanout"),
        "dynamodb": units.write * price["dynamodb_write_request_units_per_million"]
        + units.read * price["dynamodb_read_request_units_per_million"],
        "eventbridge": events_per_move * price["eventbridge_custom_events_per_million"],
        "sqs": sqs_requests * price["sqs_standard_requests_per_million"],
    }
    total = sum(usd.values())
    authorizer_usd = usd["lambda_authorizer"] + authorizer_runs * (
        authorizer.units().read * price["dynamodb_read_request_units_per_million"]
    )
    detail = {
        "usd_per_million_moves": {k: round(v, 4) for k, v in usd.items()},
        "usd_with_authorizer_answer_cached": round(total - authorizer_usd, 4),
        "per_move": {
            "lambda_invocations": invocations,
            "lambda_billed_ms": billed,
            "lambda_memory_mb": {f: template.memory_mb(f) for f in billed},
            "dynamodb": units.as_json(),
            "stream_records": records,
            "events": events_per_move,
            "sqs_requests": sqs_requests,
        },
        "measured": {
            "warm_cpu_ms_here": {f: round(durations.median(f), 2) for f in compute},
            "timed_invocations": {f: len(ms) for f, ms in durations.cpu_ms.items()},
            "lambda_compute_ms": {f: round(ms, 1) for f, ms in compute.items()},
        },
        "assumed": {
            "call_latency_ms": assume["call_latency_ms"],
            "cpu": f"a full vCPU at {assume['lambda_full_vcpu_memory_mb']} MB, proportionally less below, "
            "each as fast as a core of this machine; the tracer's work left out",
            "authorizer_runs_per_request": authorizer_runs,
            "prices": f"{table['region']} list prices as of {table['as_of']} (bench/prices.json)",
        },
    }
    return Measured(total, detail)


def _warm_ms(run: Run, function: str) -> Measured:
    durations = run.shared(warm_durations)
    return Measured(durations.median(function), {"invocations": len(durations.cpu_ms[function])})


@figure("cost.warm_cpu_ms.api", unit="ms")
def warm_api(run: Run) -> Measured:
    """CPU of a warm API invocation (a stage move) on this machine, moto's share left out (median)."""
    return _warm_ms(run, "api")


@figure("cost.warm_cpu_ms.authorizer", unit="ms")
def warm_authorizer(run: Run) -> Measured:
    """CPU of a warm authorizer invocation on this machine, moto's share left out (median)."""
    return _warm_ms(run, "authorizer")


@figure("cost.warm_cpu_ms.fanout", unit="ms")
def warm_fanout(run: Run) -> Measured:
    """CPU of a warm fan-out invocation (10 item records) on this machine, moto's share left out."""
    return _warm_ms(run, "fanout")
