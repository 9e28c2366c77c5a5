"""The robot runner: one due run, run once.

1. Claim the run (one conditional UpdateItem: a delivery of the same message again, or one for an
   attempt already made, finds it claimed or ended and does nothing; one that finds another runner's
   claim still held is handed back to the queue for later).
2. Read the item (one GetItem): a run whose item was deleted, or left the stage since (another stage,
   or the same stage entered again), is cancelled; one whose robot was removed or switched off too.
3. Check the robot's condition on the item as it is now (skipped when it does not hold).
4. Run the robot: its effects outside go through the ports with the run's idempotency key; what it
   asks of its item (changes, a move through the transition policy with the robot's cause and
   chain, comments, records) is written with the run's record, the release of the robot after it and
   the journal entry in one transaction (all of it, or none).
5. On an error the robot may retry: back to the due index after the backoff (doubling each attempt,
   at least what the other side asked with Retry-After); after the last attempt the run fails, goes
   to the dead-letter queue, and the robots after it stop (or go on, with ``continue_on_failure``).

Calls per run besides its effect: the claim, the item, the transaction (3); the pipeline, the
tenant's settings and employees come from the warm container. A sequential robot's release reads
the run it releases and sends it (2 more), only in chains.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crm.adapters import automation, items, runs, work
from crm.adapters.along import Actions
from crm.adapters.items import Basis, add_replacement, timeline_record
from crm.adapters.runs import Change
from crm.domain import clock, conditions
from crm.domain.delays import due_at
from crm.domain.errors import Invalid, MoveRefused, NotFound, StaleWrite
from crm.domain.model import Cause, CauseKind, Item, TimelineEntry, TimelineKind, entry_id
from crm.domain.robots import (
    Effects,
    Ports,
    RobotContext,
    RobotFailed,
    Run,
    RunState,
    run_id,
    scheduled,
    template_values,
)
from crm.domain.rules import CATALOGUE, PipelineConfig, Rule, RuleKind
from crm.domain.transitions import MoveRequest, TransitionPolicy, moved
from crm.service.items import edited
from crm.service.robot_settings import for_tenant
from crm.service.robots import RunQueue

# A claim outlives the runner's timeout (60 s), so that a runner that stops mid-run (timeout, crash)
# lets the queue's next delivery (the visibility timeout, 6 minutes) claim the run again.
LEASE = timedelta(seconds=90)
# A run whose write finds the item changed meanwhile is decided again this many times in all.
WRITE_ATTEMPTS = 3
POLICY = TransitionPolicy()


@dataclass(frozen=True)
class Ran:
    run: Run  # as this delivery left it
    sent: tuple[Run, ...] = ()  # the runs it sent to the queue (the robot after it)


def handle(body: str, ports: Ports, queue: RunQueue) -> Ran | None:
    """One message of the run queue: the run it names, run once (None: a delivery again)."""
    try:
        message = Run.from_dict(json.loads(body))
    except (TypeError, ValueError, KeyError) as error:
        raise Invalid(f"not a robot run: {error}") from None
    return run_once(message, ports, queue)


def run_once(message: Run, ports: Ports, queue: RunQueue) -> Ran | None:
    now = clock.now()
    run = runs.claim(message, now, LEASE)
    if run is None:
        return None
    started = time.monotonic()
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return _run(run, ports, queue, now, started)
        except StaleWrite:
            # The item changed while the robot ran (a trigger its mail fired, a person's edit), or a
            # round-robin turn was taken meanwhile: decided again on the item as it is now. The
            # robot's effects outside are keyed by the run, so running it again repeats none.
            if attempt + 1 == WRITE_ATTEMPTS:
                raise
            now = clock.now()
    raise AssertionError("unreachable")


def _run(run: Run, ports: Ports, queue: RunQueue, now: datetime, started: float) -> Ran:
    try:
        item = items.get(run.tenant_id, run.item.type, run.item.id)
    except NotFound:
        return _ended(run, RunState.CANCELLED, "the item was deleted", now, started)
    if (item.pipeline_id, item.stage_id, item.stage_entered_at) != (
        run.pipeline_id,
        run.stage_id,
        run.entered_at,
    ):
        return _ended(run, RunState.CANCELLED, "the item left the stage", now, started)
    config, rule = _robot(run)
    if rule is None:
        return _ended(run, RunState.CANCELLED, "the robot was removed or switched off", now, started)
    if (
        rule.condition is not None
        and not (explained := conditions.explain(rule.condition, item.value_of)).holds
    ):
        compared = "; ".join(f"{c.field} {c.op} {c.value!r} (was {c.actual!r})" for c in explained.compared)
        return _ended(run, RunState.SKIPPED, f"its condition did not hold: {compared}", now, started)
    responsible = ports.employees.get(run.tenant_id, item.responsible_id) if item.responsible_id else None
    context = RobotContext(
        tenant_id=run.tenant_id,
        run=run,
        rule=rule,
        now=now,
        ports=ports,
        values=template_values(item, responsible, run.earlier_outputs),
        responsible=responsible,
    )
    robot_type = CATALOGUE.get(RuleKind.ROBOT, rule.type_code)
    try:
        params = robot_type.params_of(rule.params)
        run = replace(run, inputs=params.model_dump(mode="json"))
        outputs = robot_type.outputs_of(robot_type.run(context, item, params))
    except RobotFailed as failure:
        return _failed(
            run, rule, config, item, str(failure), failure.retryable, failure.retry_after, queue, now, started
        )
    except Invalid as error:  # a template that cannot render, params stored before a rule changed
        return _failed(run, rule, config, item, str(error), False, None, queue, now, started)
    effects = context.effects
    if effects.recheck_at is not None:
        # A *wait* robot whose condition does not hold yet: due again then (no failure counted).
        again = run.moved_on(RunState.DELAYED, due_at=effects.recheck_at, outputs=outputs)
        runs.write([Change(again, run)])
        return Ran(again)
    try:
        write_item = _item_write(run, rule, item, effects, now)
    except MoveRefused as refusal:
        refused = TimelineEntry(
            entry_id(),
            TimelineKind.MOVE_REFUSED,
            now,
            rule.run_as,
            {
                "to": effects.move_to.stage_id if effects.move_to else None,
                "reason": refusal.reason,
                "message": str(refusal),
                "cause": _cause(run, rule).to_dict(),
            },
        )
        return _failed(
            run,
            rule,
            config,
            item,
            f"the move was refused ({refusal.reason}): {refusal}",
            False,
            None,
            queue,
            now,
            started,
            [refused],
        )
    except Invalid as error:  # values the item's type refuses, a pipeline of another type
        return _failed(
            run, rule, config, item, f"the item refused the change: {error}", False, None, queue, now, started
        )
    # Done: the error of an attempt before this one is no longer the run's (the journal keeps it).
    done = run.moved_on(RunState.DONE, outputs=outputs, error=None, ended_at=now)
    changes, sent = _after_it(done, rule, config, item, now)
    runs.write(
        [Change(done, run, at=now, duration_ms=_ms(started)), *changes, *_repetition(done, rule, now)],
        write_item,
        stale=f"{item.ref} changed while robot {rule.id} ran; it runs again",
    )
    queue.send(sent)
    return Ran(done, tuple(sent))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _robot(run: Run) -> tuple[PipelineConfig | None, Rule | None]:
    """The pipeline and the run's robot, as this container keeps them, or read again when the copy
    does not know it (added or switched on since); None when it is gone or switched off."""
    for fresh in (False, True):
        try:
            config = automation.load(run.tenant_id, run.pipeline_id, fresh=fresh)
        except NotFound:
            return None, None
        rule = config.rule(run.rule_id)
        if rule is not None and rule.kind is RuleKind.ROBOT and rule.active:
            return config, rule
    return config, None


def _ended(run: Run, state: RunState, note: str, now: datetime, started: float) -> Ran:
    ended = run.moved_on(state, note=note, ended_at=now)
    runs.write([Change(ended, run, at=now, duration_ms=_ms(started))])
    return Ran(ended)


def _cause(run: Run, rule: Rule) -> Cause:
    return Cause(CauseKind.ROBOT, ref=rule.id, chain=run.chain)


def _item_write(run: Run, rule: Rule, item: Item, effects: Effects, now: datetime):
    """What the robot asked of its item, as one addition to the run's transaction (None: nothing)."""
    cause, by = _cause(run, rule), rule.run_as
    after, entries, basis = item, [], None
    if effects.changes:
        edit = edited(run.tenant_id, after, dict(effects.changes), cause, by)
        if edit is not None:
            after, entry = edit
            entries.append(entry)
    if effects.move_to is not None:
        target_pipeline = effects.move_to.pipeline_id or after.pipeline_id
        config = automation.load(run.tenant_id, target_pipeline, fresh=target_pipeline != after.pipeline_id)
        if config.pipeline.item_type != after.type:
            raise Invalid(f"pipeline {target_pipeline!r} is not a {after.type} pipeline")
        # A robot is set up to move the item where it says, backwards too; the chain bound still holds.
        request = MoveRequest(effects.move_to.stage_id, cause, by=by, allow_backwards=True)
        target = POLICY.decide(after, config.pipeline, request)
        if target is not None:
            after, entry = moved(after, target, request, now, entry_id())
            after = replace(after, pipeline_id=config.pipeline.id)
            entries.append(entry)
            basis = Basis(config.version)
    entries += [
        TimelineEntry(entry_id(), TimelineKind.COMMENT, now, by, {"text": text, "cause": cause.to_dict()})
        for text in effects.comments
    ]
    if after is not item:
        after = replace(after, version=item.version + 1)
    if not entries and not effects.records:
        return None

    def add(actions: Actions) -> None:
        if after is not item:
            add_replacement(actions, run.tenant_id, item, after, entries, basis)
        else:
            for entry in entries:
                actions.put(timeline_record(run.tenant_id, item, entry))
        if effects.records:
            work.add_records(actions, run.tenant_id, after, effects.records)

    return add


def _after_it(
    ended: Run, rule: Rule, config: PipelineConfig | None, item: Item, now: datetime
) -> tuple[list[Change], list[Run]]:
    """The robot after ``ended`` in its chain, released (due by its own delay from now, with the
    outputs so far); or, when ``ended`` failed and the chain does not go on, every robot after it
    cancelled. The changes to write, and the runs to send once written."""
    if ended.then is None:
        return [], []
    following = runs.get(ended.tenant_id, ended.item, ended.then)
    if following is None or following.state is not RunState.WAITING:
        return [], []
    if ended.state is RunState.FAILED and not rule.continue_on_failure:
        changes = []
        while following is not None and following.state is RunState.WAITING:
            stopped = following.moved_on(
                RunState.CANCELLED, note=f"robot {rule.id} before it failed", ended_at=now
            )
            changes.append(Change(stopped, following, at=now))
            following = runs.get(ended.tenant_id, ended.item, following.then) if following.then else None
        return changes, []
    outputs = {**ended.earlier_outputs, ended.rule_id: dict(ended.outputs)}
    # Released now: its own delay (and a *wait* robot's timeout) counts from here.
    released = replace(following, earlier_outputs=outputs, planned_at=now)
    next_rule = config.rule(following.rule_id) if config is not None else None
    if next_rule is None:
        cancelled = released.moved_on(RunState.CANCELLED, note="the robot was removed", ended_at=now)
        return [Change(cancelled, following, at=now)], []
    schedule = for_tenant(ended.tenant_id).schedule
    released = scheduled(
        released, due_at(next_rule.delay, base=now, value_of=item.value_of, schedule=schedule), now
    )
    if released.state is not RunState.QUEUED:
        return [Change(released, following, at=now)], []
    # Due now: sent once written, and in the due index too, so that a runner stopping between the
    # write and the send (this run's message then finds it done) leaves it to the sweeper, not lost.
    released = released.moved_on(RunState.DELAYED, due_at=now)
    return [Change(released, following)], [released]


def _repetition(done: Run, rule: Rule, now: datetime) -> list[Change]:
    """1C's "repeat every N minutes, T times": the next repetition, delayed."""
    if rule.repeat is None or done.repetition + 1 >= rule.repeat.times:
        return []
    following = replace(
        done,
        id=run_id(done.entry, rule.id, done.repetition + 1),
        repetition=done.repetition + 1,
        state=RunState.DELAYED,
        due_at=now + timedelta(minutes=rule.repeat.every_minutes),
        attempt=0,
        planned_at=now,
        then=None,
        outputs={},
        inputs={},
        ended_at=None,
        error=None,
    )
    return [Change(following, None, at=now)]


def _failed(
    run: Run,
    rule: Rule,
    config: PipelineConfig | None,
    item: Item,
    error: str,
    retryable: bool,
    retry_after: int | None,
    queue: RunQueue,
    now: datetime,
    started: float,
    entries: list[TimelineEntry] | None = None,
) -> Ran:
    failures = run.failures + 1
    if retryable and failures <= rule.retry.attempts:
        wait = max(retry_after or 0, rule.retry.backoff_seconds * 2 ** (failures - 1))
        again = run.moved_on(
            RunState.DELAYED, due_at=now + timedelta(seconds=wait), error=error, failures=failures
        )
        runs.write([Change(again, run, at=now, duration_ms=_ms(started))])
        return Ran(again)
    failed = run.moved_on(RunState.FAILED, error=error, ended_at=now, failures=failures)
    changes, sent = _after_it(failed, rule, config, item, now)

    def add(actions: Actions) -> None:
        for entry in entries or ():
            actions.put(timeline_record(run.tenant_id, item, entry))

    runs.write([Change(failed, run, at=now, duration_ms=_ms(started)), *changes], add if entries else None)
    queue.dead_letter(failed, error)
    queue.send(sent)
    return Ran(failed, tuple(sent))


def redrive(message: Run, queue: RunQueue) -> Run | None:
    """A failed run from the dead-letter queue, queued again with its attempts renewed (the
    operator's re-drive); None when it is not failed any more (re-driven already: once)."""
    stored = runs.get(message.tenant_id, message.item, message.id)
    if stored is None or stored.state is not RunState.FAILED:
        return None
    # Due now, in the due index as well as sent: if the send is lost, the sweeper sends it.
    again = stored.moved_on(
        RunState.DELAYED, due_at=clock.now(), failures=0, error=None, ended_at=None, note="re-driven"
    )
    try:
        runs.write([Change(again, stored, at=clock.now())])  # journaled: the operator's re-drive
    except StaleWrite:
        return None  # another re-drive of the same message took it
    queue.send([again])
    return again
