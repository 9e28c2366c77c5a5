"""SES inbound mail: the receipt rule stores the raw message in S3, then invokes this function.

The recipient address names the tenant (``{tenant}+{token}@{domain}``, token checked); the raw
message is read from S3 and recorded on the timeline of the sender's items, once per message id."""

import os
from datetime import datetime

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SESEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.domain.mail import parse_inbound
from crm.service.mail import record_inbound, tenant_of

if (BUCKET := os.environ.get("INBOUND_BUCKET")) is None:
    raise OSError("INBOUND_BUCKET is not set")
PREFIX = os.environ.get("INBOUND_PREFIX", "")
DOMAIN = os.environ.get("INBOUND_DOMAIN", "")

logger = Logger()
tracer = Tracer()
metrics = Metrics()
s3 = boto3.client("s3")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=SESEvent)
def lambda_handler(event: SESEvent, context: LambdaContext) -> dict:
    mail, receipt = event.record.ses.mail, event.record.ses.receipt
    key = f"{PREFIX}{mail.message_id}"
    if receipt.virus_verdict.status == "FAIL" or receipt.spam_verdict.status == "FAIL":
        logger.warning("mail refused by SES verdicts", extra={"message_id": mail.message_id})
        return {"recorded": 0}
    tenants = {t for r in receipt.recipients if (t := tenant_of(r, DOMAIN))}
    if not tenants:
        # Not addressed to a tenant's inbound address: the message stays in S3, nothing else happens.
        logger.warning("mail for no known tenant", extra={"recipients": receipt.recipients})
        return {"recorded": 0}
    raw = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    parsed = parse_inbound(raw, fallback_id=mail.message_id, envelope_sender=mail.source)
    received_at = datetime.fromisoformat(mail.timestamp.replace("Z", "+00:00"))
    recorded = sum(len(record_inbound(t, parsed, received_at, f"s3://{BUCKET}/{key}")) for t in tenants)
    metrics.add_metric("InboundMailRecorded", MetricUnit.Count, recorded)
    logger.info("inbound mail", extra={"message_id": parsed.message_id, "recorded_on": recorded})
    return {"recorded": recorded}
