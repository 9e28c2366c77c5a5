"""The robot planner's queue (StageChangedQueue) for what the CRM asks of the planner itself, beside
the bus's events: a robot backfill's pages (``crm.service.robots.backfill``). A message is JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from crm.adapters.clients import client


class SqsPlannerQueue:
    def __init__(self, queue_url: str | None = None) -> None:
        self.queue_url = queue_url or os.environ["STAGE_CHANGED_QUEUE_URL"]

    def send(self, message: Mapping[str, Any]) -> None:
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(message))


@cache
def planner_queue() -> SqsPlannerQueue:
    """The deployed queue (the function's STAGE_CHANGED_QUEUE_URL), made on first use."""
    return SqsPlannerQueue()
