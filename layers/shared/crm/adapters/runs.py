"""Robot runs in RunsTable: the one place that maps ``Run`` to records.

    run       pk={tenant}#ITEM#{type}#{id}   sk=RUN#{run id}   (the item's runs: one Query finds the
              ones to cancel when it leaves a stage)
              + DueRuns index keys while delayed: due_bucket={minute}#{shard}, due_at
    tokens    pk={tenant}#THROTTLE             sk={minute}#{shard}   (runs queued that minute; TTL)
    cursor    pk=SWEEPER                       sk=CURSOR   (the last minute the sweeper finished)

A delayed run carries its due bucket (the minute it falls due in, and one of ``SHARDS`` shards by its
id); every other state removes it, so the index holds only what waits, and the sweeper reads only
the buckets of the minutes that have come. Ended runs stay a year (a robot that does not repeat
must know it ran), then expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from crm.adapters.along import Actions, transact
from crm.adapters.items import item_pk
from crm.adapters.journal import run_records
from crm.adapters.tables import THROTTLED, RunsTableRecord, connection
from crm.adapters.transactions import refused_as
from crm.domain.errors import AlreadyRecorded, StaleWrite, Throttled
from crm.domain.robots import Run, RunState, journal_entry
from crm.domain.trigger_events import ItemRef

SHARDS = 8
ENDED_KEPT = timedelta(days=400)
TOKENS_KEPT = timedelta(hours=1)
TOKEN_SHARDS = 4
RUN_PREFIX = "RUN#"
SWEEPER_KEY = ("SWEEPER", "CURSOR")


class DueRuns(GlobalSecondaryIndex["RunRecord"]):
    class Meta:
        index_name = "DueRuns"
        projection = AllProjection()

    due_bucket = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class RunRecord(RunsTableRecord):
    tenant_id = UnicodeAttribute()
    state = UnicodeAttribute()
    attempt = NumberAttribute()
    entered_at = UnicodeAttribute()
    run = JSONAttribute()  # the run's JSON form (``Run.to_dict``)
    due_bucket = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # epoch seconds: a running run's claim ends then
    expires_at = NumberAttribute(null=True)  # the table's TTL attribute, for ended runs
    due_runs = DueRuns()


class TokensRecord(RunsTableRecord):
    taken = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class CursorRecord(RunsTableRecord):
    minute = UnicodeAttribute()


def minute_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def bucket(run_id: str, due_at: datetime) -> str:
    shard = int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % SHARDS
    return f"{minute_of(due_at)}#{shard}"


def run_key(tenant_id: str, item: ItemRef, run_id: str) -> tuple[str, str]:
    return item_pk(tenant_id, item.type, item.id), RUN_PREFIX + run_id


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def to_record(run: Run) -> RunRecord:
    pk, sk = run_key(run.tenant_id, run.item, run.id)
    delayed = run.state is RunState.DELAYED and run.due_at is not None
    return RunRecord(
        pk=pk,
        sk=sk,
        tenant_id=run.tenant_id,
        state=run.state.value,
        attempt=run.attempt,
        entered_at=_utc(run.entered_at),
        run=run.to_dict(),
        due_bucket=bucket(run.id, run.due_at) if delayed else None,
        due_at=_utc(run.due_at) if delayed else None,
        expires_at=int((run.ended_at + ENDED_KEPT).timestamp()) if run.ended_at is not None else None,
    )


def from_record(record: RunRecord) -> Run:
    # A claim changes state and attempt alone (one UpdateItem): the top level, where the conditions
    # look, is what the run is at; its JSON form has the rest.
    return Run.from_dict(record.run | {"state": record.state, "attempt": int(record.attempt)})


def runs_of(tenant_id: str, item: ItemRef) -> list[Run]:
    """Every run of the item (one Query of its partition, strongly consistent)."""
    pk = item_pk(tenant_id, item.type, item.id)
    return [
        from_record(r) for r in RunRecord.query(pk, RunRecord.sk.startswith(RUN_PREFIX), consistent_read=True)
    ]


def get(tenant_id: str, item: ItemRef, run_id: str) -> Run | None:
    try:
        return from_record(RunRecord.get(*run_key(tenant_id, item, run_id), consistent_read=True))
    except RunRecord.DoesNotExist:
        return None


def as_was(run: Run) -> Condition:
    """The stored run is still in the state and attempt ``run`` was read in."""
    return (RunRecord.state == run.state.value) & (RunRecord.attempt == run.attempt)


@dataclass(frozen=True)
class Change:
    """One run's record written as ``after``, if it is still as ``before`` (None: a new run)."""

    after: Run
    before: Run | None
    at: datetime | None = None  # when it happened, for the journal (None: not journaled)
    duration_ms: int | None = None

    def add_to(self, actions: Actions) -> None:
        if self.before is None:
            condition = RunRecord.pk.does_not_exist()
            actions.put(to_record(self.after), condition, AlreadyRecorded(f"run {self.after.id}"))
        else:
            actions.put(to_record(self.after), as_was(self.before))


MAX_ACTIONS = 90  # of DynamoDB's 100 actions, room for an item write and its entries


def write(
    changes: Sequence[Change], add_more: Callable[[Actions], None] | None = None, stale: str = ""
) -> None:
    """The runs' changes, each with its journal entry (on the item and its pipeline), in as few
    transactions as hold them (most plans are one); ``add_more`` (an item's write) goes into the
    first. StaleWrite (with ``stale`` saying what) when a run or what ``add_more`` conditions on
    changed meanwhile; AlreadyRecorded when a new run exists already."""
    if len(changes) == 1 and add_more is None and changes[0].at is None and changes[0].before is not None:
        # One run's record alone (the sweeper taking it out of the due index): one conditional
        # write, not a transaction (which costs twice the write capacity).
        change = changes[0]
        with refused_as(lambda: StaleWrite(stale or "a robot run changed meanwhile")):
            to_record(change.after).save(condition=as_was(change.before))
        return
    per_change = 3
    size = MAX_ACTIONS // per_change
    chunks = [changes[n : n + size] for n in range(0, len(changes), size)] or [()]
    for n, chunk in enumerate(chunks):
        more = add_more if n == 0 else None

        def add(actions: Actions, chunk: Sequence[Change] = chunk, more=more) -> None:
            if more is not None:
                more(actions)
            for change in chunk:
                change.add_to(actions)
                if change.at is not None:
                    entry = journal_entry(change.after, change.at, change.duration_ms)
                    for record in run_records(change.after.tenant_id, entry, change.at):
                        actions.put(record)

        if chunk or more is not None:
            transact(add, None, StaleWrite(stale or "a robot run changed meanwhile"))


# ---------------------------------------------------------------- the runner's claim


class Busy(Exception):
    """Another runner holds the run's claim (its lease has not ended): try again later."""


def claim(run: Run, now: datetime, lease: timedelta) -> Run | None:
    """The run, claimed for its next attempt (running, attempt + 1, until ``now + lease``), if it is
    still as the message that asked for it says, or its earlier claim's lease has ended; None if it
    is not (it ended, or moved on: the message was delivered twice); Busy if another runner holds it.
    One UpdateItem: a refused one answers the record as it is, so a refusal costs no read."""
    pk, sk = run_key(run.tenant_id, run.item, run.id)
    try:
        answer = connection().client.update_item(
            TableName=RunRecord.Meta.table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET #state = :running, attempt = :next, lease_until = :lease "
            "REMOVE due_bucket, due_at",
            ConditionExpression="(#state IN (:queued, :delayed) AND attempt = :attempt) OR "
            "(#state = :running AND attempt = :next AND lease_until < :now)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":running": {"S": RunState.RUNNING.value},
                ":queued": {"S": RunState.QUEUED.value},
                ":delayed": {"S": RunState.DELAYED.value},
                ":attempt": {"N": str(run.attempt)},
                ":next": {"N": str(run.attempt + 1)},
                ":lease": {"N": str(int((now + lease).timestamp()))},
                ":now": {"N": str(int(now.timestamp()))},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in THROTTLED:
            raise Throttled("the CRM's storage is busy: retry in a moment") from None
        if code != "ConditionalCheckFailedException":
            raise
        stored = error.response.get("Item")
        if stored is None:
            return None  # never planned, or expired long ago
        if stored["state"]["S"] == RunState.RUNNING.value and int(stored["attempt"]["N"]) == run.attempt + 1:
            raise Busy(run.id) from None
        return None
    return from_record(RunRecord.from_raw_data(answer["Attributes"]))


# ---------------------------------------------------------------- the sweeper


def due(bucket_key: str, until: datetime) -> list[Run]:
    """The delayed runs of one bucket due by ``until``."""
    records = RunRecord.due_runs.query(bucket_key, RunRecord.due_at <= _utc(until))
    return [from_record(r) for r in records]


def take_tokens(tenant_id: str, at: datetime, wanted: int, per_minute: int) -> int:
    """Up to ``wanted`` of the tenant's runs for the minute of ``at`` (``per_minute`` a minute, in
    shards so that no counter is one hot record); how many it got.

    Each shard counts what was asked of it (one UpdateItem, no condition: ADD answers the new
    total), and grants what still fitted under its share; the next shards are asked for the rest,
    so a minute's whole allowance can be taken at once. A count past the share only means later
    askers get nothing that minute."""
    first = int.from_bytes(hashlib.sha256(f"{tenant_id}{at.timestamp()}".encode()).digest()[:2])
    granted = 0
    for n in range(TOKEN_SHARDS):
        if granted >= wanted:
            break
        shard = (first + n) % TOKEN_SHARDS
        share = per_minute // TOKEN_SHARDS + (1 if shard < per_minute % TOKEN_SHARDS else 0)
        asked = wanted - granted
        record = TokensRecord(pk=f"{tenant_id}#THROTTLE", sk=f"{minute_of(at)}#{shard}")
        # pynamodb's update answers the record as it now is: ``taken`` is the new total.
        record.update(
            actions=[
                TokensRecord.taken.add(asked),
                TokensRecord.expires_at.set(int((at + TOKENS_KEPT).timestamp())),
            ]
        )
        granted += max(0, min(asked, share - (int(record.taken) - asked)))
    return granted


def sweep_cursor() -> str | None:
    try:
        return CursorRecord.get(*SWEEPER_KEY, consistent_read=True).minute
    except CursorRecord.DoesNotExist:
        return None


def set_sweep_cursor(minute: str) -> None:
    CursorRecord(pk=SWEEPER_KEY[0], sk=SWEEPER_KEY[1], minute=minute).save()
