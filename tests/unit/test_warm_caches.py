"""What a warm container keeps is bounded: past its limit a cache forgets its oldest entries."""

from __future__ import annotations

from crm.adapters import warm


def test_a_warm_cache_forgets_its_oldest_entries_past_its_limit():
    kept = warm.cache(limit=3)
    for n in range(5):
        kept[f"tenant-{n}"] = n

    assert dict(kept) == {"tenant-2": 2, "tenant-3": 3, "tenant-4": 4}


def test_replacing_an_entry_forgets_nothing():
    kept = warm.cache(limit=2)
    kept["a"], kept["b"] = 1, 2
    kept["a"] = 3

    assert dict(kept) == {"a": 3, "b": 2}


def test_clearing_the_warm_caches_empties_a_bounded_one():
    kept = warm.cache(limit=2)
    kept["a"] = 1
    warm.clear()

    assert kept == {}
