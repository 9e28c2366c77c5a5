"""The run queue (SQS): runs handed to the runner, and the dead-letter queue that keeps the runs
that failed every attempt for an operator. A message is a run's JSON form; SendMessageBatch in tens."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from crm.adapters.clients import client
from crm.domain.robots import Run

BATCH = 10  # SendMessageBatch takes at most ten messages


class SqsRunQueue:
    def __init__(self, queue_url: str | None = None, dead_letter_url: str | None = None) -> None:
        self.queue_url = queue_url or os.environ["ROBOT_RUNS_QUEUE_URL"]
        self.dead_letter_url = dead_letter_url or os.environ["ROBOT_RUNS_DLQ_URL"]

    def send(self, runs: Sequence[Run]) -> None:
        for start in range(0, len(runs), BATCH):
            batch = runs[start : start + BATCH]
            entries = [{"Id": str(n), "MessageBody": _body(run)} for n, run in enumerate(batch)]
            answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if failed := answer.get("Failed"):
                # Not sent: raised, so the caller's delivery is retried (the runner runs each run once).
                raise RuntimeError(f"{len(failed)} robot runs were not queued: {failed[0].get('Message')}")

    def dead_letter(self, run: Run, reason: str) -> None:
        client("sqs").send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=_body(run),
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000] or "failed"}},
        )


def _body(run: Run) -> str:
    return json.dumps(run.to_dict(), separators=(",", ":"))
