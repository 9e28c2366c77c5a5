"""Employees' work that robots hand out: tasks (to do, to call, to meet) with a deadline, in-app
notifications, and the turn of a robot that hands items out in turn.

A robot asks for these records to be stored (``Effects.records``); the runner writes them in its
run's transaction. Their ids come from the run's idempotency key, so a run that is retried makes the
same records, never a second task.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from crm.domain.errors import Invalid
from crm.domain.trigger_events import ItemRef

MAX_TITLE = 200
MAX_TEXT = 2000
MAX_PLACE = 500


def record_id(idempotency_key: str, *parts: str) -> str:
    """The id of a record a run makes: the same run (and part: a recipient, a kind), the same id."""
    return hashlib.sha256("|".join((idempotency_key, *parts)).encode()).hexdigest()[:20]


def utc(at: datetime) -> datetime:
    """Times are kept in UTC, so that their ISO forms sort as the times do (list keys use them)."""
    if at.tzinfo is None:
        raise Invalid("a time needs a time zone")
    return at.astimezone(UTC)


def _text(value: Any, what: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()) or len(value) > limit:
        raise Invalid(f"{what} must be {'a' if empty else 'a non-empty'} text of at most {limit} characters")
    return value


class TaskKind(StrEnum):
    TASK = "task"
    CALL = "call"
    MEETING = "meeting"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True)
class Task:
    """A task on an item for one employee: a to-do, a call or a meeting (those with a start time,
    a meeting with a place), due by ``deadline``."""

    id: str
    item: ItemRef
    kind: TaskKind
    assignee_id: str
    title: str
    deadline: datetime
    created_at: datetime
    created_by: str  # who made it: "robot:{rule id}"
    description: str = ""
    priority: Priority = Priority.NORMAL
    status: TaskStatus = TaskStatus.OPEN
    starts_at: datetime | None = None  # calls and meetings
    place: str | None = None  # meetings
    completed_at: datetime | None = None
    completed_by: str | None = None

    def __post_init__(self) -> None:
        _text(self.title, "a task's title", MAX_TITLE)
        _text(self.description, "a task's description", MAX_TEXT, empty=True)
        if self.place is not None:
            _text(self.place, "a meeting's place", MAX_PLACE)
        if (self.starts_at is not None) != (self.kind is not TaskKind.TASK):
            raise Invalid("calls and meetings have a start time, other tasks none")
        if self.place is not None and self.kind is not TaskKind.MEETING:
            raise Invalid("only a meeting has a place")
        object.__setattr__(self, "deadline", utc(self.deadline))
        if self.starts_at is not None:
            object.__setattr__(self, "starts_at", utc(self.starts_at))
            if self.deadline < self.starts_at:
                raise Invalid("a call or meeting ends after it starts")
        if (self.status is TaskStatus.DONE) != (self.completed_at is not None):
            raise Invalid("a task is done when, and only when, it has a completion time")

    def overdue(self, at: datetime) -> bool:
        return self.deadline < (self.completed_at or at)

    def completed(self, at: datetime, by: str | None) -> Task:
        return replace(self, status=TaskStatus.DONE, completed_at=utc(at), completed_by=by)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": {"type": self.item.type, "id": self.item.id},
            "kind": self.kind.value,
            "assignee_id": self.assignee_id,
            "title": self.title,
            "description": self.description,
            "deadline": self.deadline.isoformat(),
            "priority": self.priority.value,
            "status": self.status.value,
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "place": self.place,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "completed_by": self.completed_by,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        return cls(
            id=data["id"],
            item=ItemRef(data["item"]["type"], data["item"]["id"]),
            kind=TaskKind(data["kind"]),
            assignee_id=data["assignee_id"],
            title=data["title"],
            description=data.get("description") or "",
            deadline=datetime.fromisoformat(data["deadline"]),
            priority=Priority(data.get("priority", Priority.NORMAL)),
            status=TaskStatus(data["status"]),
            starts_at=datetime.fromisoformat(data["starts_at"]) if data.get("starts_at") else None,
            place=data.get("place"),
            created_at=datetime.fromisoformat(data["created_at"]),
            created_by=data["created_by"],
            completed_at=datetime.fromisoformat(data["completed_at"]) if data.get("completed_at") else None,
            completed_by=data.get("completed_by"),
        )


@dataclass(frozen=True)
class Notification:
    """An in-app message to one employee, about an item, unread until they read it."""

    id: str
    employee_id: str
    text: str
    created_at: datetime
    created_by: str  # "robot:{rule id}"
    item: ItemRef | None = None
    read_at: datetime | None = None

    def __post_init__(self) -> None:
        _text(self.text, "a notification's text", MAX_TEXT)
        object.__setattr__(self, "created_at", utc(self.created_at))

    @property
    def unread(self) -> bool:
        return self.read_at is None

    def read(self, at: datetime) -> Notification:
        return self if self.read_at is not None else replace(self, read_at=utc(at))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "employee_id": self.employee_id,
            "text": self.text,
            "item": None if self.item is None else {"type": self.item.type, "id": self.item.id},
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "read_at": self.read_at.isoformat() if self.read_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notification:
        item = data.get("item")
        return cls(
            id=data["id"],
            employee_id=data["employee_id"],
            text=data["text"],
            item=ItemRef(item["type"], item["id"]) if item else None,
            created_at=datetime.fromisoformat(data["created_at"]),
            created_by=data["created_by"],
            read_at=datetime.fromisoformat(data["read_at"]) if data.get("read_at") else None,
        )


@dataclass(frozen=True)
class Turn:
    """A round-robin robot's turns: ``taken`` turns so far, written only if ``taken_before`` is still
    the stored count, so two runs at once never take the same turn (one of them is written again)."""

    pipeline_id: str
    rule_id: str
    taken_before: int
    taken: int

    def __post_init__(self) -> None:
        if not 0 <= self.taken_before < self.taken:
            raise Invalid("a turn moves the count of turns forward")
