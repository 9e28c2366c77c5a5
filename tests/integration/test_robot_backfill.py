"""A robot created "also for items already here" (``also_for_items_here``): the API asks the planner
for a backfill and does not wait; the planner plans one page of the stage's items per message of its
queue (moto SQS, as the template's StageChangedQueue), the next page's message carrying the cursor.
Each item gets the robot's run for its current stage entry, journaled "planned by backfill"; a page
delivered again plans nothing twice, and items elsewhere are left alone."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from crm.domain.robots import Run, RunState
from tests.conftest import REGION
from tests.fakes import FakePorts
from tests.gateway import Gateway

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
STAGES = [{"name": "New"}, {"name": "Offer"}, {"name": "Won", "semantic": "success"}]
ROBOTS = "/automation/deal/sales/robots"


class ListQueue:
    """The run queue, as a list."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def send(self, runs) -> None:
        self.runs.extend(runs)

    def dead_letter(self, run: Run, reason: str) -> None:
        raise AssertionError(f"{run.id} failed: {reason}")


class Crm:
    def __init__(self, clock) -> None:
        from crm.service.tenants import create_tenant

        self.clock = clock
        self.gateway = Gateway()
        self.key = create_tenant("Acme", "acme").api_key
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.planner_queue = self.sqs.create_queue(QueueName="StageChangedQueue")["QueueUrl"]
        assert self.planner_queue == os.environ["STAGE_CHANGED_QUEUE_URL"]
        self.runs = ListQueue()
        self.api(
            "POST", "/pipelines", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
        )

    def api(self, method: str, path: str, body=None):
        answer = self.gateway.call(method, path, body, self.key)
        assert answer.status < 300, answer.body
        return answer

    def deals(self, n: int, stage: str = "new") -> list:
        from crm.service import items

        made = [items.create_item("acme", "deal", {"title": f"Deal {k}"}) for k in range(n)]
        if stage != "new":
            made = [items.manual_move("acme", "deal", d.id, stage, None, False)[0] for d in made]
        return made

    def robot(self, **values) -> str:
        body = {"type_code": "add_comment", "stage_id": "new", "params": {"text": "Hello {{ item.title }}"}}
        return self.api("POST", ROBOTS, {**body, **values}).body["id"]

    def messages(self) -> list[str]:
        """The planner queue's messages, taken out of it."""
        bodies = []
        while found := self.sqs.receive_message(QueueUrl=self.planner_queue, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in found:
                bodies.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.planner_queue, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def plan_pages(self) -> list:
        """The planner on its queue's messages until none is left (its own next pages included)."""
        from crm.service.robots.planner import handle

        handled = []
        while bodies := self.messages():
            handled += [handle(body, self.runs) for body in bodies]
        return handled

    def runs_of(self, deal) -> list[Run]:
        from crm.adapters import runs
        from crm.domain.trigger_events import ItemRef

        return runs.runs_of("acme", ItemRef("deal", deal.id))


@pytest.fixture
def crm(aws):
    from crm.domain import clock

    stopped = clock.FixedClock(T0)
    clock.use_clock(stopped)
    yield Crm(stopped)
    clock.use_clock(clock.SystemClock())


def test_every_item_in_the_stage_gets_the_robots_run_a_page_at_a_time(crm):
    here = crm.deals(250)
    elsewhere = crm.deals(3, stage="offer")
    crm.clock.advance(timedelta(hours=1))

    robot_id = crm.robot(also_for_items_here=True)

    pages = crm.plan_pages()
    assert [len(page.planned) for page in pages] == [100, 100, 50]
    assert [page.next.page if page.next else None for page in pages] == [2, 3, None]
    for deal in here:
        (run,) = crm.runs_of(deal)
        assert (run.rule_id, run.stage_id, run.entered_at) == (robot_id, "new", deal.stage_entered_at)
        assert run.state in (RunState.QUEUED, RunState.DELAYED)  # queued within the tenant's runs a minute
        assert run.note.startswith("planned by backfill")
    assert all(crm.runs_of(deal) == [] for deal in elsewhere)
    assert sorted(run.item.id for run in crm.runs.runs) == sorted(
        run.item.id for deal in here for run in crm.runs_of(deal) if run.state is RunState.QUEUED
    )


def test_the_api_answers_at_once_and_leaves_the_planning_to_the_planner(crm):
    crm.deals(3)
    created = crm.gateway.call(
        "POST",
        ROBOTS,
        {"type_code": "add_comment", "stage_id": "new", "params": {"text": "x"}, "also_for_items_here": True},
        crm.key,
    )
    assert created.status == 201, created.body
    assert "also_for_items_here" not in created.body
    (message,) = crm.messages()
    assert json.loads(message) == {
        "kind": "robot_backfill",
        "tenant_id": "acme",
        "item_type": "deal",
        "pipeline_id": "sales",
        "stage_id": "new",
        "robot_id": created.body["id"],
        "cursor": None,
        "page": 1,
    }
    from crm.adapters.runs import RunRecord

    assert RunRecord.count() == 0  # nothing was planned by the request itself


def test_a_robot_created_without_it_asks_for_nothing(crm):
    deal = crm.deals(1)[0]
    crm.robot()
    crm.robot(also_for_items_here=False)
    assert crm.messages() == []
    assert crm.runs_of(deal) == []


def test_a_page_delivered_again_plans_nothing_twice(crm):
    here = crm.deals(150)
    crm.robot(also_for_items_here=True)
    (first,) = crm.messages()
    crm.sqs.send_message(QueueUrl=crm.planner_queue, MessageBody=first)
    crm.plan_pages()  # page 1, then its redelivery and page 2 (asked twice)
    assert all(len(crm.runs_of(deal)) == 1 for deal in here)

    from crm.service.robots.planner import handle

    again = handle(first, crm.runs)
    assert again.planned == ()
    # What the first delivery left queued is sent again (it may have stopped before sending).
    assert len(again.sent) == 100
    assert all(len(crm.runs_of(deal)) == 1 for deal in here)


def test_the_backfilled_runs_run_once_and_are_journaled(crm):
    from crm.service import items
    from crm.service.robots.runner import run_once
    from crm.service.triggers import item_journal

    (deal,) = crm.deals(1)
    crm.robot(also_for_items_here=True)
    crm.plan_pages()
    ports = FakePorts().ports()
    (run,) = crm.runs.runs
    assert run_once(run, ports, crm.runs).run.state is RunState.DONE
    assert run_once(run, ports, crm.runs) is None  # the same message again
    comments = [
        e.data["text"] for e in items.timeline("acme", "deal", deal.id, 100, None)[0] if e.kind == "comment"
    ]
    assert comments == ["Hello Deal 0"]
    journal = [e for e in item_journal("acme", "deal", deal.id, 100, None)[0] if e.get("kind") == "robot_run"]
    assert sorted((e["state"], e["note"]) for e in journal) == [
        ("done", "planned by backfill"),
        ("queued", "planned by backfill"),
    ]


def test_an_item_the_planner_planned_the_robot_for_already_is_left_alone(crm):
    """The item entered the stage as the robot was created; its event reached the planner first."""
    from crm.domain.events import SOURCE, item_events
    from crm.service import items
    from crm.service.robots.planner import plan_entry, stage_entry

    robot_id = crm.robot(also_for_items_here=True)
    deal = items.create_item("acme", "deal", {"title": "Late"})
    for event in item_events("acme", None, deal, "stream-1"):
        if event.detail_type == "ItemCreated":
            envelope = {"source": SOURCE, "detail-type": event.detail_type, "detail": event.detail}
            plan_entry(stage_entry(envelope), crm.runs)

    (page,) = crm.plan_pages()

    assert page.planned == ()
    (run,) = crm.runs_of(deal)
    assert (run.rule_id, run.entry, run.note) == (robot_id, "stream-1", None)


def test_a_robot_that_does_not_repeat_is_not_planned_for_an_item_it_ran_for(crm):
    from crm.service.robots.runner import run_once

    (deal,) = crm.deals(1)
    crm.robot(also_for_items_here=True)
    (first,) = crm.messages()
    crm.sqs.send_message(QueueUrl=crm.planner_queue, MessageBody=first)
    crm.plan_pages()
    (run,) = crm.runs.runs
    assert run_once(run, FakePorts().ports(), crm.runs).run.state is RunState.DONE
    crm.sqs.send_message(QueueUrl=crm.planner_queue, MessageBody=first)  # long after: delivered again

    (page,) = crm.plan_pages()

    assert (page.planned, page.sent) == ((), ())
    assert [r.state for r in crm.runs_of(deal)] == [RunState.DONE]


def test_delays_count_from_when_each_item_entered_the_stage(crm):
    (old,) = crm.deals(1)
    crm.clock.advance(timedelta(days=3))
    (new,) = crm.deals(1)
    crm.robot(also_for_items_here=True, delay={"kind": "after", "amount": 1, "unit": "days"})

    crm.plan_pages()

    (ran_at_once,) = crm.runs_of(old)
    (waits,) = crm.runs_of(new)
    assert ran_at_once.state is RunState.QUEUED
    assert (waits.state, waits.due_at) == (RunState.DELAYED, new.stage_entered_at + timedelta(days=1))


def test_a_robot_removed_or_moved_before_its_page_ends_the_backfill(crm):
    (deal,) = crm.deals(1)
    removed = crm.robot(also_for_items_here=True)
    crm.api("DELETE", f"{ROBOTS}/{removed}")
    moved = crm.robot(also_for_items_here=True)
    body = {"type_code": "add_comment", "stage_id": "offer", "params": {"text": "x"}}
    crm.api("PUT", f"{ROBOTS}/{moved}", body)

    pages = crm.plan_pages()

    assert [(p.planned, p.next) for p in pages] == [((), None), ((), None)]
    assert crm.runs_of(deal) == []


def test_a_switched_off_robot_cannot_be_backfilled_and_is_not_created(crm):
    answer = crm.gateway.call(
        "POST",
        ROBOTS,
        {"type_code": "add_comment", "stage_id": "new", "params": {"text": "x"}, "active": False,
         "also_for_items_here": True},
        crm.key,
    )  # fmt: skip
    assert answer.status == 422
    assert answer.body["message"].startswith("also_for_items_here: the robot is switched off")
    assert crm.api("GET", "/automation/deal/sales").body["robots"] == []
    assert crm.messages() == []


def test_a_robot_whose_backfill_cannot_be_asked_for_is_not_created(crm):
    from crm.service import rules

    class Down:
        def send(self, message) -> None:
            raise ConnectionError("the queue is unreachable")

    values = {"type_code": "add_comment", "stage_id": "new", "params": {"text": "x"}}
    with pytest.raises(ConnectionError):
        rules.create_robot("acme", "deal", "sales", values, also_for_items_here=True, pages=Down())
    assert crm.api("GET", "/automation/deal/sales").body["robots"] == []


@pytest.mark.parametrize(
    "message",
    [
        {"kind": "robot_backfill", "tenant_id": "acme"},
        {"kind": "robot_backfill", "tenant_id": "acme", "item_type": "deal", "pipeline_id": "sales",
         "stage_id": "new", "robot_id": "r1", "page": 0},
        {"kind": "robot_backfill", "tenant_id": "acme", "item_type": "deal", "pipeline_id": "sales",
         "stage_id": "new", "robot_id": "r1", "cursor": 5},
    ],
)  # fmt: skip
def test_a_malformed_backfill_message_is_refused(crm, message):
    from crm.domain.errors import Invalid
    from crm.service.robots.planner import handle

    with pytest.raises(Invalid):
        handle(json.dumps(message), crm.runs)


def test_the_planner_function_takes_the_sample_backfill_message_and_asks_for_the_next_page(aws):
    """The deployed handler, on the sample event (events/robot_planner/robot_backfill.json) naming a
    robot of a tenant with 101 deals: one page planned, the next asked of the planner's queue."""
    from crm.adapters import automation
    from crm.domain.robots import RunState
    from crm.domain.rules import Rule, RuleKind
    from crm.service import configuration, items
    from tests.conftest import lambda_context, load_event, load_handler

    sqs = boto3.client("sqs", region_name=REGION)
    runs_queue = sqs.create_queue(QueueName="RobotRunsQueue")["QueueUrl"]
    planner_queue = sqs.create_queue(QueueName="StageChangedQueue")["QueueUrl"]
    configuration.create_pipeline(
        "demo", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    event = load_event("robot_planner/robot_backfill.json")
    robot_id = json.loads(event["Records"][0]["body"])["robot_id"]
    config = automation.load("demo", "sales", fresh=True)
    robot = Rule(robot_id, RuleKind.ROBOT, "add_comment", "Hello", "new", {"text": "Hello"})
    automation.save_pipeline(
        "demo", config.pipeline, config.pipeline.with_stages(list(config.pipeline.stages)), put=[robot]
    )
    for n in range(101):
        items.create_item("demo", "deal", {"title": f"Deal {n}"})

    answer = load_handler("robot_planner").lambda_handler(event, lambda_context())

    assert answer == {"batchItemFailures": []}
    queued = []
    while found := sqs.receive_message(QueueUrl=runs_queue, MaxNumberOfMessages=10).get("Messages"):
        queued += [json.loads(m["Body"]) for m in found]
        sqs.delete_message_batch(
            QueueUrl=runs_queue,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(found)],
        )
    assert len(queued) == 100 and {run["state"] for run in queued} == {RunState.QUEUED.value}
    (following,) = sqs.receive_message(QueueUrl=planner_queue, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(following["Body"])["page"] == 2
