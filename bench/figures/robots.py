"""Robots (issue 10): AWS calls per robot run and per stage change, the sweeper's cost as the backlog
of delayed runs grows, and 10,000 delayed runs falling due in one minute, all against moto.

The planner and the sweeper are their functions' handlers, fed the events Lambda hands them (an SQS
record of the bus's ``StageChanged``/``ItemCreated``, the schedule's tick). The runner is its
use-case (``runner.handle``) with what its handler gives it, the SQS run queue and the deployed
ports, so that the calls of a robot's effect (an SMS: its once-record and SNS's ``Publish``) are told
from the engine's: the effect ports make their calls in a scope of their own. The handler around it
(a partial batch response) makes no call. Each measured operation comes after the same one on
another deal, so it finds a warm container: the pipeline, the tenant's robot settings and employees
cached, clients made.

The 10,000 due runs (1,000 with --quick) are deals and runs written straight into the tables (the
setup, not the measure); from the minute they fall due the local runtime's own parts run them: its
scheduler ticks the sweeper function every minute of the application's clock, its SQS event source
hands the run queue to the runner function in batches of 10, as ``make run`` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.hooks import LOG, Calls
from bench.registry import Measured, Run, figure
from bench.world import REGION, Tenant, World, world
from tests import conftest

PIPELINE = {
    "id": "robots",
    "item_type": "deal",
    "name": "Robots",
    "stages": [  # one stage per kind of plan measured
        {"id": "NEW", "name": "New"},  # no robots
        {"id": "NOW", "name": "Offer"},  # two immediate robots: a comment and an SMS
        {"id": "LATER", "name": "Follow-up"},  # two robots a day later
        {"id": "CHAIN", "name": "Documents"},  # a comment, then another after it
        {"id": "RETRY", "name": "Reminder"},  # an SMS retried on error
        {"id": "WON", "name": "Won", "semantic": "success"},  # no robots
    ],
}
PHONE = "+14155550123"
EFFECT = "robot_runner.effect"  # the scope of a robot's effect's calls
RUN_BUDGET = 3  # the claim, the item, one transaction
SWEEPER_SCALES, QUICK_SWEEPER_SCALES = (1_000, 10_000, 100_000), (1_000, 10_000)
DUE_PER_TICK = 100
TICKS_PER_SCALE = 3
FLAT = 1.1  # the sweeper's calls per tick at the largest backlog, over those at 1,000
DUE_RUNS, QUICK_DUE_RUNS = 10_000, 1_000
WINDOW = timedelta(minutes=2)  # the runs due in one minute all run within the next two (issue 10)
BATCH = 25  # items per BatchWriteItem


def _label(count: int) -> str:
    return f"{count // 1000}k" if count >= 1000 else str(count)


@contextlib.contextmanager
def _app_clock(clock: Any) -> Iterator[Any]:
    """The application's clock for the block (the other figures run on the system clock)."""
    from crm.domain import clock as app_clock

    app_clock.use_clock(clock)
    try:
        yield clock
    finally:
        app_clock.use_clock(app_clock.SystemClock())


def _sqs() -> Any:
    import boto3

    return boto3.client("sqs", region_name=REGION)


def run_queues(run: Run) -> str:
    """The run queue and its dead-letter queue (their names make the environment's URLs); the first's URL."""
    run.shared(world)
    with LOG.off():
        for name in ("RobotRunsDLQ", "RobotRunsQueue"):
            _sqs().create_queue(QueueName=name)
    return os.environ["ROBOT_RUNS_QUEUE_URL"]


def _drain(url: str) -> list[str]:
    """The queue's messages, received and deleted (as the runner's event source does), unlogged."""
    sqs, bodies = _sqs(), []
    with LOG.off():
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            bodies += [m["Body"] for m in messages]
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return bodies


class _EffectScope:
    """A port whose calls the log attributes to ``EFFECT``: what the robot's effect costs, apart."""

    def __init__(self, port: Any) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._port, name)
        if not callable(found):
            return found

        def scoped(*args: Any, **kwargs: Any) -> Any:
            with LOG.scope(EFFECT):
                return found(*args, **kwargs)

        return scoped


def _tenant_with_robots(w: World, tenant_id: str, robots: list[tuple[str, str, str, dict, dict]]) -> Tenant:
    """A tenant with the Robots pipeline and ``robots`` (key, stage, type, params, settings) on it,
    each stage's robots in the order given (a robot added without a sort comes after the others)."""
    tenant = w.tenant(tenant_id)
    tenant.ok("POST", "/pipelines", PIPELINE)
    for key, stage, type_code, params, settings in robots:
        body = {"type_code": type_code, "stage_id": stage, "name": key, "params": params, **settings}
        tenant.ok("POST", f"/automation/deal/{PIPELINE['id']}/robots", body)
    return tenant


def _robot_ids(tenant: Tenant) -> dict[str, str]:
    return {r["name"]: r["id"] for r in tenant.ok("GET", f"/automation/deal/{PIPELINE['id']}")["robots"]}


# ---------------------------------------------------------------- runs and plans, one at a time


@dataclass
class Rig:
    world: World
    tenant: Tenant
    queue_url: str
    ports: Any  # crm.domain.robots.Ports as the deployed runner has them, the effects scoped apart
    robots: dict[str, str]  # robot ids by name

    def create(self) -> tuple[str, Calls]:
        """A new deal with a phone, in the first stage; the planner's calls for its ``ItemCreated``."""
        deal = self.tenant.ok("POST", "/items/deal", {"title": "Forklift", "phones": [PHONE]})["id"]
        return deal, self._plan(None, self._item(deal))

    def move(self, deal: str, stage: str) -> Calls:
        """The deal moved through the API; the planner's calls for its ``StageChanged``."""
        before = self._item(deal)
        self.tenant.move(deal, stage)
        return self._plan(before, self._item(deal))

    def _item(self, deal: str) -> Any:
        from crm.service import items

        with LOG.off():
            return items.get_item(self.tenant.id, "deal", deal)

    def _plan(self, before: Any, after: Any) -> Calls:
        """What the fan-out publishes for the write, as the bus rule's queue hands it to the planner."""
        from crm.domain.events import SOURCE, item_events

        sample = conftest.load_event("robot_planner/item_created.json")["Records"][0]
        records = []
        for event in item_events(self.tenant.id, before, after, f"{uuid.uuid4().hex}:item"):
            if event.detail_type in ("StageChanged", "ItemCreated"):
                envelope = json.loads(sample["body"]) | {
                    "id": str(uuid.uuid4()),
                    "detail-type": event.detail_type,
                    "detail": event.detail,
                    "source": SOURCE,
                }
                records.append(sample | {"messageId": str(uuid.uuid4()), "body": json.dumps(envelope)})
        with LOG.recording() as calls:
            answer = self.world.handler("robot_planner").lambda_handler(
                {"Records": records}, conftest.lambda_context()
            )
        if answer.get("batchItemFailures"):
            raise RuntimeError(f"the planner failed on {records}: {answer}")
        return calls

    def run_queued(self, ports: Any = None) -> dict[str, tuple[Any, Calls]]:
        """Each message of the run queue run as the runner's handler runs it, by robot name."""
        from crm.adapters.run_queue import SqsRunQueue
        from crm.service.robots import runner

        names = {robot_id: name for name, robot_id in self.robots.items()}
        ran = {}
        for body in _drain(self.queue_url):
            with LOG.scope("robot_runner"), LOG.recording() as calls:
                result = runner.handle(body, ports or self.ports, SqsRunQueue())
            ran[names[json.loads(body)["rule_id"]]] = (result, calls)
        return ran


def rig(run: Run) -> Rig:
    """Tenant ``robotics``: the Robots pipeline, its robots, the deployed ports."""
    from crm.service.robots.ports import deployed_ports
    from crm.service.robots.runner import LEASE

    w, url = run.shared(world), run.shared(run_queues)
    later = {"delay": {"kind": "after", "amount": 1, "unit": "days"}}
    tenant = _tenant_with_robots(
        w,
        "robotics",
        [
            ("comment", "NOW", "add_comment", {"text": "Offer for {{ item.title }} sent"}, {}),
            ("sms", "NOW", "send_sms", {"text": "Your offer for {{ item.title }} is ready"}, {}),
            ("control", "LATER", "add_comment", {"text": "Still here after a day"}, later),
            ("reminder", "LATER", "send_sms", {"text": "Any questions?"}, later),
            ("first", "CHAIN", "add_comment", {"text": "Documents requested"}, {}),
            ("second", "CHAIN", "add_comment", {"text": "then checked"}, {"after_previous": True}),
            ("retried", "RETRY", "send_sms", {"text": "A reminder"}, {"retry": {"attempts": 2}}),
        ],
    )
    ports = deployed_ports(os.environ["PUBLIC_BASE_URL"], LEASE)
    effects = {name: _EffectScope(getattr(ports, name)) for name in ("mailer", "sms", "http")}
    return Rig(w, tenant, url, replace(ports, **effects), _robot_ids(tenant))


@dataclass(frozen=True)
class Measures:
    runs: dict[str, Calls]  # the runner's calls, by kind of run
    plans: dict[str, Calls]  # the planner's calls, by kind of stage entry


def measures(run: Run) -> Measures:
    """Each operation twice, on a warm-up deal and on the measured one; the second counts."""
    from crm.domain.robots import RobotFailed, RunState
    from tests.fakes import FakePorts

    r = run.shared(rig)
    runs: dict[str, Calls] = {}
    plans: dict[str, Calls] = {}
    for _ in range(2):
        deal, plans["no_robots"] = r.create()
        plans["immediate"] = r.move(deal, "NOW")
        ran = r.run_queued()
        if {name: result.run.state for name, (result, _) in ran.items()} != {
            "comment": RunState.DONE,
            "sms": RunState.DONE,
        }:
            raise RuntimeError(f"the offer's robots did not both run: {ran}")
        runs["add_comment"], runs["send_sms"] = ran["comment"][1], ran["sms"][1]
        plans["delayed"] = r.move(deal, "LATER")
        plans["cancels_pending"] = r.move(deal, "WON")  # the two delayed runs are left behind
        # A sequential pair: the first's run releases the second.
        chained, _ = r.create()
        r.move(chained, "CHAIN")
        first = r.run_queued()["first"]
        if first[0].run.state is not RunState.DONE or list(r.run_queued()) != ["second"]:
            raise RuntimeError("the first robot of the chain did not release the second")
        runs["release"] = first[1]
        # An SMS the service refuses for now (a throttle): the run waits in the due index for its retry.
        fakes = FakePorts()
        fakes.sms.fail_next(1, RobotFailed("the SMS service is busy: Throttling"))
        retried, _ = r.create()
        r.move(retried, "RETRY")
        (result, runs["retry"]) = r.run_queued(replace(r.ports, sms=fakes.sms))["retried"]
        if result.run.state is not RunState.DELAYED:
            raise RuntimeError(f"the throttled SMS was not put back for a retry: {result.run}")
    return Measures(runs, plans)


def _detail(calls: Calls) -> dict[str, Any]:
    return {"calls": calls.by_function()}


def _engine_calls(calls: Calls) -> int:
    """The runner's own DynamoDB and SQS calls (its effect's are in the detail)."""
    return sum(len(calls.of(function="robot_runner", service=s)) for s in ("DynamoDB", "SQS"))


@figure("robots.run.add_comment", unit="calls", budget=RUN_BUDGET)
def run_add_comment(run: Run) -> Measured:
    """AWS calls of the runner for an immediate *add comment* robot: the claim, the item, one
    transaction (the comment, the run's record and its journal entries)."""
    calls = run.shared(measures).runs["add_comment"]
    return Measured(_engine_calls(calls), _detail(calls))


@figure("robots.run.send_sms", unit="calls", budget=RUN_BUDGET)
def run_send_sms(run: Run) -> Measured:
    """DynamoDB and SQS calls of the runner for a *send SMS* robot, besides its effect (SNS and the
    SMS's once-record, under ``robot_runner.effect`` in the detail)."""
    calls = run.shared(measures).runs["send_sms"]
    return Measured(_engine_calls(calls), _detail(calls))


@figure("robots.run.send_sms.effect", unit="calls")
def run_send_sms_effect(run: Run) -> Measured:
    """AWS calls of the SMS itself: its once-record (claimed, then marked sent) and SNS's Publish."""
    calls = run.shared(measures).runs["send_sms"].of(function=EFFECT)
    return Measured(len(calls), _detail(calls))


@figure("robots.run.release", unit="calls")
def run_release(run: Run) -> Measured:
    """AWS calls of a sequential robot's run that releases the one after it (its record read, in
    the run's transaction, then sent)."""
    calls = run.shared(measures).runs["release"]
    return Measured(_engine_calls(calls), _detail(calls))


@figure("robots.run.retry", unit="calls")
def run_retry(run: Run) -> Measured:
    """AWS calls of a run whose SMS is refused for now: back in the due index for its retry."""
    calls = run.shared(measures).runs["retry"]
    return Measured(_engine_calls(calls), _detail(calls))


def _planner_figure(kind: str, what: str) -> None:
    def measure(run: Run) -> Measured:
        calls = run.shared(measures).plans[kind]
        return Measured(len(calls.of(function="robot_planner")), _detail(calls))

    figure(f"robots.plan.{kind}", unit="calls", title=f"AWS calls of the planner for {what}")(measure)


_planner_figure(
    "immediate", "a stage entry with two immediate robots: the item's runs, the plan, the tokens, the send"
)
_planner_figure("delayed", "a stage entry with two robots delayed a day: the item's runs, the plan")
_planner_figure("no_robots", "an item created in a stage without robots: the item's runs")
_planner_figure("cancels_pending", "a stage entry that cancels two delayed runs: the item's runs, the plan")


# ---------------------------------------------------------------- 10,000 runs due in one minute


def _write(records: list[Any]) -> None:
    """pynamodb records in batch writes (the setup, unlogged)."""
    with LOG.off():
        for start in range(0, len(records), BATCH):
            model = type(records[start])
            with model.batch_write() as batch:
                for record in records[start : start + BATCH]:
                    batch.save(record)


@dataclass(frozen=True)
class DueRuns:
    runs: int
    within: int  # the runs done within WINDOW of the minute they fell due
    seconds: float  # from that minute until the last ran, or the window ended
    states: dict[str, int]
    ticks: list[dict[str, Any]]
    calls: dict[str, int]
    setup_seconds: float
    cpu_seconds: float


def due_runs(run: Run) -> DueRuns:
    """N deals in Follow-up, each with its run of the robot *next day at 09:00* due in the same
    minute M; the clock advanced to M as ``POST /_local/clock`` does; the runs done (their
    ``ended_at`` on the application's clock) within two minutes of M. Past the window the run
    stops: what is left is not waited for."""
    from crm.adapters import items as item_store
    from crm.adapters import runs as run_store
    from crm.adapters.runs import from_record
    from crm.domain import clock as app_clock
    from crm.domain.delays import due_at
    from crm.domain.robots import Run as RobotRun
    from crm.domain.robots import RunState, run_id
    from crm.domain.trigger_events import ItemRef
    from crm.service.robot_settings import for_tenant
    from infra.events import Scheduler
    from infra.functions import Function, FunctionError
    from infra.schedules import Rate
    from infra.sources import Deliveries, SqsEventSource

    count = QUICK_DUE_RUNS if run.quick else DUE_RUNS
    w, url = run.shared(world), run.shared(run_queues)
    next_day = {"delay": {"kind": "at_time", "amount": 1, "unit": "days", "time_of_day": "09:00"}}
    tenant = _tenant_with_robots(
        w, "bulk", [("control", "LATER", "add_comment", {"text": "Still here? {{ item.title }}"}, next_day)]
    )
    # The tenant lets 10,000 runs a minute through (the default 600 would spread them by design).
    tenant.ok("PUT", "/automation/robot-settings", {"runs_per_minute": 10_000})
    rule_id = _robot_ids(tenant)["control"]
    clock = app_clock.OffsetClock()
    with _app_clock(clock):
        started = time.perf_counter()
        model = tenant.new_deal("Forklift")
        tenant.move(model, "LATER")
        with LOG.off():
            deal = item_store.get(tenant.id, "deal", model)
            rule = next(r for r in _config(tenant.id).rules if r.id == rule_id)
            due = due_at(
                rule.delay,
                base=deal.stage_entered_at,
                value_of=deal.value_of,
                schedule=for_tenant(tenant.id).schedule,
            )
        assert due is not None
        deals = [replace(deal, id=str(100_000 + n), title=f"Deal {n}") for n in range(count)]
        _write([item_store.to_record(tenant.id, d) for d in deals])
        planned = [
            RobotRun(
                id=run_id(f"bulk-{d.id}:item", rule_id),
                tenant_id=tenant.id,
                item=ItemRef("deal", d.id),
                pipeline_id=PIPELINE["id"],
                stage_id="LATER",
                rule_id=rule_id,
                type_code="add_comment",
                entry=f"bulk-{d.id}:item",
                entered_at=deal.stage_entered_at,
                planned_at=deal.stage_entered_at,
                state=RunState.DELAYED,
                due_at=due,
            )
            for d in deals
        ]
        _write([run_store.to_record(r) for r in planned])
        with LOG.off():  # a sweeper that ticked every minute up to M
            run_store.set_sweep_cursor(run_store.minute_of(due - timedelta(minutes=1)))
        setup_seconds = time.perf_counter() - started

        stop, sink = threading.Event(), open(os.devnull, "w")  # noqa: SIM115  (closed below)
        sqs = _sqs()
        with contextlib.redirect_stdout(sink):  # the handlers' logs go where Lambda's would
            runner, sweeper = (
                Function(_stack(), lid, sqs) for lid in ("RobotRunnerFunction", "RobotSweeperFunction")
            )
            runner.load()
            sweeper.load()
        tick_event = conftest.load_event("robot_sweeper/tick.json")
        ticks: list[dict[str, Any]] = []

        def tick(at: datetime) -> None:
            try:
                ticks.append({"at": at.isoformat(), **sweeper.invoke(tick_event)})
            except FunctionError as error:
                ticks.append({"at": at.isoformat(), "error": str(error)})

        scheduler = Scheduler(clock, stop)
        clock.advance(due - timedelta(seconds=1) - clock.now())
        scheduler.add(
            "RobotSweeperFunctionEveryMinute", Rate(timedelta(minutes=1), due - timedelta(minutes=1)), tick
        )
        source = SqsEventSource(runner, runner.events["Runs"]["Properties"], sqs, REGION, Deliveries(), stop)
        source.start()
        cpu = time.process_time()
        with LOG.recording() as calls:
            began = time.perf_counter()
            scheduler.advance(timedelta(seconds=1))  # the clock reaches M: the sweeper's tick
            scheduler.start()  # and every minute after
            while (seconds := time.perf_counter() - began) < WINDOW.total_seconds():
                # Each look costs moto a pass over the queue's messages: once a second.
                time.sleep(1)
                if sum(t.get("sent", 0) for t in ticks) < count:
                    continue
                waiting = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                if not any(int(v) for v in waiting.values()):
                    break
            stop.set()
            source.join()
            scheduler.join()
        cpu = time.process_time() - cpu
        sink.close()
        with LOG.off():
            sqs.purge_queue(QueueUrl=url)  # what the window left: not for the figures after this one
            ran = [from_record(r) for r in _runs_of(tenant.id)]
    within = sum(1 for r in ran if r.state is RunState.DONE and r.ended_at <= due + WINDOW)
    by_operation = Counter(c.name for c in calls).most_common()
    states = Counter(r.state.value for r in ran)
    return DueRuns(count, within, seconds, dict(states), ticks, dict(by_operation), setup_seconds, cpu)


def _config(tenant_id: str) -> Any:
    from crm.adapters import automation

    return automation.load(tenant_id, PIPELINE["id"], fresh=True)


def _stack() -> Any:
    from bench import template

    return template.stack()


def _runs_of(tenant_id: str) -> list[Any]:
    from crm.adapters.runs import RunRecord

    return [r for r in RunRecord.scan(RunRecord.tenant_id == tenant_id)]


def _due_detail(result: DueRuns) -> dict[str, Any]:
    return {
        "runs": result.runs,
        "done_within_2_minutes": result.within,
        "seconds": round(result.seconds, 1),
        "run_states_at_the_end": result.states,
        "sweeper_ticks": result.ticks,
        "calls_by_operation": result.calls,
        "setup_seconds": round(result.setup_seconds, 1),
        "cpu_seconds": round(result.cpu_seconds, 1),
    }


@figure("local.robots.due_runs.within_2_minutes", unit="% of due runs", budget=100, at_least=True)
def due_runs_within(run: Run) -> Measured:
    """Of 10,000 delayed runs due in one minute (1,000 with --quick), the share that ran within the
    next two: the runtime's sweeper ticks and runner event source, in-process moto."""
    result = run.shared(due_runs)
    return Measured(100 * result.within / result.runs, _due_detail(result))


@figure("local.robots.due_runs.per_second", unit="runs/s")
def due_runs_per_second(run: Run) -> Measured:
    """Those runs per second: the runs done over the time until the last ran (or the window ended)."""
    result = run.shared(due_runs)
    done = result.states.get("done", 0)
    return Measured(done / result.seconds, {"done": done, "seconds": round(result.seconds, 1)})


# ---------------------------------------------------------------- the sweeper and the backlog


@dataclass(frozen=True)
class Tick:
    calls: Calls
    seconds: float
    sent: int


def sweeper_scale(run: Run) -> dict[int, list[Tick]]:
    """For each backlog of N runs delayed by a day (1k, 10k, 100k; 1k and 10k with --quick), three
    ticks that each find 100 runs due (written before the tick into the minute it reads)."""
    from crm.adapters import runs as run_store
    from crm.domain import clock as app_clock
    from crm.domain.robots import Run as RobotRun
    from crm.domain.robots import RunState
    from crm.domain.trigger_events import ItemRef

    w = run.shared(world)
    url = run.shared(run_queues)
    w.tenant("backlog")
    sweeper = w.handler("robot_sweeper")
    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    clock = app_clock.FixedClock(start + timedelta(seconds=30))

    def delayed(number: int, due: datetime) -> Any:
        entered = start - timedelta(hours=1)
        return run_store.to_record(
            RobotRun(
                id=f"backlog-{number:07d}",
                tenant_id="backlog",
                item=ItemRef("deal", str(number)),
                pipeline_id="robots",
                stage_id="LATER",
                rule_id="rcontrol",
                type_code="add_comment",
                entry=f"backlog-{number}:item",
                entered_at=entered,
                planned_at=entered,
                state=RunState.DELAYED,
                due_at=due,
            )
        )

    def sweep() -> Tick:
        with LOG.recording() as calls:
            began = time.perf_counter()
            answer = sweeper.lambda_handler(
                conftest.load_event("robot_sweeper/tick.json"), conftest.lambda_context()
            )
            seconds = time.perf_counter() - began
        _drain(url)
        return Tick(calls, seconds, answer["sent"])

    results: dict[int, list[Tick]] = {}
    written, numbered = 0, 10_000_000
    with _app_clock(clock):
        with LOG.off():
            run_store.set_sweep_cursor(run_store.minute_of(start - timedelta(minutes=1)))
        sweep()  # warm: clients, the tenant's settings
        for scale in QUICK_SWEEPER_SCALES if run.quick else SWEEPER_SCALES:
            # The backlog: due a day later and over the day after, every minute and shard of it.
            later = start + timedelta(days=1)
            _write([delayed(n, later + timedelta(seconds=37 * n % 86_400)) for n in range(written, scale)])
            written = scale
            ticks = []
            for _ in range(TICKS_PER_SCALE):
                clock.advance(timedelta(minutes=1))
                due = clock.now() - timedelta(seconds=20)
                _write([delayed(numbered + n, due) for n in range(DUE_PER_TICK)])
                numbered += DUE_PER_TICK
                ticks.append(sweep())
                if ticks[-1].sent != DUE_PER_TICK:
                    raise RuntimeError(f"a tick sent {ticks[-1].sent} runs of the {DUE_PER_TICK} due")
            results[scale] = ticks
    return results


def _tick_detail(ticks: dict[int, list[Tick]]) -> dict[str, Any]:
    return {
        _label(scale): {
            "calls": len(found[-1].calls),
            "calls_by_operation": found[-1].calls.by_operation(),
            "dynamodb_units": found[-1].calls.of(service="DynamoDB").units().as_json(),
            "tick_seconds_median": round(statistics.median(t.seconds for t in found), 3),
        }
        for scale, found in ticks.items()
    }


@figure("robots.sweeper.calls_per_tick", unit="calls")
def sweeper_calls(run: Run) -> Measured:
    """AWS calls of a sweeper tick that finds 100 runs due, with 100,000 runs delayed a day (10,000
    with --quick): the cursor, 8 shards of 2 minutes, the tokens, the sends, a write per run."""
    ticks = run.shared(sweeper_scale)
    return Measured(len(ticks[max(ticks)][-1].calls), _tick_detail(ticks))


@figure("robots.sweeper.flat", unit="x 1k backlog", budget=FLAT)
def sweeper_flat(run: Run) -> Measured:
    """A sweeper tick's calls with the largest backlog over those with 1,000 runs delayed."""
    ticks = run.shared(sweeper_scale)
    counts = {_label(scale): [len(t.calls) for t in found] for scale, found in ticks.items()}
    return Measured(max(counts[_label(max(ticks))]) / min(counts["1k"]), {"calls_per_tick": counts})


@figure("robots.sweeper.tick_seconds_ratio", unit="x 1k backlog")
def sweeper_time(run: Run) -> Measured:
    """A sweeper tick's time with the largest backlog over that with 1,000 (moto's index Query reads
    every item of the table, DynamoDB's only the bucket's: moto's share grows, not the sweeper's)."""
    ticks = run.shared(sweeper_scale)
    medians = {scale: statistics.median(t.seconds for t in found) for scale, found in ticks.items()}
    detail = {_label(scale): round(seconds, 3) for scale, seconds in medians.items()}
    return Measured(medians[max(medians)] / medians[min(medians)], {"tick_seconds_median": detail})
