"""The operator's re-drive of the robot runs' dead-letter queue (``make redrive-robot-runs``,
``scripts/redrive_robot_runs.py``) against moto SQS and the template's tables: a failed run runs
again once, the same dead letter twice runs it once, a run that is not failed any more is skipped,
a run the run queue gave up on is sent to it again, and what is not a run stays in the queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.conftest import REGION
from tests.fakes import FakePorts

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


class Crm:
    """A tenant's deals with a send-email robot, the run queue and its dead-letter queue in moto SQS,
    the planner and runner fed from them as their event sources would."""

    def __init__(self) -> None:
        from crm.adapters.run_queue import SqsRunQueue
        from crm.service import configuration, rules

        self.sqs = boto3.client("sqs", region_name=REGION)
        self.dlq = self.sqs.create_queue(QueueName="RobotRunsDLQ")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq, AttributeNames=["QueueArn"])
        policy = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "5"}
        self.runs = self.sqs.create_queue(
            QueueName="RobotRunsQueue", Attributes={"RedrivePolicy": json.dumps(policy)}
        )["QueueUrl"]
        self.queue = SqsRunQueue(self.runs, self.dlq)
        self.fakes = FakePorts()
        self.ports = self.fakes.ports()
        configuration.create_pipeline(
            "acme", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": [{"name": "New"}]}
        )
        rules.create_rule(
            "acme",
            "deal",
            "sales",
            rules.RuleKind.ROBOT,
            {"type_code": "send_email", "stage_id": "new", "params": {"subject": "Offer", "body_text": "x"}},
        )

    def create_deal(self):
        from crm.domain.events import SOURCE, item_events
        from crm.service import items
        from crm.service.robots.planner import stage_entry

        deal = items.create_item("acme", "deal", {"title": "Forklift", "emails": ["buyer@client.test"]})
        for event in item_events("acme", None, deal, f"stream-{deal.id}"):
            if event.detail_type == "ItemCreated":
                from crm.service.robots.planner import plan_entry

                envelope = {"source": SOURCE, "detail-type": event.detail_type, "detail": event.detail}
                plan_entry(stage_entry(envelope), self.queue)
        return deal

    def received(self, url: str) -> list[dict]:
        """Every message visible in the queue now, taken out of it."""
        taken = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                taken.append(message)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return taken

    def run_queued(self) -> list:
        """The runner, on every message of the run queue."""
        from crm.service.robots.runner import handle

        return [handle(m["Body"], self.ports, self.queue) for m in self.received(self.runs)]

    def dead_letter(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.dlq, MessageBody=body)

    def journal(self, deal) -> list[tuple[int, str, str | None]]:
        from crm.service.triggers import item_journal

        entries = item_journal("acme", "deal", deal.id, 100, None)[0]
        return [
            (e["attempt"], e["state"], e["note"]) for e in reversed(entries) if e.get("kind") == "robot_run"
        ]


@pytest.fixture
def crm(aws):
    from crm.domain import clock

    stopped = clock.FixedClock(T0)
    clock.use_clock(stopped)
    made = Crm()
    made.clock = stopped
    yield made
    clock.use_clock(clock.SystemClock())


def redrive(capsys, crm: Crm, *more: str) -> tuple[int, dict]:
    from scripts.redrive_robot_runs import main

    status = main(["--queue-url", crm.dlq, "--wait", "0", *more])
    return status, json.loads(capsys.readouterr().out)


def failed_run(crm: Crm):
    """A deal whose mail robot failed its only attempt: its run is in the dead-letter queue."""
    deal = crm.create_deal()
    crm.fakes.mailer.fail_next(1)
    (ran,) = crm.run_queued()
    assert ran.run.state.value == "failed"
    return deal


def test_a_failed_run_is_re_driven_and_runs_once(crm, capsys):
    deal = failed_run(crm)
    crm.clock.advance(timedelta(hours=2))  # an operator sees the alarm

    status, summary = redrive(capsys, crm)

    assert status == 0
    assert summary == {
        "received": 1,
        "re_driven": 1,
        "skipped": 0,
        "kept": 0,
        "by_reason": {"re_driven": {"failed: queued again with its attempts renewed": 1}},
    }
    (ran,) = crm.run_queued()
    # Its failures are renewed (its retries start again); its claims only grow, so no message of
    # the first attempts can claim it again.
    assert (ran.run.state.value, ran.run.attempt, ran.run.failures) == ("done", 2, 0)
    assert len(crm.fakes.mailer.sent) == 1
    assert crm.received(crm.dlq) == []  # the dead letter is deleted
    assert crm.journal(deal) == [
        (0, "queued", None),
        (1, "failed", None),
        (1, "delayed", "re-driven"),  # due at once, and sent: the sweeper sends it if the send is lost
        (2, "done", "re-driven"),
    ]


def test_the_same_dead_letter_twice_runs_the_run_once(crm, capsys):
    failed_run(crm)
    (letter,) = crm.received(crm.dlq)
    crm.dead_letter(letter["Body"])
    crm.dead_letter(letter["Body"])

    status, summary = redrive(capsys, crm)

    assert status == 0
    assert (summary["re_driven"], summary["skipped"]) == (1, 1)
    assert summary["by_reason"]["skipped"] == {"not failed any more: delayed": 1}
    assert [r.run.state.value for r in crm.run_queued()] == ["done"]
    assert len(crm.fakes.mailer.sent) == 1


def test_a_run_that_is_not_failed_any_more_is_skipped(crm, capsys):
    failed_run(crm)
    (letter,) = crm.received(crm.dlq)
    crm.dead_letter(letter["Body"])
    redrive(capsys, crm)
    crm.run_queued()  # re-driven and done
    crm.dead_letter(letter["Body"])  # its old dead letter again (a second copy an operator kept)

    status, summary = redrive(capsys, crm)

    assert status == 0
    assert summary["by_reason"] == {"skipped": {"not failed any more: done": 1}}
    assert crm.received(crm.runs) == []
    assert crm.received(crm.dlq) == []
    assert len(crm.fakes.mailer.sent) == 1


def test_a_run_the_run_queue_gave_up_on_is_sent_to_it_again(crm, capsys):
    """SQS moves a run's message to the dead-letter queue after five deliveries the runner could not
    take; its record still says queued, and nothing else would run it."""
    crm.create_deal()
    (message,) = crm.received(crm.runs)
    crm.dead_letter(message["Body"])

    status, summary = redrive(capsys, crm)

    assert status == 0
    assert summary["by_reason"] == {"re_driven": {"queued: the run queue had given up on it": 1}}
    assert [r.run.state.value for r in crm.run_queued()] == ["done"]
    assert len(crm.fakes.mailer.sent) == 1


def test_messages_that_are_not_runs_stay_in_the_queue_and_are_reported(crm, capsys):
    failed_run(crm)
    crm.dead_letter("not json at all")
    crm.dead_letter(json.dumps({"id": "r1"}))

    status, summary = redrive(capsys, crm)

    assert status == 1
    assert (summary["received"], summary["re_driven"], summary["kept"]) == (3, 1, 2)
    assert summary["by_reason"]["kept"] == {"not a robot run": 2}
    # Visible again at once, for a person (or the next run of the command) to read.
    assert sorted(m["Body"] for m in crm.received(crm.dlq)) == ["not json at all", json.dumps({"id": "r1"})]


def test_at_most_max_messages_are_handled(crm, capsys):
    failed_run(crm)
    failed_run(crm)

    _, summary = redrive(capsys, crm, "--max", "1")

    assert (summary["received"], summary["re_driven"]) == (1, 1)
    assert len(crm.received(crm.dlq)) == 1


def test_the_run_queue_is_found_from_the_dead_letter_queue_or_named(crm, capsys):
    from scripts.redrive_robot_runs import _run_queue_url

    assert _run_queue_url(crm.sqs, crm.dlq) == crm.runs
    failed_run(crm)
    other = crm.sqs.create_queue(QueueName="elsewhere")["QueueUrl"]

    _, summary = redrive(capsys, crm, "--run-queue-url", other)

    assert summary["re_driven"] == 1
    assert len(crm.received(other)) == 1 and crm.received(crm.runs) == []
