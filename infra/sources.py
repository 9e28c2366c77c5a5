"""Event source mappings: the DynamoDB stream and SQS queues polled and handed to their functions
with Lambda's event shapes and its batch, retry and partial-failure rules (moto emulates none of
this: it stores the records and messages, the pollers here deliver them).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

from infra import attributes
from infra.functions import Function, FunctionError

log = logging.getLogger("infra.sources")


class Worker(threading.Thread, ABC):
    """A loop that polls until the runtime stops; an unexpected error is logged, not fatal."""

    def __init__(self, name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll()
            except Exception:
                if self.stop.is_set():
                    return  # moto is going away under us
                log.exception("%s: poll failed", self.name)
                self.stop.wait(1)

    @abstractmethod
    def poll(self) -> None:
        """One round of work; returns when there is nothing more to do for now."""


class Deliveries:
    """The last messages of each queue handed to a function (``GET /_local/queues/{name}``), so a
    message stays observable after its consumer has deleted it."""

    def __init__(self, keep: int = 100) -> None:
        self._lock = threading.Lock()
        self._bodies: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=keep))

    def add(self, queue: str, bodies: list[str]) -> None:
        with self._lock:
            self._bodies[queue].extend(bodies)

    def of(self, queue: str) -> list[str]:
        with self._lock:
            return list(self._bodies.get(queue, ()))


def queue_name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]


# ---------------------------------------------------------------- DynamoDB stream


class StreamEventSource(Worker):
    """One DynamoDB stream event source of a function (SAM ``Type: DynamoDB``)."""

    def __init__(
        self,
        function: Function,
        props: dict[str, Any],
        clients: dict[str, Any],
        region: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(f"stream->{function.name}", stop)
        self.function = function
        self.region = region
        self.streams = clients["dynamodbstreams"]
        self.sqs = clients["sqs"]
        self.sns = clients["sns"]
        self.stream_arn: str = props["Stream"]
        self.batch_size = int(props.get("BatchSize", 100))
        self.window = float(props.get("MaximumBatchingWindowInSeconds", 0))
        self.bisect = bool(props.get("BisectBatchOnFunctionError", False))
        # -1 (the default) retries until the record expires from the stream, i.e. for ever here.
        self.max_retries = int(props.get("MaximumRetryAttempts", -1))
        self.report_failures = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        self.on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        self.shard_id = shard["ShardId"]
        # LATEST whatever StartingPosition says: when the mapping starts, the stream holds either
        # nothing (fresh start) or the writes that restored persisted state, which are not news.
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=self.shard_id, ShardIteratorType="LATEST"
        )["ShardIterator"]

    def poll(self) -> None:
        records = self._read()
        if not records:
            self.stop.wait(0.2)
            return
        log.info("%s <- %d stream record(s)", self.function.name, len(records))
        self._deliver(records, attempt=0)

    def _read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        window_ends = time.monotonic() + self.window
        while len(records) < self.batch_size:
            page = self.streams.get_records(ShardIterator=self.iterator, Limit=self.batch_size - len(records))
            self.iterator = page["NextShardIterator"]
            records += [self._lambda_record(record) for record in page["Records"]]
            # Lambda waits up to the batching window for a fuller batch once records are there.
            if not records or time.monotonic() >= window_ends or self.stop.is_set():
                break
            if not page["Records"]:
                self.stop.wait(0.1)
        return records

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        change["ApproximateCreationDateTime"] = int(change["ApproximateCreationDateTime"].timestamp())
        for image in ("Keys", "NewImage", "OldImage"):
            if image in change:
                change[image] = attributes.to_json(change[image])
        return {**record, "awsRegion": self.region, "dynamodb": change, "eventSourceARN": self.stream_arn}

    def _deliver(self, batch: list[dict[str, Any]], attempt: int) -> None:
        """Retry the batch until it succeeds or is given up; a function error splits it in two
        (BisectBatchOnFunctionError), a partial failure resumes from the first failed record."""
        while batch and not self.stop.is_set():
            failed_at, error = self._invoke(batch)
            if failed_at is None:
                return
            if error is not None and self.bisect and len(batch) > 1:
                # Splitting does not use up a retry: it isolates the record that fails.
                half = len(batch) // 2
                self._deliver(batch[:half], attempt)
                self._deliver(batch[half:], attempt)
                return
            attempt += 1
            if 0 <= self.max_retries < attempt:
                self._give_up(batch[failed_at:], attempt)
                return
            batch = batch[failed_at:]
            self.stop.wait(min(2.0, 0.1 * 2**attempt))

    def _invoke(self, batch: list[dict[str, Any]]) -> tuple[int | None, FunctionError | None]:
        """(index of the first record to retry from, the error) or (None, None) for success."""
        try:
            result = self.function.invoke({"Records": batch})
        except FunctionError as error:
            log.error(
                "%s failed on %d stream record(s): %s\n%s", self.function.name, len(batch), error, error.trace
            )
            return 0, error
        if not self.report_failures or not isinstance(result, dict) or not result.get("batchItemFailures"):
            return None, None
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        failed = [failure.get("itemIdentifier") for failure in result["batchItemFailures"]]
        if any(identifier not in sequence_numbers for identifier in failed):
            log.error(
                "%s reported unknown itemIdentifier(s) %s: retrying the whole batch",
                self.function.name,
                failed,
            )
            return 0, None
        first = min(sequence_numbers.index(identifier) for identifier in failed)
        log.warning("%s reported a failure at record %s: retrying from there", self.function.name, failed)
        return first, None

    def _give_up(self, records: list[dict[str, Any]], attempts: int) -> None:
        log.error(
            "%s: %d stream record(s) from %s given up after %d attempt(s)",
            self.function.name,
            len(records),
            records[0]["dynamodb"]["SequenceNumber"],
            attempts,
        )
        if self.on_failure is None:
            return
        # What Lambda sends to an on-failure destination of a stream: a pointer, not the records.
        pointer = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(
                    records[0]["dynamodb"]["ApproximateCreationDateTime"]
                ),
                "approximateArrivalOfLastRecord": _iso(
                    records[-1]["dynamodb"]["ApproximateCreationDateTime"]
                ),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        body = json.dumps(pointer)
        if ":sqs:" in self.on_failure:
            url = self.sqs.get_queue_url(QueueName=queue_name(self.on_failure))["QueueUrl"]
            self.sqs.send_message(QueueUrl=url, MessageBody=body)
        else:
            self.sns.publish(TopicArn=self.on_failure, Message=body)


def _iso(epoch_seconds: int) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


# ---------------------------------------------------------------- SQS


class QueueReader:
    """Receives up to a batch from one queue (several ReceiveMessage calls for batches over 10)."""

    def __init__(self, sqs: Any, arn: str, batch_size: int, window: float) -> None:
        self.sqs = sqs
        self.arn = arn
        self.name = queue_name(arn)
        self.url = sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        self.batch_size = batch_size
        self.window = window

    def receive(self, stop: threading.Event) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        window_ends = time.monotonic() + self.window
        while len(messages) < self.batch_size and not stop.is_set():
            page = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                # Short long-polls, so a stop is noticed within a second.
                WaitTimeSeconds=0 if messages else 1,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += page
            if not page and (messages or time.monotonic() >= window_ends):
                break
            if messages and time.monotonic() >= window_ends:
                break
        return messages

    def delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(messages[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)


class SqsEventSource(Worker):
    """One SQS event source of a function (SAM ``Type: SQS``). A failed batch is not deleted: its
    messages come back after the visibility timeout, and moto moves them to the dead-letter queue
    once they were received maxReceiveCount times."""

    def __init__(
        self,
        function: Function,
        props: dict[str, Any],
        sqs: Any,
        region: str,
        deliveries: Deliveries,
        stop: threading.Event,
    ) -> None:
        super().__init__(f"sqs->{function.name}", stop)
        self.function = function
        self.region = region
        self.deliveries = deliveries
        self.reader = QueueReader(
            sqs,
            props["Queue"],
            int(props.get("BatchSize", 10)),
            float(props.get("MaximumBatchingWindowInSeconds", 0)),
        )
        self.report_failures = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])

    def poll(self) -> None:
        messages = self.reader.receive(self.stop)
        if not messages:
            return
        self.deliveries.add(self.reader.name, [message["Body"] for message in messages])
        log.info("%s <- %d message(s) from %s", self.function.name, len(messages), self.reader.name)
        try:
            result = self.function.invoke({"Records": [self._record(message) for message in messages]})
        except FunctionError as error:
            log.error("%s failed on %s: %s\n%s", self.function.name, self.reader.name, error, error.trace)
            return
        failed: set[str] = set()
        if self.report_failures and isinstance(result, dict):
            failed = {failure.get("itemIdentifier") for failure in result.get("batchItemFailures") or []}
            known = {message["MessageId"] for message in messages}
            if not failed <= known:
                log.error("%s reported unknown itemIdentifier(s): the whole batch fails", self.function.name)
                return
            if failed:
                log.warning(
                    "%s: %d message(s) failed, they return after the visibility timeout",
                    self.function.name,
                    len(failed),
                )
        self.reader.delete([message for message in messages if message["MessageId"] not in failed])

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": base64.b64encode(value["BinaryValue"]).decode()
                    if "BinaryValue" in value
                    else None,
                    "stringListValues": value.get("StringListValues", []),
                    "binaryListValues": [
                        base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
                    ],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.reader.arn,
            "awsRegion": self.region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record
