"""Items stream -> EventBridge: ItemCreated, ItemUpdated, StageChanged, ItemDeleted.

Records of the items table that are not items (timeline, contact index, counters) are skipped. If
an event cannot be published after its retries, the batch reports its record as the first failure,
so Lambda retries from there (bisecting, then sending the rest to the on-failure destination)."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.adapters.eventbridge import publish
from crm.adapters.items import from_record
from crm.adapters.tables import ItemRecord
from crm.domain.events import item_events

# No powertools Tracer: with the template's active tracing Lambda records this function's segments
# itself, and the X-Ray SDK the Tracer imports would cost every cold start (docs/performance.md).
logger = Logger()
metrics = Metrics()


def _item(image: dict | None):
    if not image or image.get("kind", {}).get("S") != "item":
        return None
    return from_record(ItemRecord.from_raw_data(image))


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    events, owners = [], []
    for record in event["Records"]:
        change = record["dynamodb"]
        image = change.get("NewImage") or change.get("OldImage") or {}
        before, after = _item(change.get("OldImage")), _item(change.get("NewImage"))
        if before is None and after is None:
            continue
        for item_event in item_events(image["tenant_id"]["S"], before, after, record["eventID"]):
            events.append(item_event)
            owners.append(change["SequenceNumber"])
    failed = publish(events) if events else []
    metrics.add_metric("ItemEventsPublished", MetricUnit.Count, len(events) - len(failed))
    if failed:
        first = owners[min(failed)]
        logger.error("events not published", extra={"failed": len(failed), "first_sequence_number": first})
        return {"batchItemFailures": [{"itemIdentifier": first}]}
    return {"batchItemFailures": []}
