"""The sweeper: every minute (a scheduled rule), the delayed runs that fell due go to the run queue.

It reads only the due index's buckets of the minutes since it last finished (its cursor), each in
``SHARDS`` shards, so its cost follows the runs that fall due, not the backlog of runs due later.
Each tenant's runs pass its runs per minute; the rest move to the next minute's bucket (they wait,
they are not dropped). A run is sent first and then taken out of the index: a sweeper that stops
between the two sends it again next minute, and the runner runs it once.

A minute is read again on the next tick (the cursor stays one minute behind), so a run planned into
the current minute while a tick read it is not missed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crm.adapters import runs
from crm.adapters.runs import SHARDS, Change, minute_of
from crm.domain import clock
from crm.domain.errors import StaleWrite
from crm.domain.robots import Run, RunState
from crm.service.robots import RunQueue
from crm.service.robots.planner import within_throttle

# A sweeper that was stopped catches up this many minutes per tick (an hour each minute).
MAX_MINUTES_PER_TICK = 60
# Marking runs queued is one conditional write each; a few at a time keep a tick short.
WORKERS = 8
# A tick stops taking more runs after this long (the function's timeout is 55 s), a chunk at a time.
BUDGET_SECONDS = 40.0
CHUNK = 500


@dataclass(frozen=True)
class Swept:
    minutes: int  # the minutes read
    sent: int  # runs sent to the run queue
    deferred: int  # runs moved to the next minute by their tenant's runs per minute
    finished: bool = True  # False: the tick's time was up; the next one goes on from the same cursor


def minutes_to_read(since: str | None, now: datetime) -> list[datetime]:
    """The minutes to read: from the cursor (the first sweep: the last hour) to now, at most
    ``MAX_MINUTES_PER_TICK`` of them."""
    current = now.replace(second=0, microsecond=0)
    if since is None:
        start = current - timedelta(minutes=MAX_MINUTES_PER_TICK - 1)
    else:
        start = datetime.strptime(since, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    minutes, at = [], start
    while at <= current and len(minutes) < MAX_MINUTES_PER_TICK:
        minutes.append(at)
        at += timedelta(minutes=1)
    return minutes


def _due(minutes: Iterable[datetime], now: datetime) -> list[Run]:
    keys = [f"{minute_of(minute)}#{shard}" for minute in minutes for shard in range(SHARDS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        return [run for found in pool.map(lambda key: runs.due(key, now), keys) for run in found]


def sweep(queue: RunQueue, now: datetime | None = None, budget: float = BUDGET_SECONDS) -> Swept:
    """One tick. Past ``budget`` seconds of work it stops between chunks and leaves its cursor where
    it was: what it did not take is still in the index, and the next tick takes it (a tick cut short
    by Lambda's timeout would do the same, but as a failure, retried and alarmed)."""
    started = time.monotonic()
    now = now or clock.now()
    minutes = minutes_to_read(runs.sweep_cursor(), now)
    by_tenant: dict[str, list[Run]] = defaultdict(list)
    for run in _due(minutes, now):
        by_tenant[run.tenant_id].append(run)
    sent = deferred = 0
    chunks = []
    for tenant_id, due in by_tenant.items():
        due.sort(key=lambda run: run.due_at or now)  # the longest waiting first
        chunks += [(tenant_id, due[n : n + CHUNK]) for n in range(0, len(due), CHUNK)]
    for tenant_id, due in chunks:
        if time.monotonic() - started > budget:
            return Swept(len(minutes), sent, deferred, finished=False)
        ready, waiting = within_throttle(
            tenant_id, [r.moved_on(RunState.QUEUED, due_at=None) for r in due], now
        )
        queue.send(ready)
        before = {run.id: run for run in due}
        moved = [(run, before[run.id]) for run in (*ready, *waiting)]
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda pair: _moved(*pair), moved))
        sent, deferred = sent + len(ready), deferred + len(waiting)
    # The current minute is read again next time: runs can still be planned into it.
    last_done = now.replace(second=0, microsecond=0) - timedelta(minutes=1)
    if minutes and last_done >= minutes[0]:
        runs.set_sweep_cursor(minute_of(min(last_done, minutes[-1])))
    return Swept(len(minutes), sent, deferred)


def _moved(after: Run, before: Run) -> None:
    """Out of this minute's bucket (queued, or into the next minute's); a run the runner claimed
    meanwhile is left as the runner has it."""
    with suppress(StaleWrite):
        runs.write([Change(after, before)])
