"""Which minutes' buckets a sweeper tick reads: from its cursor to now, at most an hour at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.service.robots.sweeper import MAX_MINUTES_PER_TICK, minutes_to_read

NOW = datetime(2026, 3, 3, 10, 0, 30, tzinfo=UTC)
MINUTE = NOW.replace(second=0)


def test_the_first_tick_reads_the_last_hour_up_to_the_current_minute():
    minutes = minutes_to_read(None, NOW)
    assert len(minutes) == MAX_MINUTES_PER_TICK and minutes[-1] == MINUTE


def test_a_tick_reads_from_its_cursor_to_the_current_minute():
    assert minutes_to_read("2026-03-03T09:58", NOW) == [MINUTE - timedelta(minutes=n) for n in (2, 1, 0)]


def test_a_sweeper_far_behind_catches_up_an_hour_per_tick_oldest_first():
    minutes = minutes_to_read("2026-03-03T07:00", NOW)
    assert minutes[0] == datetime(2026, 3, 3, 7, 0, tzinfo=UTC) and len(minutes) == MAX_MINUTES_PER_TICK
