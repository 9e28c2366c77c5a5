"""The one clock the application reads time from, and the clocks tests and the local runtime use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.domain import clock
from crm.domain.clock import FixedClock, OffsetClock, SystemClock, now, use_clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def restore_installed_clock(monkeypatch):
    """Whatever a test installs is taken away after it."""
    monkeypatch.setattr(clock, "_installed", clock._installed)


def test_a_fixed_clock_stands_still_until_advanced():
    fixed = FixedClock(T0)
    assert fixed.now() == fixed.now() == T0
    fixed.advance(timedelta(minutes=90))
    assert fixed.now() == T0 + timedelta(minutes=90)


def test_the_installed_clock_is_the_one_now_reads():
    fixed = FixedClock(T0)
    use_clock(fixed)
    assert now() == T0
    fixed.advance(timedelta(days=1))
    assert now() == T0 + timedelta(days=1)


def test_the_system_clock_tells_aware_utc_time():
    before = datetime.now(UTC)
    told = SystemClock().now()
    assert told.tzinfo is UTC
    assert before <= told <= datetime.now(UTC)


def test_an_offset_clock_runs_ahead_of_real_time_by_its_offset():
    ahead = OffsetClock(timedelta(hours=2))
    before = datetime.now(UTC)
    told = ahead.now()
    assert before + timedelta(hours=2) <= told <= datetime.now(UTC) + timedelta(hours=2)
    assert told.tzinfo is UTC


def test_an_offset_clock_moves_forward():
    ahead = OffsetClock()
    ahead.advance(timedelta(minutes=15))
    ahead.advance(timedelta(0))
    assert ahead.offset == timedelta(minutes=15)
    assert ahead.now() >= datetime.now(UTC) + timedelta(minutes=14)


def test_an_offset_clock_never_moves_back():
    ahead = OffsetClock(timedelta(hours=1))
    with pytest.raises(ValueError, match="only moves forward"):
        ahead.advance(timedelta(seconds=-1))
    assert ahead.offset == timedelta(hours=1)
