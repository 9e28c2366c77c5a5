"""The robot engine against moto: planner, sweeper and runner on the template's tables, the ports as
in-memory fakes (``tests/fakes.py``), the run queue a list. Stage entries are the events the fan-out
publishes for the item's writes (``crm.domain.events.item_events``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.domain.robots import Run, RunState
from tests.fakes import FakePorts

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday
STAGES = [
    {"name": "New"},
    {"name": "Offer"},
    {"name": "Awaiting payment"},
    {"name": "Won", "semantic": "success"},
    {"name": "Lost", "semantic": "failure"},
]


class ListQueue:
    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.dead: list[tuple[Run, str]] = []

    def send(self, runs) -> None:
        self.runs.extend(runs)

    def dead_letter(self, run: Run, reason: str) -> None:
        self.dead.append((run, reason))

    def take(self) -> list[Run]:
        taken, self.runs = self.runs, []
        return taken


class Engine:
    """A tenant's deals, with a clock the test moves, and every hop the deployment makes by hand."""

    def __init__(self) -> None:
        from crm.domain import clock

        self.clock = clock.FixedClock(T0)
        clock.use_clock(self.clock)
        self.queue = ListQueue()
        self.fakes = FakePorts()
        self.ports = self.fakes.ports()
        self.sequence = 0

    def robot(self, stage_id: str, type_code: str, params: dict, **settings) -> str:
        from crm.service import rules

        values = {"type_code": type_code, "stage_id": stage_id, "params": params, **settings}
        return rules.create_rule("acme", "deal", "sales", rules.RuleKind.ROBOT, values).id

    def entered(self, before, after) -> None:
        """What the fan-out publishes for this write, handed to the planner."""
        from crm.domain.events import SOURCE, item_events
        from crm.service.robots.planner import plan_entry, stage_entry

        self.sequence += 1
        for event in item_events("acme", before, after, f"stream-{self.sequence}"):
            if event.detail_type in ("StageChanged", "ItemCreated"):
                envelope = {"source": SOURCE, "detail-type": event.detail_type, "detail": event.detail}
                plan_entry(stage_entry(envelope), self.queue)

    def create(self, **values):
        from crm.service import items

        item = items.create_item(
            "acme", "deal", {"title": "Forklift", "emails": ["buyer@client.test"], **values}
        )
        self.entered(None, item)
        return item

    def move(self, item, stage_id):
        from crm.service import items

        before = items.get_item("acme", "deal", item.id)
        after, _ = items.manual_move("acme", "deal", item.id, stage_id, None, True)
        self.entered(before, after)
        return after

    def run_queued(self) -> list:
        """Every queued run, and the runs they queue, until none is left (stage moves re-planned)."""
        from crm.service import items
        from crm.service.robots.runner import run_once

        ran = []
        while runs := self.queue.take():
            for run in runs:
                before = items.get_item("acme", run.item.type, run.item.id)
                result = run_once(run, self.ports, self.queue)
                ran.append(result)
                after = items.get_item("acme", run.item.type, run.item.id)
                if after.version != before.version:
                    self.entered(before, after)
        return ran

    def advance(self, by: timedelta) -> None:
        """The clock moves on, and the sweeper runs as the scheduled rule would."""
        from crm.service.robots.sweeper import sweep

        self.clock.advance(by)
        sweep(self.queue)

    def journal(self, item) -> list[dict]:
        from crm.service.triggers import item_journal

        return [
            e for e in item_journal("acme", "deal", item.id, 100, None)[0] if e.get("kind") == "robot_run"
        ]

    def timeline(self, item) -> list:
        from crm.service import items

        return items.timeline("acme", "deal", item.id, 100, None)[0]


@pytest.fixture
def engine(aws):
    from crm.domain import clock
    from crm.service import configuration

    configuration.create_employee("acme", {"id": "anna", "name": "Anna", "email": "anna@acme.test"})
    configuration.create_pipeline(
        "acme", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    yield Engine()
    clock.use_clock(clock.SystemClock())


def comments(engine: Engine, item) -> list[str]:
    return [e.data["text"] for e in engine.timeline(item) if e.kind.value == "comment"]


def test_a_robot_of_the_stage_a_new_item_is_created_in_runs_once(engine):
    engine.robot("new", "add_comment", {"text": "Welcome, {{ item.title }}"})
    deal = engine.create()
    (ran,) = engine.run_queued()
    assert ran.run.state is RunState.DONE
    assert comments(engine, deal) == ["Welcome, Forklift"]
    # The same message again (SQS delivers at least once): nothing happens a second time.
    from crm.service.robots.runner import run_once

    assert run_once(ran.run.moved_on(RunState.QUEUED, attempt=0), engine.ports, engine.queue) is None
    assert comments(engine, deal) == ["Welcome, Forklift"]
    planned, done = sorted(engine.journal(deal), key=lambda e: e["attempt"])
    assert (planned["state"], planned["attempt"]) == ("queued", 0)
    assert (done["state"], done["attempt"], done["robot_type"]) == ("done", 1, "add_comment")


def test_a_duplicate_delivery_sends_no_second_mail(engine):
    engine.robot("new", "send_email", {"subject": "Hello {{ item.title }}", "body_text": "Thanks"})
    engine.create()
    (run,) = engine.queue.runs
    engine.queue.send([run])  # delivered twice
    engine.run_queued()
    assert len(engine.fakes.mailer.sent) == 1
    assert engine.fakes.mailer.sent[0].draft.subject == "Hello Forklift"


def test_a_robot_that_fails_twice_then_succeeds_has_its_effect_once(engine):
    engine.robot(
        "new",
        "send_email",
        {"subject": "Offer", "body_text": "See it"},
        retry={"attempts": 2, "backoff_seconds": 60},
    )
    deal = engine.create()
    engine.fakes.mailer.fail_next(2)
    (first,) = engine.run_queued()
    assert first.run.state is RunState.DELAYED and first.run.due_at == T0 + timedelta(seconds=60)
    engine.advance(timedelta(seconds=61))
    engine.advance(timedelta(seconds=60))  # the next minute's bucket: due, not yet run
    (second,) = engine.run_queued()
    assert second.run.state is RunState.DELAYED  # backoff doubles: 120 s
    engine.advance(timedelta(minutes=3))
    (third,) = engine.run_queued()
    assert third.run.state is RunState.DONE and third.run.attempt == 3
    assert len(engine.fakes.mailer.sent) == 1
    states = sorted((e["attempt"], e["state"]) for e in engine.journal(deal))
    assert states == [(0, "queued"), (1, "delayed"), (2, "delayed"), (3, "done")]


def test_a_robot_that_fails_every_attempt_goes_to_the_dead_letter_queue_and_stops_the_chain(engine):
    engine.robot("new", "send_email", {"subject": "Offer", "body_text": "See it"})
    engine.robot("new", "add_comment", {"text": "after the mail"}, after_previous=True)
    deal = engine.create()
    engine.fakes.mailer.fail_next(1)
    (ran,) = engine.run_queued()
    assert ran.run.state is RunState.FAILED
    assert [run.id for run, _ in engine.queue.dead] == [ran.run.id]
    assert comments(engine, deal) == []
    ended = {
        e["robot_type"]: e["state"] for e in engine.journal(deal) if e["state"] in ("failed", "cancelled")
    }
    assert ended == {"send_email": "failed", "add_comment": "cancelled"}


def test_a_sequential_chain_passes_outputs_to_the_robot_after(engine):
    mail = engine.robot("new", "send_email", {"subject": "Offer", "body_text": "See it"})
    engine.robot(
        "new",
        "add_comment",
        {"text": "sent {{ robots." + mail + ".message_id }}"},
        after_previous=True,
    )
    deal = engine.create()
    assert len(engine.queue.runs) == 1  # the second waits for the first
    engine.run_queued()
    (message_id,) = [m for m in [engine.fakes.mailer._keys[k].id for k in engine.fakes.mailer._keys]]
    assert comments(engine, deal) == [f"sent {message_id}"]


def test_leaving_the_stage_cancels_its_delayed_robots_and_coming_back_does_not_rerun_them(engine):
    engine.robot(
        "new",
        "add_comment",
        {"text": "still new after a day"},
        delay={"kind": "after", "amount": 1, "unit": "days"},
    )
    deal = engine.create()
    assert engine.queue.runs == []  # delayed, in the due index
    engine.advance(timedelta(hours=2))
    deal = engine.move(deal, "offer")
    engine.advance(timedelta(days=1))
    assert engine.run_queued() == []
    assert comments(engine, deal) == []
    assert sorted(e["state"] for e in engine.journal(deal)) == ["cancelled", "delayed"]


def test_a_delayed_robot_runs_when_due_and_not_before(engine):
    engine.robot(
        "new", "add_comment", {"text": "control"}, delay={"kind": "after", "amount": 1, "unit": "days"}
    )
    deal = engine.create()
    engine.advance(timedelta(hours=23, minutes=58))
    assert engine.run_queued() == []
    engine.advance(timedelta(minutes=3))
    (ran,) = engine.run_queued()
    assert ran.run.state is RunState.DONE
    assert comments(engine, deal) == ["control"]


def test_a_robot_whose_condition_does_not_hold_is_skipped(engine):
    condition = {"field": "amount", "op": ">", "value": 10000}
    engine.robot("new", "add_comment", {"text": "big deal"}, condition=condition)
    deal = engine.create(amount=500.0)
    (ran,) = engine.run_queued()
    assert ran.run.state is RunState.SKIPPED and "amount" in ran.run.note
    assert comments(engine, deal) == []


def test_a_loop_between_two_robots_stops_at_the_chain_bound(engine):
    from crm.domain.transitions import MAX_CHAIN_DEPTH

    engine.robot("offer", "change_stage", {"stage_id": "awaiting_payment"}, allow_repeat=True)
    engine.robot("awaiting_payment", "change_stage", {"stage_id": "offer"}, allow_repeat=True)
    deal = engine.create()
    engine.move(deal, "offer")
    ran = engine.run_queued()
    moves = [r for r in ran if r.run.state is RunState.DONE]
    assert len(moves) == MAX_CHAIN_DEPTH
    assert ran[-1].run.state is RunState.FAILED and "deeper than" in ran[-1].run.error
    refused = [e for e in engine.timeline(deal) if e.kind.value == "move_refused"]
    assert refused and refused[0].data["reason"] == "chain_too_deep"


def test_a_robot_that_does_not_repeat_runs_once_per_item(engine):
    engine.robot("offer", "add_comment", {"text": "offer made"})
    deal = engine.create()
    deal = engine.move(deal, "offer")
    engine.run_queued()
    deal = engine.move(deal, "new")
    deal = engine.move(deal, "offer")
    assert engine.run_queued() == []
    assert comments(engine, deal) == ["offer made"]


def test_a_wait_robot_holds_the_robots_after_it_until_its_condition_holds(engine):
    from crm.service import items

    wait = {
        "condition": {"field": "amount", "op": ">", "value": 1000},
        "timeout_minutes": 600,
        "check_every_minutes": 5,
    }
    engine.robot("new", "wait", wait)
    engine.robot("new", "add_comment", {"text": "big enough now"}, after_previous=True)
    deal = engine.create(amount=10.0)
    (waiting,) = engine.run_queued()
    assert waiting.run.state is RunState.DELAYED and waiting.run.due_at == T0 + timedelta(minutes=5)
    engine.advance(timedelta(minutes=6))
    engine.run_queued()
    assert comments(engine, deal) == []
    before = items.get_item("acme", "deal", deal.id)
    after = items.update_item("acme", "deal", deal.id, {"amount": 5000.0})
    engine.entered(before, after)  # an update, not a stage entry: plans nothing
    engine.advance(timedelta(minutes=5))
    engine.run_queued()
    assert comments(engine, deal) == ["big enough now"]


def test_the_tenants_runs_per_minute_let_the_excess_wait_for_the_next_minute(engine):
    from crm.service import robot_settings

    robot_settings.update_settings("acme", {"runs_per_minute": 4})
    engine.robot("new", "add_comment", {"text": "hello"})
    for n in range(12):
        engine.create(title=f"Deal {n}")
    assert len(engine.queue.runs) == 4  # this minute's allowance, whichever token shards it is in
    total = len(engine.run_queued())
    for minute in range(1, 3):
        engine.advance(timedelta(minutes=1))
        ran = len(engine.run_queued())
        assert ran == 4, f"minute {minute}"
        total += ran
    assert total == 12  # every run ran, none was dropped


def test_a_robot_copying_items_into_its_own_stage_stops_at_the_chain_bound(engine):
    from dataclasses import replace

    from crm.domain.transitions import MAX_CHAIN_DEPTH
    from crm.service import items
    from crm.service.robots.ports import CrmItems

    class Created(CrmItems):
        """The CRM's items, each new one entering its stage as the stream would say."""

        def create(self, *args, **kwargs):
            item = super().create(*args, **kwargs)
            if item.version == 1 and item.id not in seen:
                seen.add(item.id)
                engine.entered(None, item)
            return item

    seen: set[str] = set()
    engine.ports = replace(engine.ports, items=Created())
    engine.robot("new", "copy_item", {"title": "Copy of {{ item.title }}"})
    engine.create()
    ran = engine.run_queued()  # each copy enters "new" (ItemCreated), and its own copy robot runs
    done = [r for r in ran if r.run.state is RunState.DONE]
    assert len(done) == MAX_CHAIN_DEPTH
    assert ran[-1].run.state is RunState.FAILED and "deeper than" in ran[-1].run.error
    listed, _, _ = items.list_items("acme", "deal", None, None, 100, None)
    assert len(listed) == MAX_CHAIN_DEPTH + 1


def test_a_robot_switched_off_before_it_runs_is_cancelled(engine):
    from crm.service import rules

    rule_id = engine.robot(
        "new", "add_comment", {"text": "hello"}, delay={"kind": "after", "amount": 10, "unit": "minutes"}
    )
    deal = engine.create()
    values = {"type_code": "add_comment", "stage_id": "new", "params": {"text": "hello"}, "active": False}
    rules.update_rule("acme", "deal", "sales", rules.RuleKind.ROBOT, rule_id, values)
    engine.advance(timedelta(minutes=11))
    (ran,) = engine.run_queued()
    assert ran.run.state is RunState.CANCELLED and "switched off" in ran.run.note
    assert comments(engine, deal) == []


def test_a_delay_before_a_date_field_counts_from_the_items_date(engine):
    from crm.service import configuration

    configuration.update_item_type(
        "acme", "deal", {"fields": [{"code": "deadline", "name": "Deadline", "type": "date"}]}
    )
    delay = {"kind": "before_field", "amount": 1, "unit": "days", "field": "deadline"}
    engine.robot("new", "add_comment", {"text": "deadline tomorrow"}, delay=delay)
    engine.robot("new", "add_comment", {"text": "no deadline"}, delay={**delay, "amount": 2})
    with_date = engine.create(fields={"deadline": "2026-03-06"})
    engine.advance(timedelta(days=1, hours=13))  # 2026-03-04T23:00: before the day before
    assert comments(engine, with_date) == [] and engine.run_queued() == []
    engine.advance(timedelta(minutes=31))  # the sweeper ticks every minute: it reads up to an hour at once
    engine.advance(timedelta(minutes=31))  # 2026-03-05T00:02 (UTC, the tenant's default zone)
    engine.run_queued()
    assert comments(engine, with_date) == ["deadline tomorrow"]
    without = engine.create(title="No date")
    skipped = [e for e in engine.journal(without) if e["state"] == "skipped"]
    assert len(skipped) == 2 and "date field" in skipped[0]["note"]


def test_robots_added_without_a_sort_run_in_the_order_they_were_added(engine):
    added = [
        engine.robot("new", "add_comment", {"text": f"step {n}"}, after_previous=n > 1) for n in range(1, 6)
    ]
    engine.create()
    assert [result.run.rule_id for result in engine.run_queued()] == added


def test_a_released_robot_whose_send_is_lost_is_sent_by_the_sweeper(engine):
    # The runner stops between writing the first robot done and sending the second: the second is
    # in the due index, due now, so the next tick sends it.
    engine.robot("new", "add_comment", {"text": "first"})
    engine.robot("new", "add_comment", {"text": "second"}, after_previous=True)
    deal = engine.create()
    from crm.service.robots.runner import run_once

    class Lost(ListQueue):
        def send(self, runs) -> None:
            pass  # the Lambda timed out before the send

    (first,) = engine.queue.take()
    run_once(first, engine.ports, Lost())
    assert comments(engine, deal) == ["first"]
    engine.advance(timedelta(minutes=1))
    engine.run_queued()
    assert sorted(comments(engine, deal)) == ["first", "second"]


def test_a_wait_robot_rechecked_while_the_sweeper_marks_it_queued_is_not_lost(engine):
    from crm.adapters import runs as stored
    from crm.service.robots.runner import run_once
    from crm.service.robots.sweeper import sweep

    wait = {"condition": {"field": "amount", "op": ">", "value": 1000}, "timeout_minutes": 600}
    engine.robot("new", "wait", wait)
    deal = engine.create(amount=10.0)
    engine.run_queued()  # not yet: due again in 5 minutes

    class Inline(ListQueue):
        """A runner faster than the sweeper: the run is claimed and re-delayed before the sweeper
        writes it queued."""

        def send(self, runs) -> None:
            for run in runs:
                run_once(run, engine.ports, self)

    engine.clock.advance(timedelta(minutes=6))
    sweep(Inline())
    (run,) = stored.runs_of("acme", engine_item(deal))
    assert run.state is RunState.DELAYED and run.due_at is not None  # waiting for its next check


def engine_item(item):
    from crm.domain.trigger_events import ItemRef

    return ItemRef(item.type, item.id)


def test_a_sweep_out_of_time_leaves_the_rest_to_the_next_tick(engine):
    from crm.service.robots.sweeper import sweep

    engine.robot(
        "new", "add_comment", {"text": "x"}, delay={"kind": "after", "amount": 10, "unit": "minutes"}
    )
    for n in range(3):
        engine.create(title=f"Deal {n}")
    engine.clock.advance(timedelta(minutes=11))
    cut_short = sweep(engine.queue, budget=-1)  # its time is up before the first chunk
    assert (cut_short.finished, cut_short.sent, engine.queue.runs) == (False, 0, [])
    assert sweep(engine.queue).sent == 3
    assert len(engine.run_queued()) == 3
