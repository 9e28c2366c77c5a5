"""Publishing to the project's bus: PutEvents in batches of ten, failed entries retried."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence

from crm.adapters.clients import client
from crm.domain.events import SOURCE, ItemEvent

BATCH = 10  # PutEvents takes at most ten entries
ATTEMPTS = 3


def publish(events: Sequence[ItemEvent], bus_name: str | None = None) -> list[int]:
    """Publishes every event; returns the positions of those that still failed after the retries."""
    bus = bus_name or os.environ["EVENT_BUS_NAME"]
    entries = [
        {"Source": SOURCE, "DetailType": e.detail_type, "Detail": json.dumps(e.detail), "EventBusName": bus}
        for e in events
    ]
    failed: list[int] = []
    for start in range(0, len(entries), BATCH):
        pending = list(range(start, min(start + BATCH, len(entries))))
        for attempt in range(ATTEMPTS):
            result = client("events").put_events(Entries=[entries[i] for i in pending])
            if not result.get("FailedEntryCount"):
                pending = []
                break
            # Entries answer in request order; the failed ones carry an ErrorCode.
            pending = [
                i for i, answer in zip(pending, result["Entries"], strict=True) if answer.get("ErrorCode")
            ]
            time.sleep(0.1 * 2**attempt)
        failed.extend(pending)
    return failed
