"""The robot planner: an item entered a stage (``StageChanged``) or was created in one
(``ItemCreated``); the stage's robots are planned for it, and the runs of the stage it left that are
still pending are cancelled (invariant 5: robots belong to the stage).

Immediate runs go to the run queue at once, within the tenant's runs per minute (the rest wait in the
due index for the next minute, never dropped); delayed ones wait in the due index for the sweeper;
sequential ones wait for the robot before them, which releases them when it ends (the runner).
The whole plan is one transaction with its journal entries; a delivery of the same event again plans
nothing new and sends again what the first left queued (the runner runs each run once).

Calls per stage change: one Query (the item's runs), one TransactWriteItems (the plan), and when
something runs at once, one UpdateItem (the throttle's tokens) and one SendMessageBatch; a robot whose
delay counts from a date field adds a GetItem of the item. Pipelines and settings come warm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm.adapters import automation, items, runs
from crm.adapters.runs import Change
from crm.domain import clock
from crm.domain.delays import due_at
from crm.domain.errors import AlreadyRecorded, Invalid, NotFound
from crm.domain.events import SOURCE as ITEM_EVENTS
from crm.domain.events import continued_chain
from crm.domain.model import Item
from crm.domain.robots import Plan, Run, RunState, StageEntry, plan
from crm.domain.rules import PipelineConfig, Rule, RuleKind
from crm.domain.trigger_events import ItemRef
from crm.service.robot_settings import for_tenant
from crm.service.robots import RunQueue

ENTRY_EVENTS = ("StageChanged", "ItemCreated")


def stage_entry(envelope: Any) -> StageEntry:
    """The stage entry an EventBridge event (as the rule delivers it) announces; Invalid otherwise."""
    if not isinstance(envelope, dict):
        raise Invalid("an EventBridge event is an object")
    kind = envelope.get("detail-type")
    if envelope.get("source") != ITEM_EVENTS or kind not in ENTRY_EVENTS:
        raise Invalid(f"not a {' or '.join(ENTRY_EVENTS)} event of {ITEM_EVENTS}")
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise Invalid("detail: an object")
    stage_field = "to_stage" if kind == "StageChanged" else "stage_id"
    for name in ("event_id", "tenant_id", "item_type", "item_id", "pipeline_id", stage_field, "at"):
        if not isinstance(detail.get(name), str):
            raise Invalid(f"detail.{name}: a text")
    try:
        at = datetime.fromisoformat(detail["at"])
    except ValueError:
        raise Invalid("detail.at: an ISO 8601 date-time") from None
    chain = continued_chain(detail.get("cause"), detail.get("cause_ref"), detail.get("chain", []))
    return StageEntry(
        tenant_id=detail["tenant_id"],
        item=ItemRef(detail["item_type"], detail["item_id"]),
        pipeline_id=detail["pipeline_id"],
        stage_id=detail[stage_field],
        entry=detail["event_id"],
        at=at,
        chain=chain,
    )


@dataclass(frozen=True)
class Planned:
    plan: Plan
    sent: tuple[Run, ...]  # the runs sent to the run queue now


def _robots(entry: StageEntry) -> list[Rule]:
    config: PipelineConfig | None
    try:
        config = automation.load(entry.tenant_id, entry.pipeline_id)
        if not config.pipeline.has_stage(entry.stage_id):  # added since this container read it?
            config = automation.load(entry.tenant_id, entry.pipeline_id, fresh=True)
    except NotFound:
        return []  # the pipeline is gone: nothing to plan
    return [rule for rule in config.rules_on(entry.stage_id, RuleKind.ROBOT) if rule.active]


def next_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def within_throttle(tenant_id: str, ready: list[Run], now: datetime) -> tuple[list[Run], list[Run]]:
    """``ready`` split into the runs the tenant's runs per minute let through now, and the rest,
    delayed to the next minute (they wait in the due index, and count against that minute)."""
    granted = runs.take_tokens(tenant_id, now, len(ready), for_tenant(tenant_id).runs_per_minute)
    later = next_minute(now)
    waiting = [
        run.moved_on(RunState.DELAYED, due_at=later, note="the tenant's runs per minute")
        for run in ready[granted:]
    ]
    return ready[:granted], waiting


def plan_entry(entry: StageEntry, queue: RunQueue, now: datetime | None = None) -> Planned:
    now = now or clock.now()
    robots = _robots(entry)
    earlier = runs.runs_of(entry.tenant_id, entry.item)
    if not robots and not any(run.state.pending for run in earlier):
        return Planned(Plan((), ()), ())
    schedule = for_tenant(entry.tenant_id).schedule
    item: Item | None = None

    def due(robot: Rule, base: datetime) -> datetime | None:
        nonlocal item
        if robot.delay.field is not None and item is None:
            try:
                item = items.get(entry.tenant_id, entry.item.type, entry.item.id)
            except NotFound:
                return None  # deleted meanwhile: its runs will be cancelled when they come due
        values = item.value_of if item is not None else (lambda name: None)
        return due_at(robot.delay, base=base, value_of=values, schedule=schedule)

    made = plan(entry, robots, earlier, due, now)
    if made.stale:
        return Planned(made, ())
    ready = [run for run in made.runs if run.state is RunState.QUEUED]
    sent, waiting = within_throttle(entry.tenant_id, ready, now) if ready else ([], [])
    new = [run for run in made.runs if run.state is not RunState.QUEUED] + sent + waiting
    changes = [Change(run, None, at=now) for run in new] + [
        Change(run, before, at=now) for run, before in _cancelled(made, earlier)
    ]
    try:
        runs.write(changes, stale=f"the robot runs of {entry.item} changed meanwhile")
    except AlreadyRecorded:
        # Another delivery of the same event planned it at the same moment: its runs stand.
        sent = []
    # Sent again: what an earlier delivery of this event queued (it may have stopped before sending).
    again = [run for run in earlier if run.entry == entry.entry and run.state is RunState.QUEUED]
    queue.send(sent + again)
    return Planned(made, tuple(sent + again))


def _cancelled(made: Plan, earlier: list[Run]) -> list[tuple[Run, Run]]:
    by_id = {run.id: run for run in earlier}
    return [(run, by_id[run.id]) for run in made.cancelled]


def handle(body: str, queue: RunQueue) -> Planned:
    """One message of the planner's queue."""
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError):
        raise Invalid("the message body is not JSON") from None
    return plan_entry(stage_entry(envelope), queue)
