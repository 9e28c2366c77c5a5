"""Embedded AWS: moto in server mode on loopback, and the template's resources created in it.

The handlers run in this process and reach moto through ``AWS_ENDPOINT_URL``, like any boto3 or
pynamodb client would reach a real endpoint. The runtime's own pollers use the same endpoint.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from werkzeug.serving import WSGIRequestHandler

from infra.template import Stack, create_tables

log = logging.getLogger("infra.aws")

# The queue attributes CloudFormation passes through to CreateQueue (values become strings).
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


class Moto:
    """moto's server in a thread of this process, bound to 127.0.0.1."""

    def __init__(self, port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        # Werkzeug logs every request moto serves; the pollers alone would flood the console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto's server writes an answer's head and body apart: without TCP_NODELAY the body waits for
        # the client's delayed ACK (about 1.5 ms per call on loopback). Its handler takes no option.
        WSGIRequestHandler.disable_nagle_algorithm = True
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        if self.endpoint:
            self._server.stop()


def point_sdk_at(endpoint: str, region: str) -> None:
    """Make every boto3/botocore client in this process (ours, the handlers', pynamodb's) use moto
    with fake credentials. A real profile or service-specific endpoint must not leak in."""
    for key in list(os.environ):
        if key.startswith("AWS_ENDPOINT_URL_") or key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            del os.environ[key]
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_SESSION_TOKEN="local",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        # No X-Ray daemon listens here; powertools' Tracer would try to send segments to one.
        POWERTOOLS_TRACE_DISABLED="true",
    )


def client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def create_resources(stack: Stack, endpoint: str) -> None:
    """Create the template's tables, queues, topics, buckets, buses and SES identities in moto.

    Rules are created by ``infra.events`` (their function targets need the runtime's help)."""
    region = stack.region
    create_tables(client("dynamodb", endpoint, region), stack)
    create_queues(stack, client("sqs", endpoint, region))
    _create_topics(stack, client("sns", endpoint, region))
    s3 = client("s3", endpoint, region)
    for logical_id in stack.of_type("AWS::S3::Bucket"):
        location = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=stack.name(logical_id), **location)
    events = client("events", endpoint, region)
    for logical_id in stack.of_type("AWS::Events::EventBus"):
        events.create_event_bus(Name=stack.name(logical_id))
    _create_ses(stack, client("ses", endpoint, region))


def create_queues(stack: Stack, sqs: Any) -> None:
    for logical_id in stack.creation_order(stack.of_type("AWS::SQS::Queue")):
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        attributes = {key: _attribute(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                attributes[key] = json.dumps(props[key])
        url = sqs.create_queue(QueueName=stack.name(logical_id), Attributes=attributes)["QueueUrl"]
        stack.set_attribute(logical_id, "Ref", url)
        stack.set_attribute(logical_id, "QueueUrl", url)


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _create_topics(stack: Stack, sns: Any) -> None:
    for logical_id in stack.creation_order(stack.of_type("AWS::SNS::Topic")):
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        attributes = {"FifoTopic": "true"} if props.get("FifoTopic") else {}
        arn = sns.create_topic(Name=stack.name(logical_id), Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription", []):
            sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])


def _create_ses(stack: Stack, ses: Any) -> None:
    """Verified identities: moto refuses to send from an unverified one. (Receipt rules are not
    created: moto would want their functions to exist in its own Lambda; the SMTP listener reads
    them from the template.)"""
    for logical_id in stack.of_type("AWS::SES::EmailIdentity"):
        identity = stack.resolve(stack.resources[logical_id]["Properties"]["EmailIdentity"])
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
