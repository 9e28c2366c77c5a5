"""What the robots that act inside the CRM (on employees, tasks and the item itself) share: their
params' base, template params checked when the robot is saved, texts rendered when it runs, the
employees they name, and times given as an offset from now or from a date field of the item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from crm.domain import templates
from crm.domain.errors import Invalid
from crm.domain.model import ID_PATTERN, Employee, Item
from crm.domain.robots import RobotContext, RobotFailed


class Params(BaseModel):
    """A robot's settings: unknown keys are refused, so a typing mistake cannot pass unnoticed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Outputs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoOutputs(Outputs):
    """A robot whose effect is all there is to it: later robots read nothing from it."""


def _parses(source: str) -> str:
    try:
        return templates.check(source, "template")
    except Invalid as error:
        raise ValueError(str(error)) from None


# A text param that may hold placeholders ({{ item.title }}, {{ robots.r1.task_id }}), checked to
# parse when the robot is saved.
Template = Annotated[str, Field(min_length=1, max_length=templates.MAX_TEMPLATE), AfterValidator(_parses)]
Id = Annotated[str, Field(pattern=ID_PATTERN.pattern)]
# Standard attributes and custom field codes, as conditions name them.
FieldName = Annotated[str, Field(pattern=ID_PATTERN.pattern)]


def rendered(ctx: RobotContext, source: str, what: str, limit: int) -> str:
    """``source`` rendered for the run, cut to ``limit`` characters; a template that fails or
    renders nothing fails the robot (another attempt would render the same)."""
    try:
        text = ctx.text(source).strip()
    except Invalid as error:
        raise RobotFailed(f"{what}: {error}", retryable=False) from None
    if not text:
        raise RobotFailed(f"{what} rendered empty", retryable=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def employee(ctx: RobotContext, employee_id: str | None) -> Employee | None:
    """The employee, active or not; None if there is no such employee."""
    return None if employee_id is None else ctx.ports.employees.get(ctx.tenant_id, employee_id)


def active(ctx: RobotContext, employee_id: str, what: str) -> Employee:
    """The active employee ``employee_id``; a robot naming one who is gone or inactive fails (until
    its settings change, another attempt fails the same)."""
    found = employee(ctx, employee_id)
    if found is None:
        raise RobotFailed(f"{what}: employee {employee_id!r} does not exist", retryable=False)
    if not found.active:
        raise RobotFailed(f"{what}: employee {employee_id!r} is inactive", retryable=False)
    return found


UNITS = {"minutes": 1, "hours": 60, "days": 1440}
MAX_OFFSET_MINUTES = 366 * 1440


class When(Params):
    """A time: ``offset`` units after the robot runs, or after (a negative offset: before) the value
    of a date or date-time field of the item. A date is the start of that day in the employee's
    time zone; days are counted on the wall clock there (9:00 stays 9:00 across a DST change),
    minutes and hours as they pass."""

    offset: int = Field(0, strict=True, ge=-MAX_OFFSET_MINUTES, le=MAX_OFFSET_MINUTES)
    unit: Literal["minutes", "hours", "days"] = "days"
    field: FieldName | None = Field(None, description="a date or date-time field of the item")

    @model_validator(mode="after")
    def _bounded(self) -> When:
        if abs(self.offset) * UNITS[self.unit] > MAX_OFFSET_MINUTES:
            raise ValueError("an offset of at most a year")
        if self.offset < 0 and self.field is None:
            raise ValueError("a negative offset counts back from a field: name the field")
        return self

    def at(self, ctx: RobotContext, item: Item, time_zone: str) -> datetime:
        zone = _zone(time_zone)
        start = ctx.now if self.field is None else _field_time(item, self.field, zone)
        if self.unit == "days":
            # Python adds to an aware time on its wall clock: the same time of day, days later.
            return (start.astimezone(zone) + timedelta(days=self.offset)).astimezone(UTC)
        return (start + timedelta(minutes=self.offset * UNITS[self.unit])).astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _field_time(item: Item, field: str, zone: ZoneInfo) -> datetime:
    value = item.value_of(field)
    if value is None or value == "":
        raise RobotFailed(f"the {item.type}'s field {field!r} is empty", retryable=False)
    if isinstance(value, str):
        try:
            if "T" in value:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is not None:
                    return parsed
            else:
                day = date.fromisoformat(value)
                return datetime(day.year, day.month, day.day, tzinfo=zone)
        except ValueError:
            pass
    raise RobotFailed(f"the {item.type}'s field {field!r} holds no date: {value!r}", retryable=False)
