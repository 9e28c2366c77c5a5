"""The CRM's own objects: tenants, employees, item types, pipelines with stages, items, timeline.

Plain dataclasses: persistence maps them from outside (``crm.adapters``), so nothing here knows
about DynamoDB.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from crm.domain.errors import Invalid

# Ids become parts of DynamoDB keys joined with '#', so they are restricted to a safe alphabet.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
# Webhook and app trigger codes, as Bitrix24 spells them: Latin letters, digits and '_'.
TRIGGER_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.match(value):
        raise Invalid(f"{what} {value!r} must be 1-64 letters, digits, '_', '.' or '-'")
    return value


def slug(name: str, taken: Iterable[str] = ()) -> str:
    """The id derived from a name, for pipelines and stages alike: its words in lower case joined by
    '_' ('Preparing documents' -> 'preparing_documents'), with '_2', '_3', ... if ``taken`` has it."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    if not words:
        raise Invalid(f"cannot derive an id from {name!r}: give one")
    base = "_".join(words).lower()[:60]
    taken = set(taken)
    return next(
        candidate
        for candidate in (base if n == 1 else f"{base}_{n}" for n in itertools.count(1))
        if candidate not in taken
    )


# Numbers are stored as DynamoDB numbers (38 significant digits, 1e-130 to 1e125 in magnitude);
# a CRM needs far less, and a bound keeps sums and comparisons exact enough to trust.
MAX_NUMBER = 1e15
MIN_FRACTION = 1e-9


def check_number(value: float | int, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{what} takes a number")
    if not math.isfinite(value) or abs(value) >= MAX_NUMBER or (value and abs(value) < MIN_FRACTION):
        raise Invalid(f"{what} must be 0 or a finite number between 1e-9 and 1e15 in magnitude")
    return value


# ---------------------------------------------------------------- tenants and employees


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime

    def __post_init__(self) -> None:
        if not TENANT_PATTERN.match(self.id):
            raise Invalid("tenant id must be 3-40 lower-case letters, digits or '-'")


@dataclass(frozen=True)
class AppTrigger:
    """A code an application registered (Bitrix24's ``crm.automation.trigger.add``): triggers of
    type *app trigger* name it, and the application fires them with it."""

    code: str
    name: str
    created_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not TRIGGER_CODE_PATTERN.match(self.code):
            raise Invalid(f"app trigger code {self.code!r}: 1-64 Latin letters, digits or '_'")
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= 200:
            raise Invalid(f"app trigger {self.code!r}: a name of 1-200 characters")


@dataclass(frozen=True)
class Employee:
    id: str
    name: str
    email: str
    phone: str | None = None
    supervisor_id: str | None = None
    time_zone: str = "UTC"
    active: bool = True

    def __post_init__(self) -> None:
        # Also checks what storage hands back: a record written by an older, laxer version fails here.
        for name in ("id", "name", "email", "time_zone"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise Invalid(f"employee {self.id!r}: {name} must be a non-empty text")
        if not isinstance(self.active, bool):
            raise Invalid(f"employee {self.id!r}: active must be true or false")


# ---------------------------------------------------------------- item types and their fields


class FieldType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"


@dataclass(frozen=True)
class FieldDefinition:
    """A custom (user) field of an item type, like Bitrix24's UF_CRM_* fields."""

    code: str
    name: str
    type: FieldType
    required: bool = False
    multiple: bool = False
    options: tuple[str, ...] = ()

    def coerce(self, value: Any) -> Any:
        """The stored form of ``value``, or Invalid with a message a user can act on."""
        if value is None:
            if self.required:
                raise Invalid(f"field {self.code!r} is required")
            return None
        if self.multiple:
            if not isinstance(value, list):
                raise Invalid(f"field {self.code!r} takes a list")
            if len(value) > MAX_FIELD_VALUES:
                raise Invalid(f"field {self.code!r} takes at most {MAX_FIELD_VALUES} values")
            if self.required and not value:
                raise Invalid(f"field {self.code!r} is required")
            return [self._coerce_one(v) for v in value]
        return self._coerce_one(value)

    def _coerce_one(self, value: Any) -> Any:
        match self.type:
            case FieldType.STRING:
                if not isinstance(value, str):
                    raise Invalid(f"field {self.code!r} takes text")
                if len(value) > MAX_FIELD_TEXT:
                    raise Invalid(f"field {self.code!r} takes at most {MAX_FIELD_TEXT} characters")
                if self.required and not value.strip():
                    raise Invalid(f"field {self.code!r} is required")
                return value
            case FieldType.NUMBER:
                return check_number(value, f"field {self.code!r}")
            case FieldType.BOOLEAN:
                if not isinstance(value, bool):
                    raise Invalid(f"field {self.code!r} takes true or false")
                return value
            case FieldType.DATE:
                try:
                    return date.fromisoformat(value).isoformat()
                except (TypeError, ValueError):
                    raise Invalid(f"field {self.code!r} takes a date (YYYY-MM-DD)") from None
            case FieldType.DATETIME:
                try:
                    parsed = datetime.fromisoformat(value)
                except (TypeError, ValueError):
                    raise Invalid(f"field {self.code!r} takes an ISO 8601 date-time") from None
                if parsed.tzinfo is None:
                    raise Invalid(f"field {self.code!r} needs a time zone offset")
                return parsed.isoformat()
            case FieldType.ENUM:
                if value not in self.options:
                    raise Invalid(f"field {self.code!r} takes one of {list(self.options)}")
                return value


MAX_FIELD_TEXT = 2000
MAX_FIELD_VALUES = 20

BUILT_IN_TYPES = {"lead": "Lead", "deal": "Deal", "quote": "Quote", "invoice": "Invoice"}


@dataclass(frozen=True)
class ItemType:
    """Lead, deal, quote, invoice, or a user-defined smart process; with its custom fields.

    ``version`` grows with every change, so a warm container may keep the type and an item write
    can check it is still current; 0 for a type never saved with one (a built-in type nobody has
    customised, or a record written before types had versions)."""

    code: str
    name: str
    fields: tuple[FieldDefinition, ...] = ()
    built_in: bool = False
    version: int = 0

    def field(self, code: str) -> FieldDefinition:
        for definition in self.fields:
            if definition.code == code:
                return definition
        raise Invalid(f"{self.code} has no field {code!r}")

    def coerce_fields(self, values: dict[str, Any], *, complete: bool) -> dict[str, Any]:
        """Validates custom field values; ``complete`` also checks that required fields are there."""
        coerced = {code: self.field(code).coerce(value) for code, value in values.items()}
        if complete:
            for definition in self.fields:
                if definition.required and coerced.get(definition.code) is None:
                    raise Invalid(f"field {definition.code!r} is required")
        return coerced

    def to_dict(self) -> dict[str, Any]:
        """The type as JSON (its ``version`` is kept beside it, not in it)."""
        return {
            "code": self.code,
            "name": self.name,
            "built_in": self.built_in,
            "fields": [
                {
                    "code": f.code,
                    "name": f.name,
                    "type": f.type.value,
                    "required": f.required,
                    "multiple": f.multiple,
                    "options": list(f.options),
                }
                for f in self.fields
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], version: int = 0) -> ItemType:
        return cls(
            code=data["code"],
            name=data["name"],
            built_in=data.get("built_in", False),
            fields=tuple(
                FieldDefinition(
                    f["code"],
                    f["name"],
                    FieldType(f["type"]),
                    f["required"],
                    f["multiple"],
                    tuple(f["options"]),
                )
                for f in data["fields"]
            ),
            version=version,
        )


# ---------------------------------------------------------------- pipelines and stages


class StageSemantic(StrEnum):
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    color: str
    sort: int
    semantic: StageSemantic = StageSemantic.IN_PROGRESS

    @property
    def is_final(self) -> bool:
        return self.semantic is not StageSemantic.IN_PROGRESS


COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class Pipeline:
    """One funnel of one item type: stages in order, in-progress ones first, then the final ones.

    ``version`` grows with every change to the pipeline or its rules, so a warm container may keep
    the configuration and a write can check it is still current.
    """

    id: str
    item_type: str
    name: str
    stages: tuple[Stage, ...]
    version: int = 1
    is_default: bool = False

    def __post_init__(self) -> None:
        check_id(self.id, "pipeline id")
        ids = [s.id for s in self.stages]
        if not ids:
            raise Invalid("a pipeline needs at least one stage")
        if len(set(ids)) != len(ids):
            raise Invalid("stage ids must be unique in a pipeline")
        for stage in self.stages:
            check_id(stage.id, "stage id")
            if not COLOR_PATTERN.match(stage.color):
                raise Invalid(f"stage {stage.id!r}: colour must be #RRGGBB")
            if not stage.name.strip():
                raise Invalid(f"stage {stage.id!r}: name must not be empty")
        semantics = [s.semantic for s in self.stages]
        if StageSemantic.IN_PROGRESS not in semantics:
            # New items start in the first stage: it must be one where work happens.
            raise Invalid("a pipeline needs at least one in-progress stage")
        first_final = next((i for i, s in enumerate(self.stages) if s.is_final), len(self.stages))
        if any(not s.is_final for s in self.stages[first_final:]):
            raise Invalid("final stages (success, failure) come after every in-progress stage")
        if semantics.count(StageSemantic.SUCCESS) > 1:
            raise Invalid("a pipeline has at most one success stage")

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise Invalid(f"pipeline {self.id!r} has no stage {stage_id!r}")

    def has_stage(self, stage_id: str) -> bool:
        return any(s.id == stage_id for s in self.stages)

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    def with_stages(self, stages: list[Stage]) -> Pipeline:
        """The pipeline with ``stages`` in the order given, re-numbered, at the next version."""
        numbered = tuple(replace(s, sort=(i + 1) * 10) for i, s in enumerate(stages))
        return replace(self, stages=numbered, version=self.version + 1)


# ---------------------------------------------------------------- causes and items


class CauseKind(StrEnum):
    API = "api"
    TRIGGER = "trigger"
    ROBOT = "robot"


@dataclass(frozen=True)
class Cause:
    """Why something changed. ``ref`` names the rule or source event; ``chain`` lists the causes
    that led here, so robots that move stages cannot loop for ever."""

    kind: CauseKind
    ref: str | None = None
    chain: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "ref": self.ref, "chain": list(self.chain)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cause:
        return cls(CauseKind(data["kind"]), data.get("ref"), tuple(data.get("chain") or ()))


@dataclass(frozen=True)
class StageMove:
    """The last stage move, stored on the item so the stream carries who, why and from where."""

    from_stage: str | None
    to_stage: str
    by: str | None
    cause: Cause
    at: datetime


@dataclass
class Item:
    type: str
    id: str
    pipeline_id: str
    stage_id: str
    title: str
    created_at: datetime
    updated_at: datetime
    amount: float | None = None
    currency: str | None = None
    responsible_id: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    company: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    stage_entered_at: datetime | None = None
    last_move: StageMove | None = None
    # Why the editable values last changed: the stream carries it on ItemUpdated, so that a change
    # made by automation fires triggers with its chain, and loops stop at the chain bound.
    last_change: Cause | None = None

    # The attributes a user may change with an update (stage changes go through the policy).
    EDITABLE = ("title", "amount", "currency", "responsible_id", "emails", "phones", "company", "fields")
    # Each contact is a record in the item's write transaction (100 actions at most), and a
    # record is at most 400 KB with its change's timeline entry holding old and new values.
    MAX_CONTACTS = 20
    MAX_BYTES = 100_000

    def __post_init__(self) -> None:
        # Also checks what storage hands back: a record written by an older, laxer version fails here.
        if not isinstance(self.title, str) or not self.title:
            raise Invalid(f"{self.ref}: title must be a non-empty text")
        if not all(isinstance(v, str) for v in (*self.emails, *self.phones)):
            raise Invalid(f"{self.ref}: emails and phones are texts")
        if not isinstance(self.fields, dict):
            raise Invalid(f"{self.ref}: fields must be an object")

    def check_limits(self) -> None:
        for kind in ("emails", "phones"):
            if len(getattr(self, kind)) > self.MAX_CONTACTS:
                raise Invalid(f"an item has at most {self.MAX_CONTACTS} {kind}")
        if self.amount is not None:
            check_number(self.amount, "amount")
        size = len(json.dumps({name: getattr(self, name) for name in self.EDITABLE}, default=str).encode())
        if size > self.MAX_BYTES:
            raise Invalid(
                f"the item would take {size // 1000} KB; an item takes at most {self.MAX_BYTES // 1000} KB"
            )

    @property
    def ref(self) -> str:
        return f"{self.type}/{self.id}"

    def value_of(self, name: str) -> Any:
        """A field by the name conditions use: a standard attribute, or a custom field's code."""
        if name in self.fields:
            return self.fields[name]
        if name in ("type", "id", "pipeline_id", "stage_id", *self.EDITABLE):
            return getattr(self, name)
        return None

    def changes_to(self, other: Item) -> dict[str, tuple[Any, Any]]:
        """Field -> (old, new) for every editable value that differs (custom fields one by one)."""
        changes: dict[str, tuple[Any, Any]] = {}
        for name in self.EDITABLE:
            if name == "fields":
                continue
            if getattr(self, name) != getattr(other, name):
                changes[name] = (getattr(self, name), getattr(other, name))
        for code in sorted(set(self.fields) | set(other.fields)):
            old, new = self.fields.get(code), other.fields.get(code)
            if old != new:
                changes[f"fields.{code}"] = (old, new)
        return changes


@dataclass(frozen=True)
class ItemSummary:
    """What finding items by a contact answers of each item: what it is and what it is called. None
    of it changes when the item moves or its fields change, so the contact index can carry it and
    rewrite it only when the title changes (the item itself is one read away)."""

    type: str
    id: str
    title: str
    pipeline_id: str
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.type}/{self.id}"

    @classmethod
    def of(cls, item: Item) -> ItemSummary:
        return cls(item.type, item.id, item.title, item.pipeline_id, item.created_at)


# ---------------------------------------------------------------- timeline


class TimelineKind(StrEnum):
    CREATED = "created"
    STAGE_CHANGED = "stage_changed"
    FIELDS_CHANGED = "fields_changed"
    COMMENT = "comment"
    MOVE_REFUSED = "move_refused"
    EMAIL_RECEIVED = "email_received"
    EMAIL_SENT = "email_sent"  # mail sent from the CRM to the item's contact
    ACTIVITY = "activity"  # a call or an email an employee logged
    TASK_COMPLETED = "task_completed"  # a task on the item was done
    PAYMENT_RECEIVED = "payment_received"  # a payment for the item (crm.service.payments)
    CALL = "call"  # a call through one of the tenant's telephony lines (crm.service.telephony)


@dataclass(frozen=True)
class TimelineEntry:
    id: str  # ``entry_id()``
    kind: TimelineKind
    at: datetime
    by: str | None
    data: dict[str, Any]


def entry_id() -> str:
    """A new timeline or journal entry's id: random, so that entries written at the same instant
    (their sort keys begin with the time) stay apart."""
    return secrets.token_hex(8)
