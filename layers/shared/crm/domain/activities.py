"""Activities an employee logs on an item: a call made or taken, an email sent or received outside
the CRM. Outgoing ones are the client being contacted, and fire triggers (*outgoing call*, *email
sent to client*); incoming ones are kept on the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from crm.domain.errors import Invalid

MAX_SUBJECT = 998
MAX_NOTES = 10_000
DAY = 86_400
# A logged activity has happened: a time ahead of the server's by more than a clock's drift is a mistake.
CLOCK_DRIFT = timedelta(minutes=5)


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


@dataclass(frozen=True)
class Activity:
    kind: ActivityKind
    direction: Direction
    at: datetime | None  # None: now, when it is logged
    subject: str | None = None
    notes: str | None = None
    duration_seconds: int | None = None  # calls only
    message_id: str | None = None  # emails only: the Message-ID of the mail, if the employee has it
    by: str | None = None

    def __post_init__(self) -> None:
        for name, kind in (("kind", ActivityKind), ("direction", Direction)):
            try:
                object.__setattr__(self, name, kind(getattr(self, name)))
            except ValueError:
                raise Invalid(f"{name}: one of {[k.value for k in kind]}") from None
        if self.at is not None and self.at.tzinfo is None:
            raise Invalid("at: a date-time with a time zone")
        if self.duration_seconds is not None:
            if self.kind is not ActivityKind.CALL:
                raise Invalid("duration_seconds: only a call has a duration")
            if not 0 <= self.duration_seconds <= DAY:
                raise Invalid(f"duration_seconds: 0 to {DAY}")
        if self.message_id is not None and self.kind is not ActivityKind.EMAIL:
            raise Invalid("message_id: only an email has a Message-ID")
        if self.subject is not None and (len(self.subject) > MAX_SUBJECT or "\n" in self.subject):
            raise Invalid(f"subject: one line of at most {MAX_SUBJECT} characters")
        if self.notes is not None and len(self.notes) > MAX_NOTES:
            raise Invalid(f"notes: at most {MAX_NOTES:,} characters")

    def logged_at(self, now: datetime) -> datetime:
        """When it happened: ``at``, or ``now`` when not given; Invalid for a time in the future."""
        if self.at is None:
            return now
        if self.at > now + CLOCK_DRIFT:
            raise Invalid("at: a logged activity has happened already; the time given is in the future")
        # In UTC, as every time on the timeline: its entries are ordered by the text of their time.
        return self.at.astimezone(UTC)

    def to_dict(self) -> dict[str, Any]:
        values = {
            "kind": self.kind.value,
            "direction": self.direction.value,
            "at": None if self.at is None else self.at.isoformat(),
            "subject": self.subject,
            "notes": self.notes,
            "duration_seconds": self.duration_seconds,
            "message_id": self.message_id,
        }
        return {name: value for name, value in values.items() if value is not None}
