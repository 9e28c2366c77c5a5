"""The trigger journal in the items table: why each trigger event moved an item or did not, and the
record that the event was applied, written in the same transaction as the move.

Each decision is kept in up to two partitions, so that each list the API offers is one Query of its
own partition, whatever else the tenant does: on the item (``JOURNAL#`` records in the item's
partition, every decision on it), and either on its pipeline (``{tenant}#JOURNAL#{pipeline}``, the
decisions that evaluated the pipeline's triggers; the rule and outcome filters read only these) or
on the tenant (``{tenant}#JOURNAL``: events that reached no item, or an item whose pipeline has no
trigger of the event's type). One tenant partition with the pipeline as an attribute would make a
pipeline's list read every pipeline's entries and put all of a tenant's journal writes on one
partition.

Where an event was applied is a once-record per (event, item) in the event's partition
(``crm.adapters.items.once_pk``), or one ``NO_ITEM`` record; it keeps the answer the first delivery
got, so that a redelivery is one refused write and answers the same; an ``ALONG`` marker there says
that a source's own records were written with the event (``crm.adapters.along``). Entries and
once-records expire after ``JOURNAL_KEPT_DAYS`` (90 by default), by the table's TTL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.expressions.condition import Condition

from crm.adapters.along import MARKER_SK, Actions, Along, Companions, PerItem, Write, transact
from crm.adapters.automation import META
from crm.adapters.items import (
    ITEM_SK,
    MAX_PAGE,
    decode_cursor,
    encode_cursor,
    item_pk,
    once_pk,
    pipeline_pk,
    timeline_record,
    to_record,
)
from crm.adapters.readable import readable
from crm.adapters.tables import ItemRecord, JournalRecord, OnceRecord, PipelineRecord
from crm.domain.errors import AlreadyRecorded, StaleWrite
from crm.domain.model import Item, TimelineEntry
from crm.domain.trigger_events import TriggerEvent
from crm.domain.triggering import Decision

KEPT = timedelta(days=int(os.environ.get("JOURNAL_KEPT_DAYS") or 90))
ITEM_PREFIX = "JOURNAL#"
NO_ITEM = "NO_ITEM"
# Above every character an ISO 8601 time holds: the upper end of a "since" range.
_AFTER_ALL = "~"


def event_source(event: TriggerEvent) -> str:
    """The once-records' partition of one event: its source and the hash of its id there."""
    return f"event:{event.source}:{hashlib.sha256(event.event_id.encode()).hexdigest()}"


def _time(at: datetime) -> str:
    """Sort keys in UTC, so that they sort by time; a time without a zone is taken as UTC."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _records(tenant_id: str, decision: Decision, entry_id: str, note: str | None) -> list[JournalRecord]:
    """The entry on the item (if any) and on its pipeline or the tenant."""
    entry = {"id": entry_id, **decision.to_dict(), "note": note}
    expires_at = int((decision.at + KEPT).timestamp())
    common = {
        "kind": "journal",
        "tenant_id": tenant_id,
        "at": decision.at.isoformat(),
        "entry": entry,
        "source": decision.event.source,
        "outcome": decision.outcome.value,
        "rule_ids": [v.rule_id for v in decision.verdicts],
        "expires_at": expires_at,
    }
    sk = f"{_time(decision.at)}#{entry_id}"
    records = []
    if decision.item is not None:
        pk = item_pk(tenant_id, decision.item.type, decision.item.id)
        records.append(JournalRecord(pk=pk, sk=ITEM_PREFIX + sk, **common))
    if decision.verdicts:
        shared = pipeline_journal_pk(tenant_id, str(decision.pipeline_id))
    else:
        shared = tenant_pk(tenant_id)
    records.append(JournalRecord(pk=shared, sk=sk, **common))
    return records


def tenant_pk(tenant_id: str) -> str:
    return f"{tenant_id}#JOURNAL"


def pipeline_journal_pk(tenant_id: str, pipeline_id: str) -> str:
    return f"{tenant_id}#JOURNAL#{pipeline_id}"


def _once(
    tenant_id: str, event: TriggerEvent, sk: str, answer: Mapping[str, Any], at: datetime
) -> OnceRecord:
    return OnceRecord(
        pk=once_pk(tenant_id, event_source(event)),
        sk=sk,
        kind="once",
        tenant_id=tenant_id,
        answer=dict(answer),
        expires_at=int((at + KEPT).timestamp()),
    )


def _not_done() -> Condition:
    return OnceRecord.pk.does_not_exist()


# ---------------------------------------------------------------- writes


def along(
    event: TriggerEvent, writes: Sequence[Write], at: datetime, per_item: PerItem | None = None
) -> Companions:
    """``writes`` (a source's records) to go with the first write for ``event``, with their marker in
    the event's partition, and ``per_item``'s records on the items the event concerns."""
    if not writes:
        return Companions(None, per_item)
    marker = OnceRecord(
        pk=once_pk(event.tenant_id, event_source(event)),
        sk=MARKER_SK,
        kind="once",
        tenant_id=event.tenant_id,
        expires_at=int((at + KEPT).timestamp()),
    )
    return Companions(Along(marker, tuple(writes)), per_item)


def _check_pipelines(actions: Actions, tenant_id: str, versions: Mapping[str, int]) -> None:
    for pipeline_id, version in versions.items():
        actions.check(
            PipelineRecord, pipeline_pk(tenant_id, pipeline_id), META, PipelineRecord.version == version
        )


def record_decision(
    tenant_id: str,
    decision: Decision,
    entry_id: str,
    item: Item,
    answer: Mapping[str, Any],
    moved: tuple[Item, TimelineEntry] | None,
    unchanged: Mapping[str, int],
    companions: Companions | None = None,
) -> None:
    """In one transaction: the event's once-record for ``item`` (with ``answer``), the journal
    entries, ``companions`` (a source's records, see ``crm.adapters.along``) and, when the decision
    moves the item, the item (``moved``: after, and its timeline entry). It holds only if the item
    is still at the version decided on, and the decision's pipeline and those of ``unchanged`` (id:
    version) at theirs: StaleWrite otherwise; AlreadyRecorded if the event was applied to the item
    before; a companion's own refusal when its condition fails. Nothing is written then."""
    assert decision.item is not None and decision.pipeline_id is not None
    ref = decision.item
    checked = {decision.pipeline_id: decision.pipeline_version, **unchanged}
    done = AlreadyRecorded(f"event {decision.event.event_id} was applied to {ref} already")

    def add(actions: Actions) -> None:
        _check_pipelines(actions, tenant_id, checked)
        if moved is None:
            key = (item_pk(tenant_id, ref.type, ref.id), ITEM_SK)
            actions.check(ItemRecord, *key, ItemRecord.version == item.version)
        once = _once(tenant_id, decision.event, f"{ref.type}#{ref.id}", answer, decision.at)
        # The once-record before any other put or update: a redelivery is answered as one, even
        # when a companion's condition (a rate's limit) fails too.
        actions.put(once, _not_done(), done)
        if moved is not None:
            after, entry = moved
            actions.put(to_record(tenant_id, after), ItemRecord.version == item.version)
            actions.put(timeline_record(tenant_id, after, entry))
        for record in _records(tenant_id, decision, entry_id, None):
            actions.put(record)

    transact(add, companions, StaleWrite(f"{ref} or its pipeline changed meanwhile"), (ref.type, ref.id))


def record_unapplied(
    tenant_id: str,
    decision: Decision,
    entry_id: str,
    answer: Mapping[str, Any],
    note: str,
    unchanged: Mapping[str, int],
    companions: Companions | None = None,
) -> None:
    """The tenant-level entry of an event that reached no item, with its once-record and
    ``companions``, if the pipelines of ``unchanged`` (id: version; passed over as having no trigger
    of the event's type) are still at those versions (StaleWrite otherwise). AlreadyRecorded (and
    nothing written) if the event was recorded so before; a companion's own refusal when its
    condition fails."""
    done = AlreadyRecorded(f"event {decision.event.event_id} was recorded already")

    def add(actions: Actions) -> None:
        _check_pipelines(actions, tenant_id, unchanged)
        actions.put(_once(tenant_id, decision.event, NO_ITEM, answer, decision.at), _not_done(), done)
        for record in _records(tenant_id, decision, entry_id, note):
            actions.put(record)

    transact(add, companions, StaleWrite("a pipeline changed meanwhile"))


# ---------------------------------------------------------------- reads


def answers(tenant_id: str, event: TriggerEvent) -> dict[str, dict[str, Any]]:
    """What each earlier delivery of ``event`` answered, by where it was applied (``{type}#{id}``,
    or ``NO_ITEM``): one Query of the event's once-records."""
    records = OnceRecord.query(once_pk(tenant_id, event_source(event)), consistent_read=True)
    return {record.sk: record.answer for record in records if record.answer is not None}


def _page(
    pk: str,
    prefix: str,
    since: datetime | None,
    condition: Condition | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, from ``since`` on; ``condition`` filters (a page may then hold fewer entries
    than ``limit`` and still have a cursor)."""
    start, end = prefix + (_time(since) if since is not None else ""), prefix + _AFTER_ALL
    results = JournalRecord.query(
        pk,
        JournalRecord.sk.between(start, end) if start else JournalRecord.sk < end,
        filter_condition=condition,
        scan_index_forward=False,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, {"pk": pk}, {"sk": prefix}),
    )
    entries = readable(results, lambda record: dict(record.entry), "journal entry")
    return entries, encode_cursor(results.last_evaluated_key)


def item_journal(
    tenant_id: str, item: Item, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return _page(item_pk(tenant_id, item.type, item.id), ITEM_PREFIX, None, None, limit, cursor)


def pipeline_journal(
    tenant_id: str,
    pipeline_id: str,
    rule_id: str | None,
    outcome: str | None,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    filters = []
    if rule_id is not None:
        filters.append(JournalRecord.rule_ids.contains(rule_id))
    if outcome is not None:
        filters.append(JournalRecord.outcome == outcome)
    condition = filters[0] & filters[1] if len(filters) == 2 else next(iter(filters), None)
    return _page(pipeline_journal_pk(tenant_id, pipeline_id), "", since, condition, limit, cursor)


def tenant_journal(
    tenant_id: str, source: str | None, since: datetime | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    condition = None if source is None else JournalRecord.source == source
    return _page(tenant_pk(tenant_id), "", since, condition, limit, cursor)


def run_records(tenant_id: str, entry: Mapping[str, Any], at: datetime) -> list[JournalRecord]:
    """A robot run's journal entry (``crm.service.robots``: what ran, with which inputs, outputs,
    error, attempt and duration) on its item and on its pipeline, where the rule filter finds it."""
    common = {
        "kind": "journal",
        "tenant_id": tenant_id,
        "at": at.isoformat(),
        "entry": dict(entry),
        "source": "robot",
        "outcome": entry["state"],
        "rule_ids": [entry["robot_id"]],
        "expires_at": int((at + KEPT).timestamp()),
    }
    sk = f"{_time(at)}#{entry['id']}"
    return [
        JournalRecord(pk=item_pk(tenant_id, *entry["item"].split("/", 1)), sk=ITEM_PREFIX + sk, **common),
        JournalRecord(pk=pipeline_journal_pk(tenant_id, entry["pipeline_id"]), sk=sk, **common),
    ]
