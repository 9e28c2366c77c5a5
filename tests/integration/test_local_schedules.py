"""Schedule expressions (EventBridge rate/cron, Scheduler at) and the clock's ISO-8601 durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.runtime import parse_duration
from infra.schedules import parse

NOON = datetime(2026, 3, 6, 12, 0, 30, tzinfo=UTC)  # a Friday


def test_a_rate_counts_from_when_the_rule_was_created() -> None:
    every_five = parse("rate(5 minutes)", anchor=NOON)

    assert every_five.next_after(NOON) == NOON + timedelta(minutes=5)
    assert every_five.next_after(NOON + timedelta(minutes=7)) == NOON + timedelta(minutes=10)
    assert parse("rate(1 day)", anchor=NOON).next_after(NOON) == NOON + timedelta(days=1)


@pytest.mark.parametrize(
    ("expression", "zone", "expected"),
    [
        ("cron(0 3 * * ? *)", "UTC", datetime(2026, 3, 7, 3, 0, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", "UTC", datetime(2026, 3, 6, 12, 15, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", "UTC", datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        ("cron(30 8 1 JAN,JUL ? *)", "UTC", datetime(2026, 7, 1, 8, 30, tzinfo=UTC)),
        ("cron(0 9 * * ? *)", "Europe/Moscow", datetime(2026, 3, 7, 6, 0, tzinfo=UTC)),
        ("cron(0 0 1 1 ? 2025)", "UTC", None),
    ],
)
def test_cron_finds_the_next_matching_minute(expression: str, zone: str, expected: datetime | None) -> None:
    assert parse(expression, anchor=NOON, zone=zone).next_after(NOON) == expected


def test_a_one_time_schedule_fires_once() -> None:
    once = parse("at(2026-03-06T18:00:00)", anchor=NOON)

    assert once.next_after(NOON) == datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    assert once.next_after(datetime(2026, 3, 6, 18, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    "expression", ["cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "cron(* * * *)", "every day"]
)
def test_unsupported_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        parse(expression, anchor=NOON)


def test_durations_in_iso_8601() -> None:
    assert parse_duration("PT2H") == timedelta(hours=2)
    assert parse_duration("P1DT30M") == timedelta(days=1, minutes=30)
    assert parse_duration("P1W") == timedelta(weeks=1)
    assert parse_duration("PT0.5S") == timedelta(seconds=0.5)
    for text in ("P1M", "P", "2h"):
        with pytest.raises(ValueError):
            parse_duration(text)
