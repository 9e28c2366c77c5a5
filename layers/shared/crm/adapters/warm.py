"""What a warm container keeps between invocations: configuration read once and checked by version
inside the writes that depend on it (pipelines, item types, default pipelines), and the tenants'
mailbox tokens. Every such cache is made here, so that one call empties them all (tests, a new
moto)."""

from __future__ import annotations

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
