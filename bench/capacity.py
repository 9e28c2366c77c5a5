"""DynamoDB on-demand request units of one call, estimated from the items it reads and writes.

moto reports no real consumed capacity, so the units follow DynamoDB's published rules:
- a write is 1 WRU per started KB of the larger of the old and new item; a transactional write
  (every action of TransactWriteItems, ConditionCheck included) is 2 per started KB;
- a read is 1 RRU per started 4 KB when strongly consistent, 0.5 when eventually consistent, 2 in a
  transaction; a Query counts the total size of the items it returns; a read that finds nothing
  still costs the minimum;
- a global secondary index is written when the item enters, leaves or changes in it: 1 WRU per
  started KB for each put or delete there (a change of the index key is a delete and a put).
Item sizes are the sum of attribute name and value lengths (numbers: about one byte per two
digits; lists and maps: 3 bytes plus one per element), as DynamoDB documents them.

The old items (their sizes and index keys) are read from moto's backend before the call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

KB = 1024
READ_BLOCK = 4 * KB
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem"}


@dataclass(frozen=True)
class Units:
    read: float = 0.0  # read request units
    write: float = 0.0  # write request units, tables and indexes
    index_write: float = 0.0  # the part of ``write`` that global secondary indexes take

    def __add__(self, other: Units) -> Units:
        return Units(self.read + other.read, self.write + other.write, self.index_write + other.index_write)

    def __mul__(self, times: float) -> Units:
        return Units(self.read * times, self.write * times, self.index_write * times)

    def as_json(self) -> dict[str, float]:
        return {"RRU": self.read, "WRU": self.write, "WRU_indexes": self.index_write}


# ---------------------------------------------------------------- item sizes


def value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    match kind:
        case "S":
            return len(data.encode())
        case "N":
            digits = data.lstrip("-").replace(".", "").strip("0") or "0"
            return math.ceil(len(digits) / 2) + 1
        case "B":
            return len(data)
        case "BOOL" | "NULL":
            return 1
        case "SS":
            return sum(len(v.encode()) for v in data)
        case "NS":
            return sum(value_size({"N": v}) for v in data)
        case "BS":
            return sum(len(v) for v in data)
        case "L":
            return 3 + sum(value_size(v) + 1 for v in data)
        case "M":
            return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def _blocks(size: int, block: int) -> int:
    return max(1, math.ceil(size / block))


# ---------------------------------------------------------------- moto's stored items


def _table(region: str, name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(name)


def _stored(region: str, name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        table = _table(region, name)
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(DynamoType(key[table.hash_key_attr]), range_key)
    except Exception:
        return None
    return None if item is None else item.to_json()["Attributes"]


def _index_keys(region: str, name: str) -> list[list[str]]:
    try:
        return [index.schema_key_attrs for index in _table(region, name).global_indexes]
    except Exception:
        return []


def _key_of(table_key: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in table_key}


def _writes(operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], dict | None]]:
    """(action, table, key, new item or None) for each item the call writes or checks."""
    if operation == "PutItem":
        return [("Put", params["TableName"], params["Item"], params["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(operation.removesuffix("Item"), params["TableName"], params["Key"], None)]
    if operation == "BatchWriteItem":
        out = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    out.append(("Put", table, item, item))
                else:
                    out.append(("Delete", table, request["DeleteRequest"]["Key"], None))
        return out
    if operation == "TransactWriteItems":
        out = []
        for entry in params["TransactItems"]:
            ((action, body),) = entry.items()
            key = body.get("Key") or body.get("Item")
            out.append((action, body["TableName"], key, body.get("Item")))
        return out
    return []


def before(operation: str, params: dict[str, Any], context: dict[str, Any]) -> None:
    """Remembers the items a write is about to replace (their size and index keys count)."""
    writes = _writes(operation, params)
    if writes:
        region = context.get("client_region") or "us-east-1"
        context["bench_old_items"] = [_stored(region, table, key) for _, table, key, _ in writes]
        context["bench_index_keys"] = {table: _index_keys(region, table) for _, table, _, _ in writes}


def _index_units(index_keys: list[list[str]], old: dict | None, new: dict | None) -> int:
    units = 0
    for keys in index_keys:
        was = old is not None and all(k in old for k in keys)
        now = new is not None and all(k in new for k in keys)
        if was and now and all(old[k] == new[k] for k in keys):
            units += _blocks(item_size(new), KB)  # updated in place
        else:
            units += _blocks(item_size(old), KB) if was else 0  # leaves (or its key moves)
            units += _blocks(item_size(new), KB) if now else 0  # enters
    return units


def _read_factor(params: dict[str, Any]) -> float:
    return 1.0 if params.get("ConsistentRead") else 0.5


def units(operation: str, params: dict[str, Any], parsed: dict[str, Any], context: dict[str, Any]) -> Units:
    if "Error" in parsed:
        return Units()
    if operation == "GetItem":
        return Units(read=_blocks(item_size(parsed.get("Item")), READ_BLOCK) * _read_factor(params))
    if operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in parsed.get("Items", []))
        return Units(read=_blocks(size, READ_BLOCK) * _read_factor(params))
    if operation == "BatchGetItem":
        read = 0.0
        for table, found in parsed.get("Responses", {}).items():
            factor = _read_factor(params["RequestItems"][table])
            read += sum(_blocks(item_size(i), READ_BLOCK) * factor for i in found)
        return Units(read=read)
    if operation == "TransactGetItems":
        return Units(read=sum(2 * _blocks(item_size(r.get("Item")), READ_BLOCK) for r in parsed["Responses"]))
    writes = _writes(operation, params)
    if not writes:
        return Units()
    olds = context.get("bench_old_items") or [None] * len(writes)
    index_keys = context.get("bench_index_keys") or {}
    factor = 2 if operation == "TransactWriteItems" else 1
    write = index = 0
    for (action, table, _, new), old in zip(writes, olds, strict=True):
        if action == "Update" and operation == "UpdateItem":
            new = parsed.get("Attributes") or old  # pynamodb asks for ALL_NEW
        elif action == "Update":
            new = old  # a transactional update: the new image is not known here
        if action == "ConditionCheck":
            write += factor * _blocks(item_size(old), KB)
            continue
        after = None if action == "Delete" else new
        write += factor * _blocks(max(item_size(old), item_size(after)), KB)
        index += _index_units(index_keys.get(table, []), old, after)
    return Units(write=write + index, index_write=index)
