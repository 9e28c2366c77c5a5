"""Trigger events: what a customer or the CRM did, in one form whatever the source.

Each source (webforms, mail, tracking, webhooks, the site, bookings, the CRM's own changes, later
telephony, payments and chat) turns what it receives into ``TriggerEvent``s; the decision and the
journal see nothing else. An event is plain data with a JSON form, so the journal keeps it and a
dry run or a replay can decide it again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain.contacts import normal_email, normal_phone
from crm.domain.errors import Invalid
from crm.domain.model import TENANT_PATTERN, check_id

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# The source's own id (form nonce, SES message id, hook request id, Stripe event id, Twilio
# CallSid+status): printable ASCII without spaces, as every provider's ids are.
EVENT_ID_PATTERN = re.compile(r"^[\x21-\x7e]{1,256}$")
VISITOR_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_DATA_BYTES = 16_000
MAX_CHAIN = 64
MAX_NESTING = 8


@dataclass(frozen=True)
class ItemRef:
    """An item named by the event itself (a signed tracking token, ``target=DEAL_25``, a document)."""

    type: str
    id: str

    def __post_init__(self) -> None:
        check_id(_text(self.type, "item type"), "item type")
        check_id(_text(self.id, "item id"), "item id")

    def __str__(self) -> str:
        return f"{self.type}/{self.id}"

    @classmethod
    def from_target(cls, target: str) -> ItemRef:
        """An item as Bitrix24's ``crm.automation.trigger`` names it: ``DEAL_25`` is deal 25, and
        ``SMART_PROC_7`` item 7 of type ``smart_proc`` (the type in lower case; a type whose code
        has capitals is named by ``{"type", "id"}`` instead)."""
        kind, _, item_id = _text(target, "target").rpartition("_")
        if not kind or not item_id:
            raise Invalid(f"target {target!r}: TYPE_ID, like DEAL_25")
        return cls(kind.lower(), item_id)


class ContactKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    VISITOR = "visitor"  # the site's visitor id (a cookie), for visits before the contact is known


@dataclass(frozen=True)
class Contact:
    """The person the event came from; the event applies to that contact's open items. The value
    is kept in its normal form (email in lower case, phone in E.164)."""

    kind: ContactKind
    value: str

    def __post_init__(self) -> None:
        try:
            kind = ContactKind(self.kind)
        except ValueError:
            raise Invalid(f"contact kind: one of {[k.value for k in ContactKind]}") from None
        value = _text(self.value, f"{kind} contact")
        match kind:
            case ContactKind.EMAIL:
                value = normal_email(value)
            case ContactKind.PHONE:
                value = normal_phone(value)
            case ContactKind.VISITOR:
                if not VISITOR_PATTERN.match(value):
                    raise Invalid("visitor id: 1-128 letters, digits, '_', '.', ':' or '-'")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", value)


@dataclass(frozen=True)
class TriggerEvent:
    """One happening that may fire triggers of one type.

    ``type`` is the trigger type code it can fire; ``data`` holds what triggers of that type filter
    on (that type's ``event_data`` model says what). The event reaches items either by ``item`` or
    by ``contact``, never both: a source that knows the item names it. ``chain`` carries the
    causes of a CRM change made by automation, so automation cannot fire itself for ever."""

    type: str
    source: str
    event_id: str
    tenant_id: str
    occurred_at: datetime
    item: ItemRef | None = None
    contact: Contact | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("type", "source"):
            if not CODE_PATTERN.match(_text(getattr(self, name), name)):
                raise Invalid(f"{name} {getattr(self, name)!r}: 2-64 lower-case letters, digits or '_'")
        if not EVENT_ID_PATTERN.match(_text(self.event_id, "event_id")):
            raise Invalid("event_id: 1-256 printable characters without spaces")
        if not TENANT_PATTERN.match(_text(self.tenant_id, "tenant_id")):
            raise Invalid(f"tenant_id {self.tenant_id!r} is not a tenant id")
        if not isinstance(self.occurred_at, datetime) or self.occurred_at.tzinfo is None:
            raise Invalid("occurred_at: a date-time with a time zone")
        if self.item is not None and not isinstance(self.item, ItemRef):
            raise Invalid("item: an item reference")
        if self.contact is not None and not isinstance(self.contact, Contact):
            raise Invalid("contact: a contact")
        if (self.item is None) == (self.contact is None):
            raise Invalid("an event reaches its items either by item reference or by contact")
        if not isinstance(self.chain, tuple | list) or len(self.chain) > MAX_CHAIN:
            raise Invalid(f"chain: a list of at most {MAX_CHAIN} causes")
        object.__setattr__(self, "chain", tuple(_text(cause, "chain") for cause in self.chain))
        object.__setattr__(self, "data", _json_object(self.data))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the journal keeps; ``from_dict`` reads it back into an equal event."""
        return {
            "type": self.type,
            "source": self.source,
            "event_id": self.event_id,
            "tenant_id": self.tenant_id,
            "occurred_at": self.occurred_at.isoformat(),
            "item": None if self.item is None else {"type": self.item.type, "id": self.item.id},
            "contact": None
            if self.contact is None
            else {"kind": self.contact.kind.value, "value": self.contact.value},
            "data": json.loads(json.dumps(self.data)),
            "chain": list(self.chain),
        }

    @classmethod
    def from_dict(cls, values: Any) -> TriggerEvent:
        """An event from its JSON form; Invalid (never another error) for anything else."""
        if not isinstance(values, dict):
            raise Invalid("a trigger event is an object")
        required = {"type", "source", "event_id", "tenant_id", "occurred_at"}
        missing = required - set(values)
        if missing:
            raise Invalid(f"a trigger event needs {sorted(missing)}")
        unknown = set(values) - required - {"item", "contact", "data", "chain"}
        if unknown:
            raise Invalid(f"a trigger event has no {sorted(unknown)}")
        try:
            occurred_at = datetime.fromisoformat(_text(values["occurred_at"], "occurred_at"))
        except ValueError:
            raise Invalid("occurred_at: an ISO 8601 date-time") from None
        return cls(
            type=values["type"],
            source=values["source"],
            event_id=values["event_id"],
            tenant_id=values["tenant_id"],
            occurred_at=occurred_at,
            item=_part(values.get("item"), ItemRef, ("type", "id")),
            contact=_part(values.get("contact"), Contact, ("kind", "value")),
            data=values.get("data", {}),
            chain=values.get("chain", ()),
        )


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{what}: a text")
    return value


def _part[T](values: Any, kind: type[T], keys: tuple[str, str]) -> T | None:
    if values is None:
        return None
    if not isinstance(values, dict) or set(values) != set(keys):
        raise Invalid(f"{kind.__name__}: an object with {list(keys)}")
    return kind(**values)


def _json_object(data: Any) -> dict[str, Any]:
    """A copy of ``data`` (so the caller's later changes do not reach the event), checked to be
    plain JSON: objects with text keys, lists, text, finite numbers, true/false, null."""
    if not isinstance(data, Mapping):
        raise Invalid("data: an object")
    copy = _json_value(data, "data", 0)
    if len(json.dumps(copy, ensure_ascii=False).encode()) > MAX_DATA_BYTES:
        raise Invalid(f"data: at most {MAX_DATA_BYTES // 1000} KB")
    return copy


def _json_value(value: Any, path: str, depth: int) -> Any:
    if depth > MAX_NESTING:
        raise Invalid(f"{path}: nested deeper than {MAX_NESTING}")
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise Invalid(f"{path}: keys are texts")
        return {key: _json_value(v, f"{path}.{key}", depth + 1) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v, f"{path}[{n}]", depth + 1) for n, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{path}: a finite number")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise Invalid(f"{path}: {type(value).__name__} is not plain JSON")
