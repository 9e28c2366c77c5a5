"""What a warm container keeps between invocations: configuration read once and checked by version
inside the writes that depend on it (pipelines, item types, default pipelines), and the tenants'
mailbox tokens. Every such cache is made here, so that one call empties them all (tests, a new
moto)."""

from __future__ import annotations

import time
from collections.abc import Callable

_caches: list[dict] = []


class Bounded[K, V](dict[K, V]):
    """A dict that forgets its oldest entry past ``limit`` entries: a container serving many tenants
    (or asked for many unknown names) must not grow until Lambda's memory runs out. A forgotten
    entry costs one read when it is next needed."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        while key not in self and len(self) >= self.limit:
            try:
                self.pop(next(iter(self)), None)
            except (RuntimeError, StopIteration):  # another thread changed it meanwhile: look again
                continue
        super().__setitem__(key, value)


def cache[K, V](limit: int) -> dict[K, V]:
    made: dict[K, V] = Bounded(limit)
    _caches.append(made)
    return made


def clear() -> None:
    for made in _caches:
        made.clear()


class Kept[K, V]:
    """Values a warm container keeps for ``seconds``, then reads again: what a request does not
    check inside its own write (an account's or a line's secret, a tenant's employees), so that a
    change reaches every warm container within that time. A value read as None (there is none) is
    kept too only with ``keep_missing``: otherwise the next request reads again, so one created a
    moment later is found at once."""

    def __init__(self, limit: int, seconds: float, *, keep_missing: bool = False) -> None:
        self._entries: dict[K, tuple[float, V | None]] = cache(limit)
        self.seconds = seconds
        self.keep_missing = keep_missing

    def get(self, key: K, read: Callable[[], V | None]) -> V | None:
        kept = self._entries.get(key)
        if kept is None or time.monotonic() - kept[0] > self.seconds:
            value = read()
            if value is None and not self.keep_missing:
                self._entries.pop(key, None)
                return None
            kept = (time.monotonic(), value)
            self._entries[key] = kept
        return kept[1]

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
