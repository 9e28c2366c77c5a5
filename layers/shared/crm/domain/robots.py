"""Robot runs: what the planner plans when an item enters a stage, what a robot type is given when it
runs and what it may ask of the item, as plain data.

A run belongs to one stage entry of one item (``entry``: the id of the event that brought the item
there). Its id is derived from the entry and the robot, so a planner that sees the same entry twice
plans the same runs, and every effect keyed by the run id happens once.

The lifecycle::

    waiting --(its predecessor ended)--> delayed | queued
    delayed --(sweeper: due)--> queued --(runner claims)--> running --> done | skipped | failed
    running --(error, attempts left)--> delayed (due after the backoff)
    any pending state --(the item left the stage)--> cancelled
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain import templates
from crm.domain.errors import CrmError
from crm.domain.model import Cause, CauseKind, Employee, Item
from crm.domain.ports import (
    AppRobots,
    Documents,
    Employees,
    Http,
    Items,
    Mailer,
    Payments,
    RequisitesBook,
    Secrets,
    Sms,
    Telephony,
    Turns,
)
from crm.domain.rules import Rule
from crm.domain.trigger_events import ItemRef


class RunState(StrEnum):
    WAITING = "waiting"  # sequential: waits for the robot before it
    DELAYED = "delayed"  # in the due index until its due time
    QUEUED = "queued"  # sent to the run queue
    RUNNING = "running"  # claimed by a runner (until its lease ends)
    DONE = "done"
    SKIPPED = "skipped"  # its condition did not hold, or its date field was empty
    CANCELLED = "cancelled"  # the item left the stage first, or the robot was removed
    FAILED = "failed"  # every attempt failed; the run went to the dead-letter queue

    @property
    def pending(self) -> bool:
        return self in (RunState.WAITING, RunState.DELAYED, RunState.QUEUED, RunState.RUNNING)

    @property
    def ended(self) -> bool:
        return not self.pending


def run_id(entry: str, rule_id: str, repetition: int = 0) -> str:
    """The run of robot ``rule_id`` for stage entry ``entry`` (its ``repetition``-th, for robots
    that repeat): the same inputs, the same id, whoever plans it."""
    digest = hashlib.sha256(f"{entry}|{rule_id}|{repetition}".encode()).hexdigest()
    return digest[:24]


@dataclass(frozen=True)
class Run:
    id: str
    tenant_id: str
    item: ItemRef
    pipeline_id: str
    stage_id: str
    rule_id: str
    type_code: str
    entry: str  # the stage entry this run belongs to
    entered_at: datetime  # when the item entered the stage (the item's stage_entered_at then)
    planned_at: datetime
    state: RunState
    due_at: datetime | None = None  # for delayed runs
    # Claims so far: it only grows (a re-delayed or re-driven run keeps it), so that a message or a
    # write made for an earlier claim can never pass for a later one.
    attempt: int = 0
    failures: int = 0  # attempts that failed since it was planned or re-driven: what retries count
    chain: tuple[str, ...] = ()  # the causes that led to this stage entry
    after: str | None = None  # the run this one waits for (sequential robots)
    then: str | None = None  # the run that waits for this one
    repetition: int = 0
    # The outputs of the robots before it in its chain, by robot id, as it was released.
    earlier_outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    note: str | None = None  # why it was skipped or cancelled
    ended_at: datetime | None = None

    def moved_on(self, state: RunState, **changes: Any) -> Run:
        return replace(self, state=state, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: what the run queue's messages carry and the run's record stores."""

        def moment(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "item_type": self.item.type,
            "item_id": self.item.id,
            "pipeline_id": self.pipeline_id,
            "stage_id": self.stage_id,
            "rule_id": self.rule_id,
            "type_code": self.type_code,
            "entry": self.entry,
            "entered_at": moment(self.entered_at),
            "planned_at": moment(self.planned_at),
            "state": self.state.value,
            "due_at": moment(self.due_at),
            "attempt": self.attempt,
            "failures": self.failures,
            "chain": list(self.chain),
            "after": self.after,
            "then": self.then,
            "repetition": self.repetition,
            "earlier_outputs": {k: dict(v) for k, v in self.earlier_outputs.items()},
            "inputs": dict(self.inputs),
            "outputs": dict(self.outputs),
            "error": self.error,
            "note": self.note,
            "ended_at": moment(self.ended_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        def moment(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        return cls(
            id=data["id"],
            tenant_id=data["tenant_id"],
            item=ItemRef(data["item_type"], data["item_id"]),
            pipeline_id=data["pipeline_id"],
            stage_id=data["stage_id"],
            rule_id=data["rule_id"],
            type_code=data["type_code"],
            entry=data["entry"],
            entered_at=datetime.fromisoformat(data["entered_at"]),
            planned_at=datetime.fromisoformat(data["planned_at"]),
            state=RunState(data["state"]),
            due_at=moment(data.get("due_at")),
            attempt=int(data.get("attempt", 0)),
            failures=int(data.get("failures", 0)),
            chain=tuple(data.get("chain") or ()),
            after=data.get("after"),
            then=data.get("then"),
            repetition=int(data.get("repetition", 0)),
            earlier_outputs=data.get("earlier_outputs") or {},
            inputs=data.get("inputs") or {},
            outputs=data.get("outputs") or {},
            error=data.get("error"),
            note=data.get("note"),
            ended_at=moment(data.get("ended_at")),
        )


class RobotFailed(CrmError):
    """A robot's effect failed. ``retryable``: another attempt may succeed (a 5xx, a timeout, a
    throttle), so the runner retries as the robot's retry settings allow; otherwise it fails now.
    ``retry_after``: seconds the other side asked to wait (HTTP 429/503 Retry-After)."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class MoveTo:
    stage_id: str
    pipeline_id: str | None = None  # another pipeline of the same item type


@dataclass
class Effects:
    """What a robot asks of its item. The runner writes all of it with the run's record, its
    timeline entries and its journal entry in one transaction: all of it happens, or none."""

    changes: dict[str, Any] = field(default_factory=dict)  # editable values; custom fields merge
    move_to: MoveTo | None = None
    comments: list[str] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)  # tasks, notifications: domain records to store
    recheck_at: datetime | None = None  # a *wait* robot: run again then (the robots after it wait)


@dataclass(frozen=True)
class Ports:
    """The outside world as the robots see it (``crm.domain.ports``)."""

    mailer: Mailer
    sms: Sms
    http: Http
    employees: Employees
    items: Items
    telephony: Telephony | None = None
    payments: Payments | None = None
    documents: Documents | None = None
    turns: Turns | None = None  # round-robin robots
    secrets: Secrets | None = None  # signed webhooks
    app_robots: AppRobots | None = None  # robots applications registered
    requisites: RequisitesBook | None = None  # companies' and contacts' requisites


def template_values(
    item: Item, responsible: Employee | None, outputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """What a robot's templates see: ``item`` (its values and custom fields by code), ``contact``
    (the item's client: first email and phone, all of them, company), ``responsible`` (name, email,
    phone) and ``robots.<robot_id>.<output>`` (the outputs of the robots before it)."""
    return {
        "item": {
            "type": item.type,
            "id": item.id,
            "title": item.title,
            "stage_id": item.stage_id,
            "pipeline_id": item.pipeline_id,
            "amount": item.amount,
            "currency": item.currency,
            "company": item.company,
            **item.fields,
            "fields": dict(item.fields),
        },
        "contact": {
            "email": item.emails[0] if item.emails else None,
            "phone": item.phones[0] if item.phones else None,
            "emails": list(item.emails),
            "phones": list(item.phones),
            "company": item.company,
        },
        "responsible": None
        if responsible is None
        else {
            "id": responsible.id,
            "name": responsible.name,
            "email": responsible.email,
            "phone": responsible.phone,
        },
        "robots": {robot: dict(values) for robot, values in outputs.items()},
    }


@dataclass
class RobotContext:
    """What a robot is given besides its item and params: who it is, when it runs, the outputs of the
    robots before it, the ports, its templates' values, and the effects it asks for."""

    tenant_id: str
    run: Run
    rule: Rule
    now: datetime
    ports: Ports
    values: Mapping[str, Any]  # ``template_values``
    responsible: Employee | None
    effects: Effects = field(default_factory=Effects)

    @property
    def cause(self) -> Cause:
        """What this run's changes are recorded as caused by: the robot, with its chain."""
        return Cause(CauseKind.ROBOT, ref=self.rule.id, chain=self.run.chain)

    @property
    def idempotency_key(self) -> str:
        """The key every effect of this run carries: the same on every attempt."""
        return f"robot-run:{self.tenant_id}:{self.run.id}"

    def text(self, source: str) -> str:
        return templates.text(source, self.values)

    def html(self, source: str) -> str:
        return templates.html(source, self.values)

    def header(self, source: str) -> str:
        return templates.header(source, self.values)


@dataclass(frozen=True)
class StageEntry:
    """An item entering a stage (or being created in it): what the planner plans for."""

    tenant_id: str
    item: ItemRef
    pipeline_id: str
    stage_id: str
    entry: str  # the id of the event that says so
    at: datetime  # the item's stage_entered_at
    chain: tuple[str, ...]  # the causes that led here: the robots' moves continue it


# A robot that ran (or is running) for an item counts as run: one that does not allow repeats is
# not planned again when the item comes back. One that never ran (cancelled, skipped) is.
_RAN = (RunState.DONE, RunState.FAILED, RunState.RUNNING)


BACKFILL = "backfill:"  # the entry id of a run a robot's backfill planned: backfill:{robot}:{entered at}


def backfill_entry(robot_id: str, entered_at: datetime) -> str:
    return f"{BACKFILL}{robot_id}:{entered_at.isoformat()}"


def of_entry(run: Run, entry: StageEntry) -> bool:
    """``run`` belongs to the stage entry ``entry``: planned for its event, or by a backfill of its
    robot for the item as it sat in that stage since that moment."""
    if run.entry == entry.entry:
        return True
    return run.entry.startswith(BACKFILL) and (run.stage_id, run.entered_at) == (entry.stage_id, entry.at)


@dataclass(frozen=True)
class Plan:
    runs: tuple[Run, ...]  # new runs, in the stage's order
    cancelled: tuple[Run, ...]  # pending runs of earlier stage entries, now cancelled
    stale: bool = False  # the event is older than runs already planned: nothing to do


def plan(
    entry: StageEntry,
    robots: Sequence[Rule],
    earlier: Sequence[Run],
    due: Callable[[Rule, datetime], datetime | None],
    now: datetime,
) -> Plan:
    """The runs of ``robots`` (the stage's active robots, in order) for ``entry``, given the item's
    ``earlier`` runs: those of earlier entries still pending are cancelled; a robot already planned
    for this entry (the event delivered again) is not planned twice; one without ``allow_repeat``
    that ran for the item before is not planned. A sequential robot waits for the one before it;
    the others are due as ``due(robot, base)`` says: None (an empty date field) skips it, a due
    time already past queues it, a later one delays it.

    Events can arrive out of order (the queue does not keep it): an entry older than runs the item
    already has is stale and plans nothing, and cancels nothing."""
    if any(run.entered_at > entry.at for run in earlier):
        return Plan((), (), stale=True)
    # Runs of earlier stage entries: cancelled while they wait; one running is left to its runner,
    # which finds the item gone from its stage (cancelling it here could run its effect twice).
    cancelled = tuple(
        run.moved_on(RunState.CANCELLED, note="the item left the stage", ended_at=now)
        for run in earlier
        if run.state.pending and run.state is not RunState.RUNNING and not of_entry(run, entry)
    )
    # This entry's runs already planned, by this event or by a backfill of the robot.
    planned_here = {run.rule_id for run in earlier if of_entry(run, entry)}
    ran = {run.rule_id for run in earlier if run.state in _RAN}
    runs: list[Run] = []
    previous: Run | None = None
    for robot in robots:
        run_of_robot = run_id(entry.entry, robot.id)
        if robot.id in planned_here or (not robot.allow_repeat and robot.id in ran):
            continue
        run = Run(
            id=run_of_robot,
            tenant_id=entry.tenant_id,
            item=entry.item,
            pipeline_id=entry.pipeline_id,
            stage_id=entry.stage_id,
            rule_id=robot.id,
            type_code=robot.type_code,
            entry=entry.entry,
            entered_at=entry.at,
            planned_at=now,
            state=RunState.QUEUED,
            chain=entry.chain,
        )
        if robot.after_previous and previous is not None:
            run = replace(run, state=RunState.WAITING, after=previous.id)
            runs[-1] = replace(runs[-1], then=run.id)
        else:
            run = scheduled(run, due(robot, entry.at), now)
        runs.append(run)
        previous = run
    return Plan(tuple(runs), cancelled)


def scheduled(run: Run, due_at: datetime | None, now: datetime) -> Run:
    """``run`` due at ``due_at``: queued if that has come, delayed until then otherwise; skipped
    when there is no due time (the date field its delay counts from is empty)."""
    if due_at is None:
        return run.moved_on(
            RunState.SKIPPED, note="the date field its delay counts from is empty", ended_at=now
        )
    if due_at <= now:
        return run.moved_on(RunState.QUEUED, due_at=None)
    return run.moved_on(RunState.DELAYED, due_at=due_at)


def journal_entry(run: Run, at: datetime, duration_ms: int | None = None) -> dict[str, Any]:
    """The journal's entry for what just happened to ``run``: planned, skipped, cancelled, an
    attempt that failed (and when it is retried), done or failed for good."""
    return {
        "id": f"{run.id}-{run.attempt}-{run.state.value}",
        "kind": "robot_run",
        "at": at.isoformat(),
        "item": str(run.item),
        "pipeline_id": run.pipeline_id,
        "stage_id": run.stage_id,
        "robot_id": run.rule_id,
        "robot_type": run.type_code,
        "run_id": run.id,
        "state": run.state.value,
        "attempt": run.attempt,
        "due_at": None if run.due_at is None else run.due_at.isoformat(),
        "inputs": dict(run.inputs),
        "outputs": dict(run.outputs),
        "error": run.error,
        "note": run.note,
        "duration_ms": duration_ms,
        "chain": list(run.chain),
    }


# What a robot type's ``run`` is: (context, item, validated params) -> its outputs.
RobotRun = Callable[[RobotContext, Item, Any], Mapping[str, Any]]
