"""The tenant's robot settings (pure): its working time (hours per weekday, time zone, public
holidays, extra days off and working days) and its throttle; checked when set."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.domain.errors import Invalid
from crm.domain.robot_settings import (
    WORKING_WEEK,
    RobotSettings,
    WorkingHours,
    WorkSchedule,
    local_moment,
)

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
GERMANY = WorkSchedule("Europe/Berlin", holiday_country="DE")


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def week(**days: WorkingHours | None) -> tuple[WorkingHours | None, ...]:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return tuple(days.get(name) for name in names)


# ---------------------------------------------------------------- defaults


def test_a_tenant_that_set_nothing_works_monday_to_friday_nine_to_six_utc_600_runs_a_minute():
    settings = RobotSettings()
    assert settings.runs_per_minute == 600 and settings.updated_at is None
    schedule = settings.schedule
    assert schedule.time_zone == "UTC" and schedule.holiday_country is None
    assert schedule.hours == (WorkingHours("09:00", "18:00"),) * 5 + (None, None)
    assert schedule.is_working(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))  # a Monday
    assert not schedule.is_working(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))  # a Saturday


# ---------------------------------------------------------------- working hours


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (berlin(2026, 1, 5, 8, 59), False),
        (berlin(2026, 1, 5, 9, 0), True),  # the start is working time
        (berlin(2026, 1, 5, 17, 59, 59), True),
        (berlin(2026, 1, 5, 18, 0), False),  # the end is not
        (berlin(2026, 1, 9, 12, 0), True),  # Friday
        (berlin(2026, 1, 10, 12, 0), False),  # Saturday
        (berlin(2026, 1, 11, 12, 0), False),  # Sunday
    ],
)
def test_working_hours_in_the_tenants_zone(moment, working):
    assert WorkSchedule("Europe/Berlin").is_working(moment) is working
    assert WorkSchedule("Europe/Berlin").is_working(moment.astimezone(UTC)) is working


def test_the_same_instant_is_working_time_in_one_zone_and_not_in_another():
    monday_noon_utc = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo
    assert WorkSchedule("Europe/Berlin").is_working(monday_noon_utc)
    assert not WorkSchedule("Asia/Tokyo").is_working(monday_noon_utc)
    assert WorkSchedule("Asia/Tokyo").next_working_moment(monday_noon_utc) == datetime(
        2026, 1, 6, 9, 0, tzinfo=TOKYO
    )


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (berlin(2026, 1, 5, 10, 0), berlin(2026, 1, 5, 10, 0)),  # working: the moment itself
        (berlin(2026, 1, 5, 7, 0), berlin(2026, 1, 5, 9, 0)),  # before hours: today's start
        (berlin(2026, 1, 5, 18, 0), berlin(2026, 1, 6, 9, 0)),  # after hours: tomorrow's
        (berlin(2026, 1, 9, 18, 30), berlin(2026, 1, 12, 9, 0)),  # Friday evening: Monday
        (berlin(2026, 1, 10, 12, 0), berlin(2026, 1, 12, 9, 0)),  # Saturday: Monday
    ],
)
def test_the_next_working_moment(moment, expected):
    answer = WorkSchedule("Europe/Berlin").next_working_moment(moment)
    assert answer == expected and answer.tzinfo is UTC


def test_a_weekday_without_hours_and_one_with_other_hours():
    shop = WorkSchedule(
        "Europe/Berlin",
        week(mon=None, tue=WorkingHours("10:00", "14:00"), sat=WorkingHours("08:30", "24:00")),
    )
    assert shop.next_working_moment(berlin(2026, 1, 5, 10, 0)) == berlin(2026, 1, 6, 10, 0)
    assert shop.next_working_moment(berlin(2026, 1, 6, 14, 0)) == berlin(2026, 1, 10, 8, 30)
    assert shop.is_working(berlin(2026, 1, 10, 23, 59))  # until midnight


def test_working_hours_start_before_they_end():
    with pytest.raises(Invalid, match="the start must be before the end"):
        WorkingHours("18:00", "09:00")
    with pytest.raises(Invalid, match="the start must be before the end"):
        WorkingHours("09:00", "09:00")


@pytest.mark.parametrize(
    ("start", "end"), [("9:00", "18:00"), ("09:00", "24:01"), ("24:00", "24:00"), (9, 18)]
)
def test_working_hours_are_clock_times(start, end):
    with pytest.raises(Invalid, match="not a time of day"):
        WorkingHours(start, end)


def test_a_schedule_has_one_entry_per_weekday():
    with pytest.raises(Invalid, match="one entry per weekday"):
        WorkSchedule(hours=WORKING_WEEK[:5])


def test_a_schedule_without_any_working_time_has_no_next_working_moment():
    never = WorkSchedule(hours=week())
    with pytest.raises(Invalid, match="no working time in the 366 days"):
        never.next_working_moment(datetime(2026, 1, 5, tzinfo=UTC))


# ---------------------------------------------------------------- public holidays


def test_german_christmas_holidays_are_days_off():
    assert GERMANY.is_holiday(date(2026, 12, 25)) and GERMANY.is_holiday(date(2026, 12, 26))
    assert not GERMANY.is_working(berlin(2026, 12, 25, 10, 0))  # a Friday
    assert GERMANY.next_working_moment(berlin(2026, 12, 24, 18, 0)) == berlin(2026, 12, 28, 9, 0)
    assert WorkSchedule("Europe/Berlin").is_working(berlin(2026, 12, 25, 10, 0))


def test_epiphany_is_a_holiday_in_bavaria_not_in_all_germany():
    bavaria = WorkSchedule("Europe/Berlin", holiday_country="DE", holiday_subdivision="BY")
    assert bavaria.is_holiday(date(2026, 1, 6)) and not GERMANY.is_holiday(date(2026, 1, 6))
    assert bavaria.is_holiday(date(2026, 12, 25))  # the country's holidays too


def test_holidays_of_another_year_are_known():
    assert GERMANY.is_holiday(date(2031, 12, 25)) and GERMANY.is_holiday(date(2027, 10, 3))


def test_country_and_subdivision_codes_are_read_in_any_case():
    bavaria = WorkSchedule("Europe/Berlin", holiday_country="de", holiday_subdivision="by")
    assert (bavaria.holiday_country, bavaria.holiday_subdivision) == ("DE", "BY")


def test_an_unknown_country_is_refused_saying_how_to_name_one():
    with pytest.raises(Invalid) as refused:
        WorkSchedule(holiday_country="XX")
    message = str(refused.value)
    assert "'XX' is not a country" in message and "ISO 3166-1 alpha-2" in message
    assert "DE" in message and "US" in message


def test_an_unknown_subdivision_is_refused_listing_the_countrys():
    with pytest.raises(Invalid, match=r"'ZZ' is not a subdivision of DE.*BY"):
        WorkSchedule(holiday_country="DE", holiday_subdivision="ZZ")


def test_a_subdivision_needs_a_country():
    with pytest.raises(Invalid, match="only with a holiday country"):
        WorkSchedule(holiday_subdivision="BY")


# ---------------------------------------------------------------- extra days off and working days


def test_an_extra_day_off_is_not_worked():
    closed = WorkSchedule("Europe/Berlin", days_off={date(2026, 12, 31)})
    assert not closed.is_working(berlin(2026, 12, 31, 10, 0))
    assert closed.next_working_moment(berlin(2026, 12, 30, 18, 0)) == berlin(2027, 1, 1, 9, 0)
    closed_in_germany = WorkSchedule("Europe/Berlin", holiday_country="DE", days_off=["2026-12-31"])
    assert closed_in_germany.next_working_moment(berlin(2026, 12, 30, 18, 0)) == berlin(2027, 1, 4, 9, 0)


def test_an_extra_working_day_on_a_holiday_weekend_takes_the_usual_hours():
    # Saturday 2026-12-26 is both a weekend and a holiday; the office opens anyway.
    stocktaking = WorkSchedule("Europe/Berlin", holiday_country="DE", working_days=["2026-12-26"])
    assert stocktaking.is_working(berlin(2026, 12, 26, 9, 0))
    assert not stocktaking.is_working(berlin(2026, 12, 26, 18, 0))
    assert stocktaking.next_working_moment(berlin(2026, 12, 24, 18, 0)) == berlin(2026, 12, 26, 9, 0)


def test_an_extra_working_day_on_a_weekday_keeps_that_weekdays_hours():
    short_friday = WorkSchedule(
        "Europe/Berlin",
        week(mon=WorkingHours("09:00", "18:00"), fri=WorkingHours("09:00", "13:00")),
        holiday_country="DE",
        working_days=["2026-12-25"],
    )
    assert short_friday.hours_on(date(2026, 12, 25)) == WorkingHours("09:00", "13:00")


def test_the_usual_hours_are_those_most_weekdays_have():
    schedule = WorkSchedule(
        hours=week(
            mon=WorkingHours("10:00", "16:00"),
            tue=WorkingHours("09:00", "18:00"),
            wed=WorkingHours("09:00", "18:00"),
        )
    )
    assert schedule.usual_hours == WorkingHours("09:00", "18:00")


def test_a_day_cannot_be_both_off_and_worked():
    with pytest.raises(Invalid, match="2026-12-31 is both a day off and a working day"):
        WorkSchedule(days_off=["2026-12-31"], working_days=[date(2026, 12, 31)])


def test_extra_working_days_need_some_weekday_with_hours():
    with pytest.raises(Invalid, match="without working hours"):
        WorkSchedule(hours=week(), working_days=["2026-12-31"])


@pytest.mark.parametrize("days", [["2026-02-30"], ["31.12.2026"], [20261231], "2026-12-31"])
def test_extra_days_are_dates(days):
    with pytest.raises(Invalid, match="days_off"):
        WorkSchedule(days_off=days)


def test_extra_days_are_bounded():
    many = [date.fromordinal(date(2026, 1, 1).toordinal() + n) for n in range(1001)]
    with pytest.raises(Invalid, match="at most 1000 dates"):
        WorkSchedule(working_days=many)


# ---------------------------------------------------------------- time zones and DST


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "Europe", "a\x00b", None])
def test_an_unknown_time_zone_is_refused(zone):
    with pytest.raises(Invalid, match="is not an IANA time zone"):
        WorkSchedule(zone)


def test_local_times_resolve_as_fold_0():
    # Skipped (spring forward): the offset before the change; repeated (fall back): the first.
    assert local_moment(date(2026, 3, 29), 2 * 60 + 30, BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert local_moment(date(2026, 10, 25), 2 * 60 + 30, BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local_moment(date(2026, 10, 25), 24 * 60, BERLIN) == berlin(2026, 10, 26, 0, 0)


def test_working_hours_follow_the_local_clock_across_dst():
    schedule = WorkSchedule("Europe/Berlin")
    # Friday before the change: 08:00 UTC is 09:00 CET; Monday after: 09:00 CEST is 07:00 UTC.
    assert schedule.is_working(datetime(2026, 3, 27, 8, 0, tzinfo=UTC))
    assert schedule.is_working(datetime(2026, 3, 30, 7, 0, tzinfo=UTC))
    assert not schedule.is_working(datetime(2026, 3, 30, 6, 59, tzinfo=UTC))


# ---------------------------------------------------------------- stored form, throttle


def test_the_stored_form_round_trips():
    settings = RobotSettings(
        WorkSchedule(
            "Europe/Berlin",
            week(mon=WorkingHours("09:00", "18:00"), sat=WorkingHours("10:00", "24:00")),
            holiday_country="DE",
            holiday_subdivision="BY",
            days_off=["2026-12-31"],
            working_days=["2026-12-27"],
        ),
        runs_per_minute=120,
        updated_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    stored = settings.to_dict()
    assert stored["schedule"] == {
        "time_zone": "Europe/Berlin",
        "working_hours": {
            "mon": {"start": "09:00", "end": "18:00"},
            "tue": None,
            "wed": None,
            "thu": None,
            "fri": None,
            "sat": {"start": "10:00", "end": "24:00"},
            "sun": None,
        },
        "holidays": {"country": "DE", "subdivision": "BY"},
        "days_off": ["2026-12-31"],
        "working_days": ["2026-12-27"],
    }
    assert stored["runs_per_minute"] == 120 and stored["updated_at"] == "2026-01-05T09:00:00+00:00"
    assert RobotSettings.from_dict(stored) == settings


def test_what_the_stored_form_leaves_out_is_the_default():
    assert RobotSettings.from_dict({}) == RobotSettings()
    assert WorkSchedule.from_dict({"time_zone": "Asia/Tokyo"}).hours == WORKING_WEEK


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"working_hours": {"monday": {"start": "09:00", "end": "18:00"}}}, "working_hours: an object"),
        ({"working_hours": {"mon": {"start": "09:00"}}}, "working_hours.mon: an object with start and end"),
        ({"working_hours": ["09:00-18:00"]}, "working_hours: an object"),
    ],
)
def test_a_malformed_stored_schedule_is_invalid(schedule, message):
    with pytest.raises(Invalid, match=message):
        WorkSchedule.from_dict(schedule)


@pytest.mark.parametrize("runs", [0, 10_001, -5, True, 1.5, "600"])
def test_the_throttle_is_1_to_10000_runs_a_minute(runs):
    with pytest.raises(Invalid, match="runs_per_minute: a whole number from 1 to 10000"):
        RobotSettings(runs_per_minute=runs)


@pytest.mark.parametrize("runs", [1, 10_000])
def test_the_throttle_bounds_are_allowed(runs):
    assert RobotSettings(runs_per_minute=runs).runs_per_minute == runs
