"""The one clock the application reads time from.

Handlers and the domain never call ``datetime.now()`` directly: the local runtime and the delayed
robots move time by swapping or advancing the clock installed here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (unit tests)."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by


class OffsetClock:
    """Real time plus an offset that only grows (the local runtime's ``POST /_local/clock``)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        if by < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.offset += by


_installed: Clock = SystemClock()


def use_clock(clock: Clock) -> None:
    global _installed
    _installed = clock


def now() -> datetime:
    return _installed.now()
