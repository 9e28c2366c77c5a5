"""Planning a stage's robots for a stage entry (``crm.domain.robots.plan``): pure, no storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.domain.robots import Run, RunState, StageEntry, plan, run_id
from crm.domain.rules import Rule, RuleKind
from crm.domain.trigger_events import ItemRef

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
DEAL = ItemRef("deal", "7")


def entry(
    name: str = "e1", stage_id: str = "offer", at: datetime = T0, chain: tuple[str, ...] = ()
) -> StageEntry:
    return StageEntry("acme", DEAL, "sales", stage_id, name, at, chain)


def robot(id: str, **settings) -> Rule:
    return Rule(
        id, RuleKind.ROBOT, "add_comment", id, settings.pop("stage_id", "offer"), {"text": id}, **settings
    )


def at_once(robot: Rule, base: datetime) -> datetime | None:
    return base


def planned(robots, earlier=(), due=at_once, now=T0, **kw):
    return plan(entry(**kw), robots, list(earlier), due, now)


def test_an_immediate_robot_is_queued_and_a_delayed_one_waits_for_its_due_time():
    later = T0 + timedelta(days=1)
    made = planned([robot("a"), robot("b")], due=lambda r, base: base if r.id == "a" else later)
    assert [(r.rule_id, r.state, r.due_at) for r in made.runs] == [
        ("a", RunState.QUEUED, None),
        ("b", RunState.DELAYED, later),
    ]
    assert all(r.entered_at == T0 and r.entry == "e1" for r in made.runs)


def test_a_due_time_already_past_queues_the_run_and_no_due_time_skips_it():
    made = planned(
        [robot("past"), robot("no_date")],
        due=lambda r, base: None if r.id == "no_date" else base - timedelta(hours=1),
    )
    assert [(r.rule_id, r.state) for r in made.runs] == [
        ("past", RunState.QUEUED),
        ("no_date", RunState.SKIPPED),
    ]
    assert "date field" in made.runs[1].note


def test_a_sequential_robot_waits_for_the_one_before_it_and_each_knows_the_other():
    made = planned([robot("a"), robot("b", after_previous=True), robot("c", after_previous=True)])
    a, b, c = made.runs
    assert (a.state, b.state, c.state) == (RunState.QUEUED, RunState.WAITING, RunState.WAITING)
    assert (a.then, b.after, b.then, c.after) == (b.id, a.id, c.id, b.id)


def test_the_same_entry_again_plans_nothing_new():
    first = planned([robot("a"), robot("b")])
    again = planned([robot("a"), robot("b")], earlier=first.runs)
    assert again.runs == () and again.cancelled == ()


def test_entering_another_stage_cancels_the_pending_runs_of_the_one_left_but_not_the_ended_ones():
    pending = planned(
        [robot("a", stage_id="new")], stage_id="new", name="e0", due=lambda r, b: b + timedelta(days=1)
    )
    ended = Run(**{**vars(pending.runs[0]), "id": "x", "state": RunState.DONE})
    made = planned([robot("b")], earlier=[*pending.runs, ended], at=T0 + timedelta(minutes=5))
    assert [(r.id, r.state, r.note) for r in made.cancelled] == [
        (pending.runs[0].id, RunState.CANCELLED, "the item left the stage")
    ]


def test_a_robot_that_does_not_repeat_is_not_planned_again_for_an_item_it_ran_for():
    first = planned([robot("once"), robot("again", allow_repeat=True)])
    ran = [r.moved_on(RunState.DONE, ended_at=T0) for r in first.runs]
    back = planned(
        [robot("once"), robot("again", allow_repeat=True)], earlier=ran, name="e2", at=T0 + timedelta(hours=1)
    )
    assert [r.rule_id for r in back.runs] == ["again"]
    assert back.runs[0].id == run_id("e2", "again") != ran[1].id


def test_a_robot_that_was_cancelled_before_it_ran_is_planned_again():
    cancelled = [r.moved_on(RunState.CANCELLED) for r in planned([robot("once")]).runs]
    back = planned([robot("once")], earlier=cancelled, name="e2", at=T0 + timedelta(hours=1))
    assert [r.rule_id for r in back.runs] == ["once"]


def test_an_entry_older_than_the_runs_the_item_has_is_stale_and_changes_nothing():
    newer = planned([robot("a")], name="e2", at=T0 + timedelta(minutes=1))
    made = planned([robot("b")], earlier=newer.runs, name="e1", at=T0)
    assert made.stale and made.runs == () and made.cancelled == ()


def test_runs_carry_the_entrys_chain():
    made = planned([robot("a")], chain=("trigger:paid", "robot:r1"))
    assert made.runs[0].chain == ("trigger:paid", "robot:r1")


def test_a_run_survives_its_json_form():
    (run,) = planned([robot("a")], due=lambda r, b: b + timedelta(hours=2)).runs
    assert Run.from_dict(run.to_dict()) == run


def test_a_run_of_an_earlier_entry_that_is_running_is_left_to_its_runner():
    # Cancelling it here while it sends its mail would let a robot that does not repeat run again.
    running = (
        planned([robot("a", stage_id="new")], stage_id="new", name="e0").runs[0].moved_on(RunState.RUNNING)
    )
    made = planned([robot("b")], earlier=[running], at=T0 + timedelta(minutes=5))
    assert made.cancelled == ()


def test_a_backfilled_run_of_the_same_stage_entry_is_neither_cancelled_nor_planned_again():
    from crm.domain.robots import backfill_entry

    backfilled = Run(
        **{
            **vars(planned([robot("a")]).runs[0]),
            "id": "bf",
            "entry": backfill_entry("a", T0),
            "state": RunState.DELAYED,
        }
    )
    made = planned([robot("a"), robot("b")], earlier=[backfilled])
    assert made.cancelled == ()
    assert [r.rule_id for r in made.runs] == ["b"]
