"""Cost per million manual stage moves at AWS list prices, from the counts of the call figures.

Per move: one API Gateway REST request; the authorizer and the API function, each one invocation
billed for its compute plus the latency of the calls it made (bench/prices.json's assumptions), at
the memory size template.yaml gives it (arm64); the DynamoDB request units of those calls; the
stream records the move writes, fanned out in invocations of a fixed number of records, each event
one EventBridge custom event; each StageChanged event one SQS message (sent by the rule, received
and deleted in batches by its consumer). Stream reads by Lambda are free; CloudWatch Logs, X-Ray
traces, storage and data transfer are not counted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench import template
from bench.figures.calls import fanout_batch, stage_move
from bench.hooks import Calls
from bench.registry import Measured, Run, figure

PRICES = Path(__file__).resolve().parent.parent / "prices.json"


def _billed_ms(function: str, calls: Calls, assumptions: dict[str, Any], waited_ms: float = 0) -> int:
    latency = assumptions["call_latency_ms"]
    waited = sum(latency.get(c.name, latency["default"]) for c in calls) + waited_ms
    return math.ceil(assumptions["lambda_compute_ms"][function] + waited)


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
    """A million manual stage moves: API Gateway, Lambda, DynamoDB, EventBridge, SQS (list prices)."""
    table = json.loads(PRICES.read_text())
    price, assume = table["prices"], table["assumptions"]
    move, batch = run.shared(stage_move), run.shared(fanout_batch)
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

    billed = {
        "api": _billed_ms("api", api, assume),
        "authorizer": _billed_ms("authorizer", authorizer, assume),
        "fanout": _billed_ms("fanout", Calls(), assume, put_events_ms),
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
        "prices": f"{table['region']} list prices as of {table['as_of']} (bench/prices.json)",
    }
    return Measured(total, detail)
