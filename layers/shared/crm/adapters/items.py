"""Items, their timeline and contact index in DynamoDB: the one place that maps ``Item`` to records.

Every write is one transaction: the item (conditional on its version, so no update is lost), the
timeline entry that records the change, the contact index records, and checks that the
configuration the decision was made on (``Basis``: the pipeline, for a new item also its type and
default pipeline) is still the current one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters.along import Actions, Along, Companions, Write, transact
from crm.adapters.readable import readable
from crm.adapters.tables import (
    ContactRecord,
    CounterRecord,
    DefaultPipelineRecord,
    EmployeeRecord,
    ItemRecord,
    ItemsTableRecord,
    ItemTypeRecord,
    OnceRecord,
    PipelineRecord,
    TimelineRecord,
    connection,
)
from crm.adapters.transactions import refusal, refused_as
from crm.domain.contacts import contact_keys
from crm.domain.errors import AlreadyRecorded, Invalid, NotFound, StaleWrite
from crm.domain.model import Cause, Employee, Item, ItemSummary, StageMove, TimelineEntry, TimelineKind
from crm.domain.trigger_events import ItemRef

ITEM_SK = "ITEM"
ANSWER_SK = "ANSWER"
MAX_PAGE = 100


def item_pk(tenant_id: str, item_type: str, item_id: str) -> str:
    return f"{tenant_id}#ITEM#{item_type}#{item_id}"


def contact_pk(tenant_id: str, key: str) -> str:
    return f"{tenant_id}#CONTACT#{key}"


def pipeline_pk(tenant_id: str, pipeline_id: str) -> str:
    return f"{tenant_id}#PIPELINE#{pipeline_id}"


def once_pk(tenant_id: str, source: str) -> str:
    """Where something that happened outside the CRM (``source``, e.g. ``mail:{hash}``) is marked
    as recorded: one record per place it was recorded in (sk ``{type}#{id}``, ...); or where a
    request done once per key keeps its answer (``create-item:{hash}``, sk ``ANSWER``)."""
    return f"{tenant_id}#ONCE#{source}"


# The automation table's records that item writes check (``Basis``); its adapter uses the same keys.
def item_type_key(tenant_id: str, code: str) -> tuple[str, str]:
    return f"{tenant_id}#TYPES", code


def default_pipeline_key(tenant_id: str, item_type: str) -> tuple[str, str]:
    return f"{tenant_id}#PIPELINES", f"DEFAULT#{item_type}"


def employee_key(tenant_id: str, employee_id: str) -> tuple[str, str]:
    return f"{tenant_id}#EMPLOYEES", employee_id


@dataclass(frozen=True)
class Basis:
    """The configuration a write was decided on, maybe a warm container's copy. Each part is checked
    inside the write, so a copy that changed meanwhile fails it (StaleWrite) instead of landing an
    item in a deleted stage, in a pipeline that is no longer its type's default, or with fields
    checked against an outdated type."""

    pipeline_version: int
    item_type_version: int | None = None  # the custom fields were checked against this version
    default_pipeline: bool = False  # the item goes to its type's default pipeline, as it still is
    # Employees it names (responsible, acting), found active in a warm container's copy: still as copied.
    employees: tuple[Employee, ...] = ()


@dataclass(frozen=True)
class Once:
    """A request done once per key (an Idempotency-Key): ``source`` names it (``create-item:{hash of
    the key}``); its record keeps the hash of what was asked and the answer, for ``kept`` after ``at``."""

    source: str
    request_hash: str
    at: datetime
    kept: timedelta


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
        last_change=None if item.last_change is None else item.last_change.to_dict(),
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
        last_change=None if record.last_change is None else Cause.from_dict(record.last_change.as_dict()),
    )


def timeline_record(
    tenant_id: str, item: Item | ItemSummary | ItemRef, entry: TimelineEntry
) -> TimelineRecord:
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
    # Each carries the item's summary, so that a look-up by contact is the index's Query alone.
    return [
        ContactRecord(
            pk=contact_pk(tenant_id, key),
            sk=f"{item.type}#{item.id}",
            kind="contact",
            tenant_id=tenant_id,
            item_type=item.type,
            item_id=item.id,
            title=item.title,
            pipeline_id=item.pipeline_id,
            created_at=_iso(item.created_at),
        )
        for key in sorted(keys)
    ]


def _summary(record: ContactRecord) -> ItemSummary:
    return ItemSummary(
        record.item_type,
        record.item_id,
        record.title,
        record.pipeline_id,
        datetime.fromisoformat(record.created_at),
    )


# ---------------------------------------------------------------- cursors


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_cursor(
    cursor: str | None, partition: dict[str, str], sort_prefixes: dict[str, str]
) -> dict | None:
    """The DynamoDB key a cursor holds, checked in full: exactly the list's key attributes, the
    partition it lists (so never another tenant's or another list's), sort keys within it. A forged
    or foreign cursor is refused here, not by DynamoDB."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        values = {name: value["S"] for name, value in key.items()}
        if set(values) != set(partition) | set(sort_prefixes):
            raise ValueError
        if any(not isinstance(v, str) or not v or len(v) > 1024 for v in values.values()):
            raise ValueError
        if any(values[name] != value for name, value in partition.items()):
            raise ValueError
        if any(not values[name].startswith(prefix) for name, prefix in sort_prefixes.items()):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise Invalid("cursor is not one this API returned for this list") from None
    return key


# ---------------------------------------------------------------- reads


def get(tenant_id: str, item_type: str, item_id: str) -> Item:
    try:
        return from_record(
            ItemRecord.get(item_pk(tenant_id, item_type, item_id), ITEM_SK, consistent_read=True)
        )
    except DoesNotExist:
        raise NotFound(f"{item_type} {item_id} does not exist") from None


def get_many(tenant_id: str, refs: Sequence[tuple[str, str]]) -> list[Item]:
    """The items of ``refs`` (type, id) that exist, in the order of ``refs`` (a batch answers in any),
    in one strongly consistent batch read."""
    keys = [(item_pk(tenant_id, item_type, item_id), ITEM_SK) for item_type, item_id in refs]
    found = readable(ItemRecord.batch_get(keys, consistent_read=True), from_record, "item") if keys else []
    order = {ref: n for n, ref in enumerate(refs)}
    return sorted(found, key=lambda item: order[(item.type, item.id)])


def list_in_pipeline(
    tenant_id: str, item_type: str, pipeline_id: str, stage_id: str | None, limit: int, cursor: str | None
) -> tuple[list[Item], str | None]:
    partition = f"{tenant_id}#{item_type}#{pipeline_id}"
    condition = ItemRecord.stage_key.startswith(f"{stage_id}#") if stage_id else None
    start = decode_cursor(
        cursor,
        {"pipeline_key": partition, "sk": ITEM_SK},
        {"pk": item_pk(tenant_id, item_type, ""), "stage_key": f"{stage_id}#" if stage_id else ""},
    )
    results = ItemRecord.by_pipeline.query(
        partition, range_key_condition=condition, limit=min(limit, MAX_PAGE), last_evaluated_key=start
    )
    items = readable(results, from_record, "item")
    return items, encode_cursor(results.last_evaluated_key)


def stage_has_items(tenant_id: str, item_type: str, pipeline_id: str, stage_id: str | None = None) -> bool:
    items, _ = list_in_pipeline(tenant_id, item_type, pipeline_id, stage_id, 1, None)
    return bool(items)


def find_by_contact(tenant_id: str, key: str) -> list[ItemSummary]:
    """The tenant's items for one contact key: one Query of the contact index, whose records carry
    the items' summaries. Records written before they did are completed from their items (one
    batch read; such a record gets the summary when its item's title or contacts next change)."""
    records = list(ContactRecord.query(contact_pk(tenant_id, key)))
    found = readable((r for r in records if r.title is not None), _summary, "contact index record")
    if older := [(item_pk(tenant_id, r.item_type, r.item_id), ITEM_SK) for r in records if r.title is None]:
        found += [ItemSummary.of(item) for item in readable(ItemRecord.batch_get(older), from_record, "item")]
    return sorted(found, key=lambda summary: (summary.type, summary.created_at))


def done_once(tenant_id: str, source: str) -> tuple[str, Item] | None:
    """The hash of the request done once as ``source``, and the item it answered; None if its record
    is gone (expired)."""
    try:
        record = OnceRecord.get(once_pk(tenant_id, source), ANSWER_SK, consistent_read=True)
    except DoesNotExist:
        return None
    answer = ItemRecord()
    answer.from_simple_dict(record.answer)
    return record.request_hash, from_record(answer)


def timeline(
    tenant_id: str, item: Item, limit: int, cursor: str | None
) -> tuple[list[TimelineEntry], str | None]:
    """Newest first."""
    results = TimelineRecord.query(
        item_pk(tenant_id, item.type, item.id),
        TimelineRecord.sk.startswith("TL#"),
        scan_index_forward=False,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(
            cursor, {"pk": item_pk(tenant_id, item.type, item.id)}, {"sk": "TL#"}
        ),
    )
    entries = readable(results, _entry, "timeline entry")
    return entries, encode_cursor(results.last_evaluated_key)


# ---------------------------------------------------------------- writes


def next_id(tenant_id: str, item_type: str) -> str:
    """Item ids count up per type, as CRM users know them (DEAL 25): one atomic counter update."""
    counter = CounterRecord(pk=f"{tenant_id}#COUNTER", sk=item_type)
    counter.update(actions=[CounterRecord.last.add(1)])
    return str(int(counter.last))


def _check_basis(actions: Actions, tenant_id: str, item: Item, basis: Basis) -> None:
    actions.check(
        PipelineRecord,
        pipeline_pk(tenant_id, item.pipeline_id),
        "META",
        PipelineRecord.version == basis.pipeline_version,
    )
    if basis.item_type_version is not None:
        version = basis.item_type_version
        current = (
            ItemTypeRecord.version.does_not_exist() if version == 0 else ItemTypeRecord.version == version
        )
        actions.check(ItemTypeRecord, *item_type_key(tenant_id, item.type), current)
    if basis.default_pipeline:
        actions.check(
            DefaultPipelineRecord,
            *default_pipeline_key(tenant_id, item.type),
            DefaultPipelineRecord.pipeline_id == item.pipeline_id,
        )
    for employee in basis.employees:
        # The record as a whole (it is one JSON document): any change since the copy fails the check.
        stored_as = EmployeeRecord.employee == employee.__dict__
        actions.check(EmployeeRecord, *employee_key(tenant_id, employee.id), stored_as)


def _answer_record(tenant_id: str, item: Item, once: Once) -> OnceRecord:
    return OnceRecord(
        pk=once_pk(tenant_id, once.source),
        sk=ANSWER_SK,
        kind="once",
        tenant_id=tenant_id,
        request_hash=once.request_hash,
        answer=to_record(tenant_id, item).to_simple_dict(),
        expires_at=int((once.at + once.kept).timestamp()),
    )


def create(
    tenant_id: str,
    item: Item,
    entry: TimelineEntry,
    basis: Basis,
    once: Once | None = None,
    companions: Companions | None = None,
) -> None:
    """Writes a new item with its first timeline entry and contact index records, if ``basis`` is
    still current (StaleWrite otherwise). With ``once``, its answer record too, in the same
    transaction: AlreadyRecorded if the request was done already (and not expired); with
    ``companions``, a source's records (``crm.adapters.along``: a companion's own refusal when its
    condition fails). Nothing is written when it is refused."""

    def add(actions: Actions) -> None:
        _check_basis(actions, tenant_id, item, basis)
        if once is not None:
            # Before any other put or update: a retry is answered as one whatever else fails.
            not_done = OnceRecord.pk.does_not_exist() | (OnceRecord.expires_at < int(once.at.timestamp()))
            done = AlreadyRecorded(f"{once.source} was done already")
            actions.put(_answer_record(tenant_id, item, once), not_done, done)
        actions.put(to_record(tenant_id, item), ItemRecord.pk.does_not_exist())
        actions.put(timeline_record(tenant_id, item, entry))
        for contact in _contact_records(tenant_id, item, contact_keys(item.emails, item.phones)):
            actions.put(contact)

    stale = StaleWrite(
        f"the {item.type} type, its default pipeline, pipeline {item.pipeline_id!r} or an employee it "
        "names changed meanwhile"
    )
    transact(add, companions, stale)


def add_replacement(
    actions: Actions,
    tenant_id: str,
    before: Item,
    after: Item,
    entries: Sequence[TimelineEntry],
    basis: Basis | None = None,
) -> None:
    """To ``actions``: ``after`` written if the stored item is still at ``before.version`` (and,
    when given, ``basis`` is still current), with its timeline ``entries`` and contact records."""
    old_keys = contact_keys(before.emails, before.phones)
    new_keys = contact_keys(after.emails, after.phones)
    # The index records carry the item's summary, which a stage move or a change of fields leaves
    # as it is: they are rewritten only when it changes (a new title), not on every write, which
    # would cost a write per contact (up to 40) on every move.
    rewritten = new_keys if ItemSummary.of(after) != ItemSummary.of(before) else new_keys - old_keys
    actions.put(to_record(tenant_id, after), ItemRecord.version == before.version)
    for entry in entries:
        actions.put(timeline_record(tenant_id, after, entry))
    for contact in _contact_records(tenant_id, after, rewritten):
        actions.put(contact)
    for contact in _contact_records(tenant_id, after, old_keys - new_keys):
        actions.delete(contact)
    if basis is not None:
        _check_basis(actions, tenant_id, after, basis)


def replace_item(
    tenant_id: str, before: Item, after: Item, entry: TimelineEntry, basis: Basis | None = None
) -> None:
    """Writes ``after`` if the stored item is still at ``before.version`` (and, when given, ``basis``
    is still current); StaleWrite otherwise, and nothing is written."""
    transact(
        lambda actions: add_replacement(actions, tenant_id, before, after, [entry], basis),
        None,
        StaleWrite(f"{after.ref} or its pipeline changed meanwhile; read it again"),
    )


def add_entry(tenant_id: str, item: Item, entry: TimelineEntry) -> None:
    """A timeline entry that changes nothing on the item (a comment, a refused move)."""
    with refused_as(lambda: AlreadyRecorded(f"timeline entry {entry.id} exists already")):
        timeline_record(tenant_id, item, entry).save(condition=TimelineRecord.sk.does_not_exist())


def entry_once(tenant_id: str, item_type: str, item_id: str, entry: TimelineEntry, source: str) -> Along:
    """A timeline entry on the item for something that happened once outside the CRM (``source``:
    an inbound message's key), whatever the time it is delivered at: the entry, and the marker of
    ``source`` on the item that makes it once (``crm.adapters.along``)."""
    marker = ItemsTableRecord(
        pk=once_pk(tenant_id, source), sk=f"{item_type}#{item_id}", kind="once", tenant_id=tenant_id
    )
    return Along(marker, (Write(timeline_record(tenant_id, ItemRef(item_type, item_id), entry)),))


def delete(tenant_id: str, item: Item) -> None:
    pk = item_pk(tenant_id, item.type, item.id)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.delete(to_record(tenant_id, item), condition=ItemRecord.version == item.version)
            for contact in _contact_records(tenant_id, item, contact_keys(item.emails, item.phones)):
                transaction.delete(contact)
    except TransactWriteError as error:
        raise refusal(error, {}, StaleWrite(f"{item.ref} changed meanwhile; read it again")) from None
    # The timeline can outgrow a transaction; it goes after the item, in batches.
    with TimelineRecord.batch_write() as batch:
        for record in TimelineRecord.query(pk, TimelineRecord.sk.startswith("TL#")):
            batch.delete(record)
