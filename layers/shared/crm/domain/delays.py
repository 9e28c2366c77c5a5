"""When a delayed robot is due, as Bitrix24 and 1C users set it: at once; N minutes, hours or days
after entering the stage (or after the previous robot); N units before or after a date field's
value; at a time of day; and, for any of them, only in the tenant's working time.

Minutes and hours are elapsed time; days are calendar days on the tenant's clocks, so "after 1 day"
entered at 09:00 is due at 09:00 the next day across a daylight-saving change, where "after 24
hours" is not. Local times resolve as ``crm.domain.robot_settings.local_moment`` says (fold=0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from crm.domain.errors import Invalid
from crm.domain.model import check_id
from crm.domain.robot_settings import WorkSchedule, local_moment, minute_of_day


class DelayKind(StrEnum):
    IMMEDIATE = "immediate"
    AFTER = "after"  # N units after the base: entering the stage, or the previous robot's end
    BEFORE_FIELD = "before_field"  # N units before a date or date-time field's value
    AFTER_FIELD = "after_field"  # N units after a date or date-time field's value
    AT_TIME = "at_time"  # the first time_of_day at or after the base plus N units


class DelayUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


# A delay is at most a year, in any unit.
MAX_AMOUNT = {DelayUnit.MINUTES: 365 * 24 * 60, DelayUnit.HOURS: 365 * 24, DelayUnit.DAYS: 365}
FIELD_KINDS = (DelayKind.BEFORE_FIELD, DelayKind.AFTER_FIELD)


def _member[E: StrEnum](enum: type[E], value: Any, what: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise Invalid(f"delay {what}: one of {', '.join(repr(m.value) for m in enum)}") from None


@dataclass(frozen=True)
class Delay:
    """When a robot runs after it is planned (see the module docstring); ``working_time`` shifts
    the due time to the tenant's next working moment."""

    kind: DelayKind = DelayKind.IMMEDIATE
    amount: int = 0
    unit: DelayUnit = DelayUnit.MINUTES
    field: str | None = None  # the date field of before_field and after_field
    time_of_day: str | None = None  # "HH:MM" of at_time, on the tenant's clocks
    working_time: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", _member(DelayKind, self.kind, "kind"))
        object.__setattr__(self, "unit", _member(DelayUnit, self.unit, "unit"))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise Invalid(f"delay amount is a whole number of {self.unit.value}")
        if self.amount < 0:
            raise Invalid("delay amount must not be negative")
        if self.amount > MAX_AMOUNT[self.unit]:
            raise Invalid(f"delay amount: at most a year ({MAX_AMOUNT[self.unit]} {self.unit.value})")
        if not isinstance(self.working_time, bool):
            raise Invalid("delay working_time: true or false")
        needs_field = self.kind in FIELD_KINDS
        if needs_field != (self.field is not None):
            raise Invalid(f"a {self.kind} delay {'needs' if needs_field else 'takes no'} field")
        if self.field is not None:
            check_id(self.field, "delay field")
        at_time = self.kind is DelayKind.AT_TIME
        if at_time != (self.time_of_day is not None):
            raise Invalid(f"a {self.kind} delay {'needs' if at_time else 'takes no'} time_of_day")
        if self.time_of_day is not None:
            minute_of_day(self.time_of_day, "delay time_of_day")
        if self.kind is DelayKind.IMMEDIATE and self.amount:
            raise Invalid("an immediate delay takes no amount: use kind 'after'")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "amount": self.amount,
            "unit": self.unit.value,
            "field": self.field,
            "time_of_day": self.time_of_day,
            "working_time": self.working_time,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Delay:
        """A delay from its stored form, or from the older one that counted only minutes
        (``{"kind", "minutes", "field", "working_time"}``)."""
        amount, unit = data.get("amount"), data.get("unit")
        if data.get("minutes") is not None:
            if amount is not None or unit not in (None, DelayUnit.MINUTES):
                raise Invalid("delay: give amount and unit, or minutes, not both")
            amount, unit = data["minutes"], DelayUnit.MINUTES
        return cls(
            kind=data.get("kind") or DelayKind.IMMEDIATE,
            amount=0 if amount is None else amount,
            unit=unit or DelayUnit.MINUTES,
            field=data.get("field"),
            time_of_day=data.get("time_of_day"),
            working_time=bool(data.get("working_time")),
        )


def later(moment: datetime, amount: int, unit: DelayUnit, schedule: WorkSchedule) -> datetime:
    """``moment`` moved by ``amount`` units (negative: earlier): elapsed minutes and hours, or
    calendar days on the tenant's clocks."""
    if amount == 0:
        return moment.astimezone(UTC)
    if unit is DelayUnit.DAYS:
        local = moment.astimezone(schedule.zone)
        minute = local.hour * 60 + local.minute
        moved = local_moment(local.date() + timedelta(days=amount), minute, schedule.zone)
        return moved + timedelta(seconds=local.second, microseconds=local.microsecond)
    per = 60 if unit is DelayUnit.HOURS else 1
    return moment.astimezone(UTC) + timedelta(minutes=amount * per)


def field_moment(value: Any, name: str, schedule: WorkSchedule) -> datetime | None:
    """The moment a date or date-time field's value stands for (a date: its midnight on the tenant's
    clocks; a date-time without offset: on the tenant's clocks); None if it is empty."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        value = _parsed(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=schedule.zone)).astimezone(UTC)
    if isinstance(value, date):
        return local_moment(value, 0, schedule.zone)
    raise Invalid(f"delay field {name!r} holds {value!r}, not a date or date-time")


def _parsed(text: str) -> date | datetime | str:
    """A date ("2026-12-01") or date-time in ISO form; the text itself if it is neither."""
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def due_at(
    delay: Delay,
    *,
    base: datetime,
    value_of: Callable[[str], Any],
    schedule: WorkSchedule,
) -> datetime | None:
    """The moment (UTC) a run with ``delay`` is due; ``base`` is when its delay starts counting
    (the item entered the stage, or the previous robot ended). None when the delay's date field is
    empty (the run is skipped). A due time already past is answered as it is (the run is due at
    once), except that a working-time delay never answers a moment outside working time: one that
    passed while the office was closed waits for it to open, counted from ``base``."""
    if base.tzinfo is None:
        raise ValueError("the base of a delay needs its time zone")
    base = base.astimezone(UTC)
    try:
        match delay.kind:
            case DelayKind.IMMEDIATE:
                due = base
            case DelayKind.AFTER:
                due = later(base, delay.amount, delay.unit, schedule)
            case DelayKind.BEFORE_FIELD | DelayKind.AFTER_FIELD:
                assert delay.field is not None
                moment = field_moment(value_of(delay.field), delay.field, schedule)
                if moment is None:
                    return None
                sign = -1 if delay.kind is DelayKind.BEFORE_FIELD else 1
                due = later(moment, sign * delay.amount, delay.unit, schedule)
            case DelayKind.AT_TIME:
                assert delay.time_of_day is not None
                due = _next_time_of_day(
                    later(base, delay.amount, delay.unit, schedule), delay.time_of_day, schedule
                )
        return schedule.next_working_moment(max(due, base)) if delay.working_time else due
    except OverflowError:  # a date field near year 1 or 9999
        raise Invalid(f"the due time of {delay.to_dict()} falls outside the years 1 to 9999") from None


def _next_time_of_day(moment: datetime, time_of_day: str, schedule: WorkSchedule) -> datetime:
    """The first ``time_of_day`` on the tenant's clocks at or after ``moment``."""
    minute = minute_of_day(time_of_day, "delay time_of_day")
    day = moment.astimezone(schedule.zone).date()
    today = local_moment(day, minute, schedule.zone)
    # Tomorrow's comes after the moment whatever today's clocks did (a skipped time moves forward).
    return today if today >= moment else local_moment(day + timedelta(days=1), minute, schedule.zone)
