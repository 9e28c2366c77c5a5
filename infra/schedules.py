"""Schedule expressions as EventBridge reads them: ``rate(5 minutes)``, ``cron(0/15 8-18 ? * MON-FRI *)``
(six fields, minutes to years) and EventBridge Scheduler's one-time ``at(2026-01-01T09:00:00)``.

Not supported (a clear error at start-up): the ``L``, ``W`` and ``#`` cron modifiers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)")
_CRON = re.compile(r"cron\((.*)\)")
_AT = re.compile(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_WEEKDAYS = {name: number for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


class Expression(ABC):
    @abstractmethod
    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment``, None if there is none."""


@dataclass
class Rate(Expression):
    period: timedelta
    anchor: datetime  # rate schedules count from when the rule was created

    def next_after(self, moment: datetime) -> datetime:
        periods = max(0, (moment - self.anchor) // self.period) + 1
        return self.anchor + periods * self.period


@dataclass
class At(Expression):
    moment: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.moment if self.moment > moment else None


@dataclass
class Cron(Expression):
    minutes: set[int]
    hours: set[int]
    days: set[int] | None  # None: any (``?`` or ``*``)
    months: set[int]
    weekdays: set[int] | None  # 1 = Sunday, as in EventBridge
    years: set[int]
    zone: ZoneInfo

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(self.zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        while local.year <= max(self.years):
            if local.year not in self.years or local.month not in self.months:
                local = (local.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(local):
                local = local.replace(hour=0, minute=0) + timedelta(days=1)
            elif local.hour not in self.hours:
                local = local.replace(minute=0) + timedelta(hours=1)
            elif local.minute not in self.minutes:
                local += timedelta(minutes=1)
            else:
                return local.astimezone(UTC)
        return None

    def _day_matches(self, local: datetime) -> bool:
        weekday = local.isoweekday() % 7 + 1  # Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        return (self.days is None or local.day in self.days) and (
            self.weekdays is None or weekday in self.weekdays
        )


def parse(expression: str, *, anchor: datetime, zone: str = "UTC") -> Expression:
    expression = expression.strip()
    if rate := _RATE.fullmatch(expression):
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if amount < 1:
            raise ValueError(f"{expression}: the rate must be positive")
        return Rate(timedelta(**{f"{unit}s": amount}), anchor)
    if at := _AT.fullmatch(expression):
        return At(datetime.fromisoformat(at.group(1)).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC))
    if cron := _CRON.fullmatch(expression):
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise ValueError(
                f"{expression}: EventBridge cron has six fields (minutes hours day month weekday year)"
            )
        minutes, hours, days, months, weekdays, years = fields
        return Cron(
            minutes=_field(minutes, 0, 59),
            hours=_field(hours, 0, 23),
            days=None if days in ("?", "*") else _field(days, 1, 31),
            months=_field(months, 1, 12, _MONTHS),
            weekdays=None if weekdays in ("?", "*") else _field(weekdays, 1, 7, _WEEKDAYS),
            years=_field(years, 1970, 2199),
            zone=ZoneInfo(zone),
        )
    raise ValueError(f"not a schedule expression: {expression!r}")


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    words = re.findall(r"[A-Za-z]+", text)
    if "#" in text or any(names is None or word.upper() not in names for word in words):
        raise ValueError(f"cron field {text!r}: L, W and # are not supported by the local runtime")
    values: set[int] = set()
    for part in text.split(","):
        span, _, step = part.partition("/")
        if span in ("*", "?"):
            start, end = low, high
        elif "-" in span:
            first, last = span.split("-")
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(span, names)
            end = high if step else start
        values.update(range(start, end + 1, int(step) if step else 1))
    if not values or min(values) < low or max(values) > high:
        raise ValueError(f"cron field {text!r} is outside {low}-{high}")
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)
