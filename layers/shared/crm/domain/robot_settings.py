"""The tenant's robot settings: its working time (time zone, working hours per weekday, public
holidays, extra days off and working days), which delayed robots set to "only in working time"
wait for, and its throttle (robot runs per minute; the excess waits in the due index).

Local times resolve as zoneinfo's ``fold=0`` does (``local_moment``): a wall time skipped by a
spring-forward change (02:30 in Berlin on 2026-03-29) takes the offset before the change and lands
an hour later (03:30 CEST); a wall time that happens twice at a fall-back change (02:30 on
2026-10-25) is its first occurrence (CEST).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.domain.errors import Invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday()'s order
# How far ahead the next working moment is looked for: a year and a day covers every weekly
# schedule and a year of holidays; a schedule with no working time in it has none at all.
SEARCH_DAYS = 366
MAX_DATES = 1000  # extra days off, extra working days
DEFAULT_RUNS_PER_MINUTE = 600
MAX_RUNS_PER_MINUTE = 10_000
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def minute_of_day(text: Any, what: str, *, end: bool = False) -> int:
    """Minutes since midnight of a clock time "HH:MM" (00:00-23:59; an ``end`` may be 24:00, the end
    of the day); Invalid otherwise."""
    if end and text == "24:00":
        return 24 * 60
    matched = _CLOCK_TIME.match(text) if isinstance(text, str) else None
    if matched is None:
        latest = "24:00" if end else "23:59"
        raise Invalid(f"{what}: {text!r} is not a time of day (HH:MM, 00:00 to {latest})")
    return int(matched[1]) * 60 + int(matched[2])


def zone_of(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # OSError: a folder of the zone database ("Europe") is no zone.
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise Invalid(f"time_zone: {name!r} is not an IANA time zone (like Europe/Berlin)") from None


def local_moment(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC moment of ``minute`` past midnight of ``day`` on the zone's clocks (24:00: the next
    day's midnight). Skipped and repeated wall times resolve as ``fold=0`` does (module docstring)."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _dates(values: Iterable[Any], what: str) -> frozenset[date]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise Invalid(f"{what}: a list of dates (YYYY-MM-DD)")
    days = set()
    for value in values:
        if isinstance(value, date) and not isinstance(value, datetime):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise Invalid(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    if len(days) > MAX_DATES:
        raise Invalid(f"{what}: at most {MAX_DATES} dates")
    return frozenset(days)


@dataclass(frozen=True)
class WorkingHours:
    """One day's working period, from ``start`` to ``end`` ("HH:MM"; the end may be 24:00)."""

    start: str
    end: str
    first_minute: int = field(init=False, repr=False, compare=False)
    last_minute: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_minute", minute_of_day(self.start, "working hours start"))
        object.__setattr__(self, "last_minute", minute_of_day(self.end, "working hours end", end=True))
        if self.first_minute >= self.last_minute:
            raise Invalid(f"working hours {self.start}-{self.end}: the start must be before the end")

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start, "end": self.end}


OFFICE_HOURS = WorkingHours("09:00", "18:00")
WORKING_WEEK = (OFFICE_HOURS,) * 5 + (None, None)


@lru_cache(maxsize=1024)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    # Imported here: the package costs some 70 ms of imports, which a tenant without a holiday
    # country (and every function that never computes a due time) should not pay.
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


@lru_cache(maxsize=1024)
def _check_region(country: str, subdivision: str | None) -> None:
    """Invalid, saying how to name one, unless the holiday calendar knows the country (ISO 3166-1
    alpha-2) and, if given, its subdivision (ISO 3166-2, without the country part)."""
    import holidays

    known = holidays.list_supported_countries()
    countries = sorted(code for code in known if len(code) == 2)
    if country not in countries:
        raise Invalid(
            f"holidays.country: {country!r} is not a country of the holiday calendar; name it by its "
            f"ISO 3166-1 alpha-2 code, one of {', '.join(countries)}"
        )
    if subdivision is not None and subdivision not in known[country]:
        has = f"one of {', '.join(known[country])}" if known[country] else "none: leave it out"
        raise Invalid(
            f"holidays.subdivision: {subdivision!r} is not a subdivision of {country}; name it by its "
            f"ISO 3166-2 code without the country part, {has}"
        )


@dataclass(frozen=True)
class WorkSchedule:
    """When the tenant works: ``hours`` per weekday (Monday first; None: no working time that day),
    less the public holidays of ``holiday_country`` (and ``holiday_subdivision``) and ``days_off``;
    ``working_days`` are worked whatever the weekday or holiday, with that weekday's hours, or the
    hours most weekdays have when it has none (a Saturday worked in place of a holiday)."""

    time_zone: str = "UTC"
    hours: tuple[WorkingHours | None, ...] = WORKING_WEEK
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        zone_of(self.time_zone)
        object.__setattr__(self, "hours", tuple(self.hours))
        if len(self.hours) != len(WEEKDAYS) or not all(
            h is None or isinstance(h, WorkingHours) for h in self.hours
        ):
            raise Invalid("working hours: one entry per weekday, Monday first, None for a day off")
        object.__setattr__(self, "days_off", _dates(self.days_off, "days_off"))
        object.__setattr__(self, "working_days", _dates(self.working_days, "working_days"))
        if both := sorted(self.days_off & self.working_days):
            raise Invalid(f"{both[0].isoformat()} is both a day off and a working day")
        if self.working_days and self.usual_hours is None:
            raise Invalid("working_days: a schedule without working hours on any weekday has none to give")
        if self.holiday_country is None:
            if self.holiday_subdivision is not None:
                raise Invalid("holidays.subdivision: only with a holiday country")
            return
        country = str(self.holiday_country).upper()
        subdivision = None if self.holiday_subdivision is None else str(self.holiday_subdivision).upper()
        _check_region(country, subdivision)
        object.__setattr__(self, "holiday_country", country)
        object.__setattr__(self, "holiday_subdivision", subdivision)

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.time_zone)

    @property
    def usual_hours(self) -> WorkingHours | None:
        """The hours most weekdays have (the earliest weekday's on a tie); None for a schedule without any."""
        worked = [h for h in self.hours if h is not None]
        return Counter(worked).most_common(1)[0][0] if worked else None

    def is_holiday(self, day: date) -> bool:
        if self.holiday_country is None:
            return False
        return day in _holidays(self.holiday_country, self.holiday_subdivision, day.year)

    def hours_on(self, day: date) -> WorkingHours | None:
        """The working hours of a date of the tenant's calendar; None for a day without work."""
        if day in self.working_days:
            return self.hours[day.weekday()] or self.usual_hours
        if day in self.days_off or self.is_holiday(day):
            return None
        return self.hours[day.weekday()]

    def is_working(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        hours = self.hours_on(local.date())
        if hours is None:
            return False
        seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return hours.first_minute * 60 <= seconds < hours.last_minute * 60

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` (in UTC) if it is working time, else the start of the next working period;
        Invalid if the next :data:`SEARCH_DAYS` days hold none."""
        if moment.tzinfo is None:
            raise ValueError("a moment needs its time zone")
        moment = moment.astimezone(UTC)
        zone = self.zone
        day = moment.astimezone(zone).date()
        for _ in range(SEARCH_DAYS + 1):
            hours = self.hours_on(day)
            if hours is not None:
                start = local_moment(day, hours.first_minute, zone)
                if moment < local_moment(day, hours.last_minute, zone):
                    return max(moment, start)
            day += timedelta(days=1)
        raise Invalid(f"no working time in the {SEARCH_DAYS} days from {moment.isoformat()}")

    def to_dict(self) -> dict[str, Any]:
        holidays = (
            {"country": self.holiday_country, "subdivision": self.holiday_subdivision}
            if self.holiday_country
            else None
        )
        return {
            "time_zone": self.time_zone,
            "working_hours": {
                name: hours.to_dict() if hours else None
                for name, hours in zip(WEEKDAYS, self.hours, strict=True)
            },
            "holidays": holidays,
            "days_off": sorted(d.isoformat() for d in self.days_off),
            "working_days": sorted(d.isoformat() for d in self.working_days),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkSchedule:
        """The schedule from its stored (and API) form; what is left out takes the default."""
        week = data.get("working_hours")
        if week is None:
            hours = WORKING_WEEK
        elif isinstance(week, Mapping) and set(week) <= set(WEEKDAYS):
            hours = tuple(_hours(week.get(name), name) for name in WEEKDAYS)
        else:
            raise Invalid(f"working_hours: an object with the weekdays {', '.join(WEEKDAYS)}")
        region = data.get("holidays") or {}
        return cls(
            time_zone=data.get("time_zone") or "UTC",
            hours=hours,
            holiday_country=region.get("country"),
            holiday_subdivision=region.get("subdivision"),
            days_off=data.get("days_off") or (),
            working_days=data.get("working_days") or (),
        )


def _hours(value: Any, weekday: str) -> WorkingHours | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) != {"start", "end"}:
        raise Invalid(f"working_hours.{weekday}: an object with start and end, or null for a day off")
    return WorkingHours(value["start"], value["end"])


@dataclass(frozen=True)
class RobotSettings:
    """A tenant's settings of its robots; ``updated_at`` None: never set, the defaults apply (UTC,
    Monday to Friday 09:00-18:00, no public holidays, 600 runs a minute)."""

    schedule: WorkSchedule = WorkSchedule()
    runs_per_minute: int = DEFAULT_RUNS_PER_MINUTE
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        runs = self.runs_per_minute
        if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS_PER_MINUTE:
            raise Invalid(f"runs_per_minute: a whole number from 1 to {MAX_RUNS_PER_MINUTE}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule.to_dict(),
            "runs_per_minute": self.runs_per_minute,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RobotSettings:
        updated_at = data.get("updated_at")
        return cls(
            schedule=WorkSchedule.from_dict(data.get("schedule") or {}),
            runs_per_minute=data.get("runs_per_minute", DEFAULT_RUNS_PER_MINUTE),
            updated_at=datetime.fromisoformat(updated_at) if isinstance(updated_at, str) else updated_at,
        )
