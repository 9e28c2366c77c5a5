"""Items, their timeline and contact index in DynamoDB: the one place that maps ``Item`` to records.

Every write is one transaction: the item (conditional on its version, so no update is lost), the
timeline entry that records the change, the contact index records, and, for stage moves, a check
that the pipeline configuration the decision was made on is still the current one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters.tables import (
    ContactRecord,
    CounterRecord,
    ItemRecord,
    PipelineRecord,
    TimelineRecord,
    connection,
)
from crm.domain.contacts import contact_keys
from crm.domain.errors import Invalid, NotFound, StaleWrite
from crm.domain.model import Cause, Item, StageMove, TimelineEntry, TimelineKind

ITEM_SK = "ITEM"
MAX_PAGE = 100


def item_pk(tenant_id: str, item_type: str, item_id: str) -> str:
    return f"{tenant_id}#ITEM#{item_type}#{item_id}"


def contact_pk(tenant_id: str, key: str) -> str:
    return f"{tenant_id}#CONTACT#{key}"


def pipeline_pk(tenant_id: str, pipeline_id: str) -> str:
    return f"{tenant_id}#PIPELINE#{pipeline_id}"


# ---------------------------------------------------------------- mapping


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_record(tenant_id: str, item: Item) -> ItemRecord:
    move = item.last_move
    return ItemRecord(
        pk=item_pk(tenant_id, item.type, item.id),
        sk=ITEM_SK,
        kind="item",
        tenant_id=tenant_id,
        type=item.type,
        id=item.id,
        pipeline_id=item.pipeline_id,
        stage_id=item.stage_id,
        title=item.title,
        amount=item.amount,
        currency=item.currency,
        responsible_id=item.responsible_id,
        emails=list(item.emails),
        phones=list(item.phones),
        company=item.company,
        fields=dict(item.fields),
        version=item.version,
        created_at=_iso(item.created_at),
        updated_at=_iso(item.updated_at),
        stage_entered_at=_iso(item.stage_entered_at),
        last_move=None
        if move is None
        else {
            "from": move.from_stage,
            "to": move.to_stage,
            "by": move.by,
            "cause": move.cause.to_dict(),
            "at": move.at.isoformat(),
        },
        pipeline_key=f"{tenant_id}#{item.type}#{item.pipeline_id}",
        stage_key=f"{item.stage_id}#{_iso(item.created_at)}#{item.id}",
    )


def _plain(value: Any) -> Any:
    """Numbers come back from DynamoDB as floats or Decimals; give whole ones back as ints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float | int) and not isinstance(value, bool):
        return int(value) if float(value).is_integer() else float(value)
    if type(value).__name__ == "Decimal":
        return _plain(float(value))
    return value


def from_record(record: ItemRecord) -> Item:
    move = record.last_move.as_dict() if record.last_move is not None else None
    return Item(
        type=record.type,
        id=record.id,
        pipeline_id=record.pipeline_id,
        stage_id=record.stage_id,
        title=record.title,
        amount=_plain(record.amount),
        currency=record.currency,
        responsible_id=record.responsible_id,
        emails=list(record.emails or []),
        phones=list(record.phones or []),
        company=record.company,
        fields=_plain(record.fields.as_dict() if record.fields is not None else {}),
        version=int(record.version),
        created_at=datetime.fromisoformat(record.created_at),
        updated_at=datetime.fromisoformat(record.updated_at),
        stage_entered_at=datetime.fromisoformat(record.stage_entered_at) if record.stage_entered_at else None,
        last_move=None
        if move is None
        else StageMove(
            move["from"],
            move["to"],
            move["by"],
            Cause.from_dict(move["cause"]),
            datetime.fromisoformat(move["at"]),
        ),
    )


def _timeline_record(tenant_id: str, item: Item, entry: TimelineEntry) -> TimelineRecord:
    return TimelineRecord(
        pk=item_pk(tenant_id, item.type, item.id),
        sk=f"TL#{entry.at.isoformat()}#{entry.id}",
        kind="timeline",
        tenant_id=tenant_id,
        entry_kind=entry.kind.value,
        at=entry.at.isoformat(),
        by=entry.by,
        data=entry.data,
    )


def _entry(record: TimelineRecord) -> TimelineEntry:
    return TimelineEntry(
        id=record.sk.rsplit("#", 1)[1],
        kind=TimelineKind(record.entry_kind),
        at=datetime.fromisoformat(record.at),
        by=record.by,
        data=record.data,
    )


def _contact_records(tenant_id: str, item: Item, keys: Iterable[str]) -> list[ContactRecord]:
    return [
        ContactRecord(
            pk=contact_pk(tenant_id, key),
            sk=f"{item.type}#{item.id}",
            kind="contact",
            tenant_id=tenant_id,
            item_type=item.type,
            item_id=item.id,
        )
        for key in sorted(keys)
    ]


# ---------------------------------------------------------------- cursors


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, tenant_id: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        # A cursor is a DynamoDB key: refuse one that points into another tenant's partition.
        if not all(v["S"].startswith(f"{tenant_id}#") for k, v in key.items() if k in ("pk", "pipeline_key")):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Invalid("cursor is not one this API returned") from None
    return key


# ---------------------------------------------------------------- reads


def get(tenant_id: str, item_type: str, item_id: str) -> Item:
    try:
        return from_record(
            ItemRecord.get(item_pk(tenant_id, item_type, item_id), ITEM_SK, consistent_read=True)
        )
    except DoesNotExist:
        raise NotFound(f"{item_type} {item_id} does not exist") from None


def list_in_pipeline(
    tenant_id: str, item_type: str, pipeline_id: str, stage_id: str | None, limit: int, cursor: str | None
) -> tuple[list[Item], str | None]:
    condition = ItemRecord.stage_key.startswith(f"{stage_id}#") if stage_id else None
    results = ItemRecord.by_pipeline.query(
        f"{tenant_id}#{item_type}#{pipeline_id}",
        range_key_condition=condition,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, tenant_id),
    )
    items = [from_record(r) for r in results]
    return items, encode_cursor(results.last_evaluated_key)


def stage_has_items(tenant_id: str, item_type: str, pipeline_id: str, stage_id: str | None = None) -> bool:
    items, _ = list_in_pipeline(tenant_id, item_type, pipeline_id, stage_id, 1, None)
    return bool(items)


def find_by_contact(tenant_id: str, key: str) -> list[Item]:
    """The tenant's items for one contact key: one query on the contact index, one batch read."""
    refs = [(r.item_type, r.item_id) for r in ContactRecord.query(contact_pk(tenant_id, key))]
    if not refs:
        return []
    keys = [(item_pk(tenant_id, t, i), ITEM_SK) for t, i in refs]
    items = [from_record(r) for r in ItemRecord.batch_get(keys)]
    return sorted(items, key=lambda item: (item.type, item.created_at))


def timeline(
    tenant_id: str, item: Item, limit: int, cursor: str | None
) -> tuple[list[TimelineEntry], str | None]:
    """Newest first."""
    results = TimelineRecord.query(
        item_pk(tenant_id, item.type, item.id),
        TimelineRecord.sk.startswith("TL#"),
        scan_index_forward=False,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, tenant_id),
    )
    entries = [_entry(r) for r in results]
    return entries, encode_cursor(results.last_evaluated_key)


# ---------------------------------------------------------------- writes


def next_id(tenant_id: str, item_type: str) -> str:
    """Item ids count up per type, as CRM users know them (DEAL 25): one atomic counter update."""
    counter = CounterRecord(pk=f"{tenant_id}#COUNTER", sk=item_type)
    counter.update(actions=[CounterRecord.last.add(1)])
    return str(int(counter.last))


def _check_pipeline(transaction: TransactWrite, tenant_id: str, item: Item, version: int) -> None:
    # The stage was chosen on this version of the pipeline (maybe a warm container's copy): a stage
    # deleted or reordered since then makes the write fail instead of landing in a stale stage.
    transaction.condition_check(
        PipelineRecord,
        pipeline_pk(tenant_id, item.pipeline_id),
        "META",
        condition=PipelineRecord.version == version,
    )


def create(tenant_id: str, item: Item, entry: TimelineEntry, *, pipeline_version: int) -> None:
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(to_record(tenant_id, item), condition=ItemRecord.pk.does_not_exist())
            transaction.save(_timeline_record(tenant_id, item, entry))
            for contact in _contact_records(tenant_id, item, contact_keys(item.emails, item.phones)):
                transaction.save(contact)
            _check_pipeline(transaction, tenant_id, item, pipeline_version)
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise StaleWrite(f"pipeline {item.pipeline_id!r} changed meanwhile") from None
        raise


def replace_item(
    tenant_id: str,
    before: Item,
    after: Item,
    entry: TimelineEntry,
    *,
    pipeline_version: int | None = None,
) -> None:
    """Writes ``after`` if the stored item is still at ``before.version`` (and, when given, the
    pipeline still at ``pipeline_version``); StaleWrite otherwise, and nothing is written."""
    old_keys = contact_keys(before.emails, before.phones)
    new_keys = contact_keys(after.emails, after.phones)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(to_record(tenant_id, after), condition=ItemRecord.version == before.version)
            transaction.save(_timeline_record(tenant_id, after, entry))
            for contact in _contact_records(tenant_id, after, new_keys - old_keys):
                transaction.save(contact)
            for contact in _contact_records(tenant_id, after, old_keys - new_keys):
                transaction.delete(contact)
            if pipeline_version is not None:
                _check_pipeline(transaction, tenant_id, after, pipeline_version)
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise StaleWrite(f"{after.ref} or its pipeline changed meanwhile; read it again") from None
        raise


def add_entry(tenant_id: str, item: Item, entry: TimelineEntry) -> None:
    """A timeline entry that changes nothing on the item (a comment, a refused move)."""
    try:
        _timeline_record(tenant_id, item, entry).save(condition=TimelineRecord.sk.does_not_exist())
    except PutError as error:
        raise StaleWrite(f"timeline entry {entry.id} exists already") from error


def delete(tenant_id: str, item: Item) -> None:
    pk = item_pk(tenant_id, item.type, item.id)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.delete(to_record(tenant_id, item), condition=ItemRecord.version == item.version)
            for contact in _contact_records(tenant_id, item, contact_keys(item.emails, item.phones)):
                transaction.delete(contact)
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise StaleWrite(f"{item.ref} changed meanwhile; read it again") from None
        raise
    # The timeline can outgrow a transaction; it goes after the item, in batches.
    with TimelineRecord.batch_write() as batch:
        for record in TimelineRecord.query(pk, TimelineRecord.sk.startswith("TL#")):
            batch.delete(record)
