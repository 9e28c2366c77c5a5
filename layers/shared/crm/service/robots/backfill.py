"""A robot created "also for items already here": a one-off backfill that plans the robot for every
item in its stage at that moment, as if each had just entered it (none of the peers but HubSpot
offers it).

The API request does not wait for it: it sends one ``robot_backfill`` message to the planner's
queue, whose handler tells it from the bus's events. Each message plans one page (``PAGE`` items,
one Query of the items' ByPipeline index) and sends the next page's message with the index's cursor.

Each item's run is the robot's run for the item's current stage entry: it counts from the item's
``stage_entered_at`` (a robot "after a day" runs at once for an item here for three), and its entry
id is derived from the robot and that moment, so a page delivered again plans nothing twice, an item
the planner planned the robot for already (it entered the stage as the robot was created) is left
alone, and a robot that does not repeat is not planned for an item it ran for. The item leaving the
stage cancels the run as it cancels any other. A robot that runs after the previous one runs on its
own here: the robots before it ran when the item came. Each run is journaled, noted "planned by
backfill". A robot removed, switched off or moved to another stage meanwhile ends the backfill.

Calls per page: the index Query, per item one Query (its runs) and one TransactWriteItems (its run
and journal entries), one UpdateItem (the throttle), SendMessageBatch in tens, one SendMessage (the
next page)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from crm.adapters import automation, items, runs
from crm.adapters.runs import Change
from crm.domain import clock
from crm.domain.delays import due_at
from crm.domain.errors import AlreadyRecorded, Invalid, NotFound
from crm.domain.model import Item
from crm.domain.robot_settings import WorkSchedule
from crm.domain.robots import Run, RunState, StageEntry, backfill_entry, plan
from crm.domain.rules import Rule, RuleKind
from crm.domain.trigger_events import ItemRef
from crm.service.robot_settings import for_tenant
from crm.service.robots import RunQueue, planner

KIND = "robot_backfill"
PAGE = 100
NOTE = "planned by backfill"


class PlannerQueue(Protocol):
    def send(self, message: Mapping[str, Any]) -> None:
        """One message to the planner's queue."""


@dataclass(frozen=True)
class BackfillRequest:
    """One page of a robot's backfill: the items of its stage after ``cursor``."""

    tenant_id: str
    item_type: str
    pipeline_id: str
    stage_id: str
    robot_id: str
    cursor: str | None = None
    page: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "tenant_id": self.tenant_id,
            "item_type": self.item_type,
            "pipeline_id": self.pipeline_id,
            "stage_id": self.stage_id,
            "robot_id": self.robot_id,
            "cursor": self.cursor,
            "page": self.page,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BackfillRequest:
        names = ("tenant_id", "item_type", "pipeline_id", "stage_id", "robot_id")
        for name in names:
            if not isinstance(data.get(name), str) or not data[name]:
                raise Invalid(f"{KIND}.{name}: a text")
        cursor, page = data.get("cursor"), data.get("page", 1)
        if cursor is not None and not isinstance(cursor, str):
            raise Invalid(f"{KIND}.cursor: a text or null")
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise Invalid(f"{KIND}.page: a whole number from 1")
        return cls(*(data[name] for name in names), cursor=cursor, page=page)


def is_request(message: Any) -> bool:
    """Whether a message of the planner's queue is a backfill's page (not a bus event)."""
    return isinstance(message, dict) and message.get("kind") == KIND


def request_backfill(
    tenant_id: str, item_type: str, pipeline_id: str, robot: Rule, queue: PlannerQueue
) -> None:
    """The backfill's first page, asked of the planner."""
    queue.send(BackfillRequest(tenant_id, item_type, pipeline_id, robot.stage_id, robot.id).to_dict())


@dataclass(frozen=True)
class Backfilled:
    planned: tuple[Run, ...]  # the runs this page planned
    sent: tuple[Run, ...]  # the runs sent to the run queue (with those a page before left queued)
    next: BackfillRequest | None  # the next page, asked for; None: the backfill is over


def plan_page(
    request: BackfillRequest, queue: RunQueue, pages: PlannerQueue, now: datetime | None = None
) -> Backfilled:
    now = now or clock.now()
    robot = _robot(request)
    if robot is None:
        return Backfilled((), (), None)
    found, cursor = items.list_in_pipeline(
        request.tenant_id, request.item_type, request.pipeline_id, request.stage_id, PAGE, request.cursor
    )
    schedule = for_tenant(request.tenant_id).schedule
    new: list[Run] = []
    again: list[Run] = []
    for item in found:
        # The index may lag a move by a moment: an item that left is not planned (nor would it run).
        if item.stage_id != request.stage_id or item.stage_entered_at is None:
            continue
        earlier = runs.runs_of(request.tenant_id, ItemRef(item.type, item.id))
        entry = StageEntry(
            tenant_id=request.tenant_id,
            item=ItemRef(item.type, item.id),
            pipeline_id=request.pipeline_id,
            stage_id=request.stage_id,
            entry=backfill_entry(robot.id, item.stage_entered_at),
            at=item.stage_entered_at,
            chain=(),
        )
        if _planned_by_the_planner(robot, item, entry, earlier):
            continue
        made = plan(entry, [robot], earlier, _due(item, schedule), now)
        # Only this robot's run: the item's other runs are its stage entries' business, not ours.
        new += made.runs
        again += [r for r in earlier if r.entry == entry.entry and r.state is RunState.QUEUED]
    ready = [run for run in new if run.state is RunState.QUEUED]
    sent, waiting = planner.within_throttle(request.tenant_id, ready, now) if ready else ([], [])
    planned = [_noted(r) for r in new if r.state is not RunState.QUEUED] + [_noted(r) for r in sent + waiting]
    written = [run for run in planned if _written(run, now)]
    to_send = [run for run in written if run.state is RunState.QUEUED] + again
    queue.send(to_send)
    following = replace(request, cursor=cursor, page=request.page + 1) if cursor else None
    if following is not None:
        pages.send(following.to_dict())
    return Backfilled(tuple(written), tuple(to_send), following)


def _robot(request: BackfillRequest) -> Rule | None:
    """The robot, if it is still an active robot of the stage (read again when this container's copy
    of the pipeline does not say so: it may be older than the robot)."""
    for fresh in (False, True):
        try:
            config = automation.load(request.tenant_id, request.pipeline_id, fresh=fresh)
        except NotFound:
            return None
        rule = config.rule(request.robot_id)
        if (
            rule is not None
            and rule.kind is RuleKind.ROBOT
            and rule.active
            and rule.stage_id == request.stage_id
        ):
            return rule
    return None


def _planned_by_the_planner(robot: Rule, item: Item, entry: StageEntry, earlier: list[Run]) -> bool:
    """The planner planned the robot for this stage entry already (the item entered the stage just as
    the robot was created, and the planner saw that event first)."""
    return any(
        run.rule_id == robot.id and run.entered_at == item.stage_entered_at and run.entry != entry.entry
        for run in earlier
    )


def _due(item: Item, schedule: WorkSchedule) -> Callable[[Rule, datetime], datetime | None]:
    """When the robot is due for ``item``: as the planner would have had it, by the item's values."""

    def due(robot: Rule, base: datetime) -> datetime | None:
        return due_at(robot.delay, base=base, value_of=item.value_of, schedule=schedule)

    return due


def _noted(run: Run) -> Run:
    return replace(run, note=NOTE if run.note is None else f"{NOTE}; {run.note}")


def _written(run: Run, now: datetime) -> bool:
    """The run with its journal entry, one transaction per item: False when it exists already (a
    delivery of this page again at the same moment planned it)."""
    try:
        runs.write([Change(run, None, at=now)], stale=f"the robot runs of {run.item} changed meanwhile")
    except AlreadyRecorded:
        return False
    return True
