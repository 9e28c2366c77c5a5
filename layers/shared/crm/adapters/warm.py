"""What a warm container keeps between invocations: configuration read once and checked by version
inside the writes that depend on it (pipelines, item types, default pipelines), and the tenants'
mailbox tokens. Every such cache is made here, so that one call empties them all (tests, a new
moto)."""

from __future__ import annotations

_caches: list[dict] = []


def cache[K, V]() -> dict[K, V]:
    made: dict[K, V] = {}
    _caches.append(made)
    return made


def clear() -> None:
    for made in _caches:
        made.clear()
