"""Logged activities: a timeline entry, and with an Idempotency-Key its once-record keeping the
answer (the items table's ``{tenant}#ONCE#activity:{hash of the key}`` / ``ANSWER``, expiring as
item creates' do), written in one transaction."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters.items import ANSWER_SK, Once, once_pk, timeline_record
from crm.adapters.tables import OnceRecord, connection
from crm.adapters.transactions import refusal
from crm.domain.errors import AlreadyRecorded
from crm.domain.model import Item, TimelineEntry


def record(
    tenant_id: str, item: Item, entry: TimelineEntry, once: Once | None, answer: dict[str, Any]
) -> None:
    """The entry on the item's timeline; with ``once``, its answer record too: AlreadyRecorded if
    the key was used already (and has not expired), and nothing is written then."""
    try:
        with TransactWrite(connection=connection()) as transaction:
            if once is not None:
                not_done = OnceRecord.pk.does_not_exist() | (OnceRecord.expires_at < int(once.at.timestamp()))
                answer_record = OnceRecord(
                    pk=once_pk(tenant_id, once.source),
                    sk=ANSWER_SK,
                    kind="once",
                    tenant_id=tenant_id,
                    request_hash=once.request_hash,
                    answer=answer,
                    expires_at=int((once.at + once.kept).timestamp()),
                )
                transaction.save(answer_record, condition=not_done)
            transaction.save(timeline_record(tenant_id, item, entry))
    except TransactWriteError as error:
        raise refusal(
            error, {0: AlreadyRecorded(f"{once.source if once else entry.id} was done already")}
        ) from None


def done_once(tenant_id: str, source: str) -> tuple[str, dict[str, Any]] | None:
    """The hash of the request done once as ``source`` and its answer; None if gone (expired)."""
    try:
        found = OnceRecord.get(once_pk(tenant_id, source), ANSWER_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return found.request_hash, found.answer
