"""When a delayed robot is due (``crm.domain.delays.due_at``): after N minutes, hours or calendar
days, before or after a date field, at a time of day, shifted into working time; across time zones
and daylight-saving changes; and the delay settings themselves, in their stored forms old and new."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.domain.delays import Delay, DelayKind, DelayUnit, due_at
from crm.domain.errors import Invalid
from crm.domain.robot_settings import WorkSchedule
from crm.domain.rules import Rule, RuleKind
from tests.unit.builders import deal

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
IN_BERLIN = WorkSchedule("Europe/Berlin")
GERMANY = WorkSchedule("Europe/Berlin", holiday_country="DE")


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def due(delay: Delay, base: datetime, schedule: WorkSchedule = IN_BERLIN, **fields) -> datetime | None:
    return due_at(delay, base=base, value_of=deal(fields=fields).value_of, schedule=schedule)


def after(amount: int, unit: str = "minutes", **kw) -> Delay:
    return Delay(DelayKind.AFTER, amount, DelayUnit(unit), **kw)


# ---------------------------------------------------------------- at once, after N units


def test_an_immediate_robot_is_due_at_its_base_in_utc():
    answer = due(Delay(), berlin(2026, 1, 5, 10, 0))
    assert answer == datetime(2026, 1, 5, 9, 0, tzinfo=UTC) and answer.tzinfo is UTC


@pytest.mark.parametrize(
    ("delay", "expected"),
    [
        (after(90), berlin(2026, 1, 5, 11, 30)),
        (after(3, "hours"), berlin(2026, 1, 5, 13, 0)),
        (after(2, "days"), berlin(2026, 1, 7, 10, 0)),
        (after(0), berlin(2026, 1, 5, 10, 0)),
    ],
)
def test_after_n_units_counts_from_the_base(delay, expected):
    assert due(delay, berlin(2026, 1, 5, 10, 0)) == expected


def test_after_days_keeps_the_local_time_across_spring_forward_and_hours_do_not():
    saturday_nine = berlin(2026, 3, 28, 9, 0)  # clocks go forward on Sunday 2026-03-29 at 02:00
    assert due(after(1, "days"), saturday_nine) == berlin(2026, 3, 29, 9, 0)
    assert due(after(24, "hours"), saturday_nine) == berlin(2026, 3, 29, 10, 0)


def test_after_days_keeps_the_local_time_across_fall_back_and_hours_do_not():
    saturday_nine = berlin(2026, 10, 24, 9, 0)  # clocks go back on Sunday 2026-10-25 at 03:00
    assert due(after(1, "days"), saturday_nine) == berlin(2026, 10, 25, 9, 0)
    assert due(after(24, "hours"), saturday_nine) == berlin(2026, 10, 25, 8, 0)


def test_days_are_the_tenants_calendar_days_in_new_york():
    in_new_york = WorkSchedule("America/New_York")
    saturday_ten = datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK)  # DST starts on 2026-03-08
    assert due(after(1, "days"), saturday_ten, in_new_york) == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    assert due(after(24, "hours"), saturday_ten, in_new_york) == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)


def test_a_day_that_lands_on_a_skipped_wall_time_resolves_as_fold_0_an_hour_later():
    # 02:30 on 2026-03-29 does not exist in Berlin: fold=0 takes the offset before the change
    # (+01:00), which is 03:30 CEST.
    assert due(after(1, "days"), berlin(2026, 3, 28, 2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert due(after(1, "days"), berlin(2026, 3, 28, 2, 30)) == berlin(2026, 3, 29, 3, 30)


def test_a_day_that_lands_on_a_repeated_wall_time_takes_its_first_occurrence():
    # 02:30 on 2026-10-25 happens twice in Berlin: fold=0 is the first one, still CEST (+02:00).
    assert due(after(1, "days"), berlin(2026, 10, 24, 2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_day_after_the_second_of_two_equal_wall_times_keeps_the_wall_time():
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)  # CET, 01:30 UTC
    assert second.astimezone(UTC).hour == 1
    assert due(after(1, "days"), second) == berlin(2026, 10, 26, 2, 30)
    assert due(after(0, "days"), second) == second.astimezone(UTC)  # no move at all: the same moment


# ---------------------------------------------------------------- before and after a date field


def test_a_day_before_a_date_field_is_the_previous_midnight_in_the_tenants_zone():
    delay = Delay(DelayKind.BEFORE_FIELD, 1, DelayUnit.DAYS, field="deadline")
    assert due(delay, berlin(2026, 11, 1, 12, 0), deadline="2026-12-01") == berlin(2026, 11, 30, 0, 0)


def test_hours_after_a_date_time_field_count_from_its_instant():
    delay = Delay(DelayKind.AFTER_FIELD, 2, DelayUnit.HOURS, field="meeting")
    answer = due(delay, berlin(2026, 11, 1, 12, 0), meeting="2026-12-01T10:00:00+03:00")
    assert answer == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_date_time_without_offset_is_read_on_the_tenants_clocks():
    delay = Delay(DelayKind.BEFORE_FIELD, 30, field="meeting")
    assert due(delay, berlin(2026, 11, 1), meeting="2026-12-01T10:00") == berlin(2026, 12, 1, 9, 30)


def test_date_and_datetime_objects_are_read_as_their_text_would_be():
    delay = Delay(DelayKind.AFTER_FIELD, 0, field="day")
    assert due(delay, berlin(2026, 1, 1), day=date(2026, 12, 1)) == berlin(2026, 12, 1, 0, 0)
    moment = datetime(2026, 12, 1, 8, 15, tzinfo=UTC)
    assert due(delay, berlin(2026, 1, 1), day=moment) == moment


def test_a_date_field_in_tokyo_is_midnight_in_tokyo():
    delay = Delay(DelayKind.BEFORE_FIELD, 0, field="deadline")
    in_tokyo = WorkSchedule("Asia/Tokyo")
    answer = due(delay, datetime(2026, 11, 1, tzinfo=UTC), in_tokyo, deadline="2026-12-01")
    assert answer == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("empty", [None, "", []])
@pytest.mark.parametrize("kind", [DelayKind.BEFORE_FIELD, DelayKind.AFTER_FIELD])
def test_an_empty_date_field_answers_none_the_run_is_skipped(kind, empty):
    assert due(Delay(kind, 60, field="deadline"), berlin(2026, 1, 5), deadline=empty) is None


def test_a_field_the_item_does_not_have_is_empty():
    assert due(Delay(DelayKind.BEFORE_FIELD, 60, field="deadline"), berlin(2026, 1, 5)) is None


@pytest.mark.parametrize("value", ["soon", "2026-13-01", 42, True, ["2026-12-01"]])
def test_a_field_value_that_is_no_date_is_invalid(value):
    with pytest.raises(Invalid, match=r"delay field 'deadline' holds .*not a date or date-time"):
        due(Delay(DelayKind.BEFORE_FIELD, 60, field="deadline"), berlin(2026, 1, 5), deadline=value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (DelayKind.AFTER_FIELD, "9999-12-31"),
        (DelayKind.BEFORE_FIELD, "0001-01-01"),
        (DelayKind.AFTER_FIELD, "9999-12-31T23:30:00+00:00"),
    ],
)
def test_a_due_time_beyond_the_calendar_is_invalid(kind, value):
    with pytest.raises(Invalid, match="falls outside the years 1 to 9999"):
        due(Delay(kind, 1, DelayUnit.DAYS, field="deadline"), berlin(2026, 1, 5), deadline=value)


def test_a_due_time_in_the_past_is_answered_as_it_is():
    delay = Delay(DelayKind.BEFORE_FIELD, 1, DelayUnit.DAYS, field="deadline")
    assert due(delay, berlin(2026, 6, 1, 12, 0), deadline="2026-01-10") == berlin(2026, 1, 9, 0, 0)


def test_a_past_due_time_in_working_time_waits_for_working_time_from_the_base():
    delay = Delay(DelayKind.BEFORE_FIELD, 1, DelayUnit.DAYS, field="deadline", working_time=True)
    # Due long ago; planned on a Saturday: not at once, on Monday morning.
    saturday = berlin(2026, 6, 6, 12, 0)
    assert due(delay, saturday, deadline="2026-01-10") == berlin(2026, 6, 8, 9, 0)
    # Planned on a working Tuesday: at once.
    tuesday = berlin(2026, 6, 9, 12, 0)
    assert due(delay, tuesday, deadline="2026-01-10") == tuesday


# ---------------------------------------------------------------- at a time of day


def at(time_of_day: str, amount: int = 0, unit: str = "minutes", **kw) -> Delay:
    return Delay(DelayKind.AT_TIME, amount, DelayUnit(unit), time_of_day=time_of_day, **kw)


def test_at_a_time_of_day_is_today_if_not_yet_passed():
    assert due(at("10:00"), berlin(2026, 1, 5, 8, 0)) == berlin(2026, 1, 5, 10, 0)


def test_at_a_time_of_day_already_passed_is_tomorrow():
    assert due(at("10:00"), berlin(2026, 1, 5, 11, 0)) == berlin(2026, 1, 6, 10, 0)


def test_at_the_very_time_of_day_is_now():
    assert due(at("10:00"), berlin(2026, 1, 5, 10, 0)) == berlin(2026, 1, 5, 10, 0)


def test_at_a_time_of_day_after_n_units_counts_from_the_base_plus_them():
    assert due(at("10:00", 1, "days"), berlin(2026, 1, 5, 11, 0)) == berlin(2026, 1, 7, 10, 0)
    assert due(at("10:00", 1, "days"), berlin(2026, 1, 5, 9, 0)) == berlin(2026, 1, 6, 10, 0)


def test_at_a_time_of_day_in_the_tenants_zone():
    in_tokyo = WorkSchedule("Asia/Tokyo")
    base = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert due(at("08:00"), base, in_tokyo) == datetime(2026, 1, 6, 8, 0, tzinfo=TOKYO)


def test_at_a_skipped_time_of_day_is_an_hour_later_that_day():
    assert due(at("02:30"), berlin(2026, 3, 29, 0, 0)) == berlin(2026, 3, 29, 3, 30)


def test_at_a_time_of_day_in_working_time_on_a_weekend_waits_for_monday():
    friday_evening = berlin(2026, 1, 9, 19, 0)
    assert due(at("10:00"), friday_evening) == berlin(2026, 1, 10, 10, 0)  # Saturday
    assert due(at("10:00", working_time=True), friday_evening) == berlin(2026, 1, 12, 9, 0)


# ---------------------------------------------------------------- working time


def test_a_due_time_after_hours_on_friday_shifts_to_monday_morning():
    # Friday 17:30 + 1 hour is 18:30, after the working day: the start of the next one.
    assert due(after(1, "hours", working_time=True), berlin(2026, 1, 9, 17, 30)) == berlin(2026, 1, 12, 9, 0)


def test_a_due_time_in_working_time_stays():
    assert due(after(1, "hours", working_time=True), berlin(2026, 1, 9, 16, 0)) == berlin(2026, 1, 9, 17, 0)


def test_a_due_time_before_hours_shifts_to_nine_the_same_day():
    assert due(after(30, working_time=True), berlin(2026, 1, 6, 7, 0)) == berlin(2026, 1, 6, 9, 0)


def test_a_public_holiday_is_not_working_time():
    # Thursday 2026-12-24 18:30; Friday 25th and Saturday 26th are holidays in Germany.
    delay = after(30, working_time=True)
    assert due(delay, berlin(2026, 12, 24, 18, 0), IN_BERLIN) == berlin(2026, 12, 25, 9, 0)
    assert due(delay, berlin(2026, 12, 24, 18, 0), GERMANY) == berlin(2026, 12, 28, 9, 0)


def test_a_regional_holiday_counts_in_its_subdivision_only():
    # Epiphany (Tuesday 2026-01-06) is a holiday in Bavaria, not in Berlin.
    delay = after(30, working_time=True)
    bavaria = WorkSchedule("Europe/Berlin", holiday_country="DE", holiday_subdivision="BY")
    monday_evening = berlin(2026, 1, 5, 18, 0)
    assert due(delay, monday_evening, GERMANY) == berlin(2026, 1, 6, 9, 0)
    assert due(delay, monday_evening, bavaria) == berlin(2026, 1, 7, 9, 0)


def test_working_time_across_spring_forward_starts_at_nine_summer_time():
    assert due(after(1, "hours", working_time=True), berlin(2026, 3, 27, 17, 30)) == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )


def test_working_time_in_new_york():
    in_new_york = WorkSchedule("America/New_York")
    friday = datetime(2026, 1, 9, 17, 30, tzinfo=NEW_YORK)
    assert due(after(1, "hours", working_time=True), friday, in_new_york) == datetime(
        2026, 1, 12, 14, 0, tzinfo=UTC
    )


# ---------------------------------------------------------------- the settings of a delay


def test_the_default_is_immediate():
    assert Delay() == Delay(DelayKind.IMMEDIATE, 0, DelayUnit.MINUTES, None, None, False)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": DelayKind.AT_TIME}, "needs time_of_day"),
        ({"kind": DelayKind.AT_TIME, "time_of_day": "25:00"}, "not a time of day"),
        ({"kind": DelayKind.AT_TIME, "time_of_day": "9:00"}, "not a time of day"),
        ({"kind": DelayKind.AFTER, "time_of_day": "09:00"}, "takes no time_of_day"),
        ({"kind": DelayKind.BEFORE_FIELD}, "needs field"),
        ({"kind": DelayKind.AFTER_FIELD, "field": "bad field"}, "delay field 'bad field' must be"),
        ({"kind": DelayKind.AT_TIME, "time_of_day": "09:00", "field": "deadline"}, "takes no field"),
        ({"kind": DelayKind.IMMEDIATE, "amount": 5}, "takes no amount"),
        ({"kind": DelayKind.AFTER, "amount": -1}, "must not be negative"),
        ({"kind": DelayKind.AFTER, "amount": True}, "whole number"),
        ({"kind": DelayKind.AFTER, "amount": 1.5}, "whole number"),
        ({"kind": DelayKind.AFTER, "amount": 366, "unit": "days"}, r"at most a year \(365 days\)"),
        ({"kind": DelayKind.AFTER, "amount": 8761, "unit": "hours"}, "at most a year"),
        ({"kind": DelayKind.AFTER, "amount": 525_601}, "at most a year"),
        ({"kind": DelayKind.AFTER, "amount": 2, "unit": "weeks"}, "delay unit: one of 'minutes'"),
        ({"kind": "later"}, "delay kind: one of 'immediate'"),
        ({"kind": DelayKind.AFTER, "working_time": "yes"}, "working_time"),
    ],
)
def test_inconsistent_delays_are_invalid_with_the_reason(values, message):
    with pytest.raises(Invalid, match=message):
        Delay(**values)


@pytest.mark.parametrize(("amount", "unit"), [(525_600, "minutes"), (8760, "hours"), (365, "days")])
def test_a_year_is_the_longest_delay(amount, unit):
    assert Delay(DelayKind.AFTER, amount, DelayUnit(unit)).amount == amount


def test_the_stored_form_round_trips():
    delay = Delay(DelayKind.AT_TIME, 2, DelayUnit.DAYS, time_of_day="10:00", working_time=True)
    assert delay.to_dict() == {
        "kind": "at_time",
        "amount": 2,
        "unit": "days",
        "field": None,
        "time_of_day": "10:00",
        "working_time": True,
    }
    assert Delay.from_dict(delay.to_dict()) == delay


def test_the_old_stored_form_counted_minutes():
    old = {"kind": "before_field", "minutes": 90, "field": "deadline", "working_time": True}
    assert Delay.from_dict(old) == Delay(
        DelayKind.BEFORE_FIELD, 90, DelayUnit.MINUTES, field="deadline", working_time=True
    )


def test_a_rule_stored_with_the_old_delay_reads_and_writes_the_new_form():
    stored = {
        "id": "r1",
        "kind": "robot",
        "type_code": "send_email",
        "name": "Remind",
        "stage_id": "NEW",
        "delay": {"kind": "after", "minutes": 60, "field": None, "working_time": False},
    }
    rule = Rule.from_dict(stored)
    assert rule.kind is RuleKind.ROBOT and rule.delay == Delay(DelayKind.AFTER, 60)
    assert rule.to_dict()["delay"] == Delay(DelayKind.AFTER, 60).to_dict()
    assert Rule.from_dict(rule.to_dict()) == rule


def test_minutes_and_an_amount_together_are_refused():
    with pytest.raises(Invalid, match="not both"):
        Delay.from_dict({"kind": "after", "minutes": 5, "amount": 5})
    with pytest.raises(Invalid, match="not both"):
        Delay.from_dict({"kind": "after", "minutes": 5, "unit": "hours"})


def test_a_base_without_time_zone_is_a_bug():
    with pytest.raises(ValueError, match="time zone"):
        due(Delay(), datetime(2026, 1, 5, 10, 0))
