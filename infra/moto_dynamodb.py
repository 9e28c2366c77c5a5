"""moto's DynamoDB made safe for concurrent writers, with transactions that cost what they touch.

moto's backend does not lock, so two requests that check a condition and then write can both pass
the check (a lost update), and a scan can fail while another thread adds an item. And its
TransactWriteItems deep-copies every table it touches before each transaction (hundreds of
milliseconds once a table holds a few thousand items), then on cancellation puts that copy back
in place of the table: every write another thread made meanwhile is lost, and the stream shard
the pollers read from is replaced by an orphaned copy.

``install()`` (called by the local runtime at start and by the test suite once) changes both:

- every request that reads or writes items holds one lock per backend for the whole request
  (moto's responses read before they write, e.g. for ``ReturnValues``), and so does reading the
  stream, so no reader sees a transaction half-applied;
- TransactWriteItems checks every action's condition first, then applies the actions with moto's
  own PutItem/UpdateItem/DeleteItem; if one fails, only the items it touched are put back and the
  stream records it appended are dropped. The cancellation reasons are moto's.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

MAX_ACTIONS = 100  # DynamoDB's limit of actions per transaction
_KINDS = ("ConditionCheck", "Put", "Delete", "Update")
_ITEM_ACTIONS = (
    "get_item",
    "batch_get_item",
    "transact_get_items",
    "query",
    "scan",
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
    "transact_write_items",
    "execute_statement",
    "batch_execute_statement",
    "execute_transaction",
)
_LOCK_ATTRIBUTE = "_crm_serial_lock"
_guard = threading.Lock()
_installed = False

# One entry per action, as moto's TransactionCanceledException takes them: (code, message, item).
Reason = tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]
_OK: Reason = (None, None, None)


def install() -> None:
    """Patch moto's DynamoDB in this process (idempotent)."""
    global _installed
    with _guard:
        if _installed:
            return
        for name in _ITEM_ACTIONS:
            setattr(DynamoHandler, name, _serialised(getattr(DynamoHandler, name), _dynamodb_backend))
        DynamoDBStreamsHandler.get_records = _serialised(DynamoDBStreamsHandler.get_records, _streams_backend)
        DynamoDBBackend.transact_write_items = transact_write_items
        _installed = True


def lock_of(backend: DynamoDBBackend) -> threading.RLock:
    """The lock that serialises the item requests of one backend (one account and region).
    Re-entrant: a transaction's actions run moto's PutItem and UpdateItem inside it."""
    lock = backend.__dict__.get(_LOCK_ATTRIBUTE)
    if lock is None:
        with _guard:
            lock = backend.__dict__.setdefault(_LOCK_ATTRIBUTE, threading.RLock())
    return lock


def _dynamodb_backend(handler: DynamoHandler) -> DynamoDBBackend:
    return handler.dynamodb_backend


def _streams_backend(handler: DynamoDBStreamsHandler) -> DynamoDBBackend:
    return handler.backend.dynamodb


def _serialised(
    action: Callable[..., Any], backend_of: Callable[[Any], DynamoDBBackend]
) -> Callable[..., Any]:
    @functools.wraps(action)
    def serialised(handler: Any, *args: Any, **kwargs: Any) -> Any:
        with lock_of(backend_of(handler)):
            return action(handler, *args, **kwargs)

    return serialised


# ---------------------------------------------------------------- TransactWriteItems


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """DynamoDBBackend.transact_write_items, rolling back only what it touched.

    Conditions are checked against the state before the transaction, and none is applied if one
    fails. moto refuses two actions on one item, so checking all first is what checking each just
    before applying it would give, as moto does."""
    if len(transact_items) > MAX_ACTIONS:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    keys: list[dict[str, Any] | None] = []
    reasons: list[Reason] = []
    for action in transact_items:
        if len(action) > 1:
            raise TransactWriteSingleOpException
        key, reason = _check(self, action, seen)
        keys.append(key)
        reasons.append(reason)
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)

    undo = _Undo(self)
    try:
        for index, (action, key) in enumerate(zip(transact_items, keys, strict=True)):
            kind, op = next(iter(action.items()))
            if kind == "ConditionCheck":
                continue
            undo.remember(op["TableName"], key)
            try:
                _apply(self, kind, op, key)
            except MockValidationException:
                raise
            except Exception as error:  # as moto: any other failure cancels with its name
                reasons[index] = (type(error).__name__, str(error), None)
    except BaseException:
        undo.restore()
        raise
    if any(code is not None for code, _, _ in reasons):
        undo.restore()
        raise TransactionCanceledException(reasons)


def _check(
    backend: DynamoDBBackend, action: dict[str, Any], seen: set[tuple[str, str]]
) -> tuple[dict[str, Any] | None, Reason]:
    """The key the action writes and its cancellation reason (``_OK`` if its condition holds).
    Raises the validation errors that fail the whole request instead of cancelling it."""
    kind, op = next(iter(action.items()))
    item: dict[str, Any] | None = None
    try:
        if kind not in _KINDS:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        if kind == "Put":
            table = backend.get_table(table_name)
            key_names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            key = {name: op["Item"][name] for name in key_names}
        else:
            key = op["Key"]
        identity = (str(table_name), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        current = backend.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if not get_filter_expression(condition, names, values).expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=item)
        return key, _OK
    except MockValidationException:
        raise
    except ConditionalCheckFailed as error:
        return None, ("ConditionalCheckFailed", str(error.message), item)
    except Exception as error:  # as moto: an unusable action cancels with its exception's name
        return None, (type(error).__name__, str(error), item)


def _apply(backend: DynamoDBBackend, kind: str, op: dict[str, Any], key: dict[str, Any] | None) -> None:
    """One action through moto's own single-item write (its condition holds: checked above)."""
    table_name = op["TableName"]
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    condition = op.get("ConditionExpression")
    if kind == "Put":
        backend.put_item(
            table_name,
            op["Item"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    elif kind == "Delete":
        backend.delete_item(
            table_name,
            key,  # type: ignore[arg-type]
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )
    else:
        backend.update_item(
            table_name,
            key,  # type: ignore[arg-type]
            update_expression=op["UpdateExpression"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


class _Undo:
    """What a transaction changed: a copy of each item before its write, and where each stream
    shard ended, so a cancelled transaction leaves items and streams as it found them."""

    def __init__(self, backend: DynamoDBBackend) -> None:
        self.backend = backend
        self.items: list[tuple[Table, DynamoType, DynamoType | None, Item | None]] = []
        self.streams: dict[str, tuple[StreamShard, int]] = {}

    def remember(self, table_name: str, key: dict[str, Any] | None) -> None:
        table = self.backend.get_table(table_name)
        hash_key, range_key = self.backend.get_keys_value(table, key or {})
        # moto's UpdateItem changes the stored item in place: keep a copy, not a reference.
        self.items.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        if table.stream_shard is not None and table.name not in self.streams:
            self.streams[table.name] = (table.stream_shard, len(table.stream_shard.items))

    def restore(self) -> None:
        for table, hash_key, range_key, before in reversed(self.items):
            slots = table.items if range_key is None else table.items[hash_key]
            slot = hash_key if range_key is None else range_key
            if before is None:
                slots.pop(slot, None)
            else:
                slots[slot] = before
        for shard, length in self.streams.values():
            del shard.items[length:]
