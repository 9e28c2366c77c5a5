"""SES inbound mail: the receipt rule stores the raw message in S3, then invokes this function.

The handler reads SES's receipt event into a delivery and hands it to ``crm.service.mail.receive``
(which tenants, whether the sender is authenticated, once per message id, the *incoming email*
trigger event). A write that fails raises: Lambda retries the event and the function's DLQ keeps
what still fails.

The event is read as a plain dict (SES invokes with one record): powertools' data_classes package
imports every event class, a tenth of an `import boto3` on every cold start, for five fields."""

import os
from datetime import datetime

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.domain.mail import Delivery, Verdicts
from crm.service.mail import receive

if (BUCKET := os.environ.get("INBOUND_BUCKET")) is None:
    raise OSError("INBOUND_BUCKET is not set")
PREFIX = os.environ.get("INBOUND_PREFIX", "")
DOMAIN = os.environ.get("INBOUND_DOMAIN", "")

# No powertools Tracer: with the template's active tracing Lambda records this function's segments
# itself, and the X-Ray SDK the Tracer imports would cost every cold start (docs/performance.md).
logger = Logger()
metrics = Metrics()


def delivery_of(event: dict) -> Delivery:
    ses = event["Records"][0]["ses"]
    mail, receipt = ses["mail"], ses["receipt"]
    return Delivery(
        ses_message_id=mail["messageId"],
        envelope_sender=mail["source"],
        recipients=tuple(receipt["recipients"]),
        received_at=datetime.fromisoformat(mail["timestamp"]),
        verdicts=Verdicts(
            spf=receipt["spfVerdict"]["status"],
            dkim=receipt["dkimVerdict"]["status"],
            dmarc=receipt["dmarcVerdict"]["status"],
            spam=receipt["spamVerdict"]["status"],
            virus=receipt["virusVerdict"]["status"],
        ),
        bucket=BUCKET,
        key=f"{PREFIX}{mail['messageId']}",
    )


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    delivery = delivery_of(event)
    received = receive(delivery, DOMAIN)
    metrics.add_metric("InboundMailRecorded", MetricUnit.Count, received.recorded)
    metrics.add_metric("InboundMailUnverified", MetricUnit.Count, received.unverified)
    metrics.add_metric("InboundMailMoved", MetricUnit.Count, received.moved)
    metrics.add_metric("InboundMailCreated", MetricUnit.Count, received.new_items)
    logger.info(
        "inbound mail",
        extra={"ses_message_id": delivery.ses_message_id, "verdicts": delivery.verdicts.to_dict()}
        | received.to_dict(),
    )
    return received.to_dict()
