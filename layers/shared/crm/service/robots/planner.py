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
from crm.adapters.planner_queue import planner_queue
from crm.adapters.runs import Change
from crm.domain import clock
from crm.domain.delays import due_at
from crm.domain.errors import AlreadyRecorded, Invalid, NotFound
from crm.domain.events import published
from crm.domain.model import Item
from crm.domain.robots import Plan, Run, RunState, StageEntry, plan
from crm.domain.rules import PipelineConfig, Rule, RuleKind
from crm.service.robot_settings import for_tenant
from crm.service.robots import RunQueue, backfill

ENTRY_EVENTS = ("StageChanged", "ItemCreated")


def stage_entry(envelope: Any) -> StageEntry:
    """The stage entry an EventBridge event (as the rule delivers it) announces; Invalid otherwise.
    ``StageChanged`` names the stage entered ``to_stage``; ``ItemCreated`` the stage it was created in."""
    event = published(envelope, ENTRY_EVENTS, ("stage_id",))
    stage = event.detail.get("to_stage", event.detail["stage_id"])
    if not isinstance(stage, str):
        raise Invalid("detail.to_stage: a text")
    return StageEntry(
        tenant_id=event.tenant_id,
        item=event.item,
        pipeline_id=event.pipeline_id,
        stage_id=stage,
        entry=event.detail["event_id"],
        at=event.at,
        chain=event.chain,
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


def handle(
    body: str, queue: RunQueue, pages: backfill.PlannerQueue | None = None
) -> Planned | backfill.Backfilled:
    """One message of the planner's queue: a bus event (a stage entry), or a robot backfill's page
    (``pages``: where its next page is asked for, the planner's queue by default)."""
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError):
        raise Invalid("the message body is not JSON") from None
    if backfill.is_request(envelope):  # the CRM's own message: a robot's backfill, one page
        request = backfill.BackfillRequest.from_dict(envelope)
        return backfill.plan_page(request, queue, pages or planner_queue())
    return plan_entry(stage_entry(envelope), queue)
