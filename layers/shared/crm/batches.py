"""SQS batches as the queue-fed functions consume them: each message handled on its own, and those
that fail reported (``ReportBatchItemFailures``), so that SQS delivers only them again and, after the
queue's receive count, keeps them in its dead-letter queue (which alarms).

The batch is read as plain dicts: powertools' batch utility imports every one of its event classes,
a cold-start cost these functions do not need."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm.domain.errors import Invalid


def each(
    records: Sequence[Mapping[str, Any]],
    handle: Callable[[str], Any],
    logger: Any,
    what: str,
    later: tuple[type[Exception], ...] = (),
) -> dict[str, list[dict[str, str]]]:
    """``handle(body)`` for every message; the failed ones reported. ``later``: errors that only
    mean "not now" (another worker holds it), logged without alarm and delivered again."""
    failed = []
    for record in records:
        message_id = record.get("messageId", "")
        try:
            handle(record.get("body"))
        except Invalid as error:
            logger.error(
                f"not {what} the CRM can handle", extra={"message_id": message_id, "error": str(error)}
            )
            failed.append(message_id)
        except later as error:
            logger.info(
                f"{what} delivered again later", extra={"message_id": message_id, "reason": str(error)}
            )
            failed.append(message_id)
        except Exception:
            logger.exception(f"{what} not handled; SQS delivers it again", extra={"message_id": message_id})
            failed.append(message_id)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
