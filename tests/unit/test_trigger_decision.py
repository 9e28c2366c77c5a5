"""The trigger decision: which trigger an event fires for an item, and a verdict for every other.

Pipeline: NEW -> WORK -> PREP -> WON (success) | LOST (failure); deal d-1 of 12,000 EUR.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crm.domain import clock
from crm.domain.conditions import parse
from crm.domain.errors import Invalid
from crm.domain.model import CauseKind, Item, Pipeline, Stage
from crm.domain.rules import PipelineConfig, Rule
from crm.domain.transitions import MAX_CHAIN_DEPTH, MoveRequest, TransitionPolicy, moved
from crm.domain.trigger_events import TriggerEvent
from crm.domain.triggering import Decision, Outcome, Verdict, decide
from tests.unit.builders import T0, deal, sales_pipeline, trigger, trigger_event

NOW = T0 + timedelta(minutes=5)
PAID = trigger_event("webhook", {"code": "paid"})


def amount_over(value: float):
    return parse({"field": "amount", "op": ">", "value": value})


def decision(
    *rules: Rule,
    at: str = "NEW",
    event: TriggerEvent = PAID,
    policy: TransitionPolicy | None = None,
    item: Item | None = None,
) -> Decision:
    config = PipelineConfig(sales_pipeline(), rules)
    return decide(config, item or deal(at, responsible_id="anna"), event, policy or TransitionPolicy(), NOW)


def verdicts(result: Decision) -> list[tuple[str, Verdict]]:
    return [(v.rule_id, v.verdict) for v in result.verdicts]


class Guard:
    """An entry guard refusing one stage, recording what it was asked."""

    def __init__(self, stage_id: str, message: str) -> None:
        self.stage_id, self.message = stage_id, message
        self.asked: list[str] = []

    def refusal(self, item: Item, pipeline: Pipeline, target: Stage, request: MoveRequest) -> str | None:
        self.asked.append(target.id)
        return self.message if target.id == self.stage_id else None


# ---------------------------------------------------------------- which trigger wins


def test_the_earliest_stage_whose_trigger_matches_wins():
    result = decision(trigger("t-prep", "PREP"), trigger("t-work", "WORK"))
    assert result.outcome is Outcome.MOVED
    assert result.target is not None and result.target.id == "WORK"
    assert result.rule_id == "t-work"
    # Tried in stage order, whatever order the rules were stored in.
    assert verdicts(result) == [("t-work", Verdict.MOVED), ("t-prep", Verdict.EARLIER_TRIGGER_CHOSEN)]
    assert result.verdicts[1].chosen == "t-work"


def test_on_one_stage_the_rules_own_order_decides():
    result = decision(trigger("t-b", "WORK", sort=2), trigger("t-a", "WORK", sort=1))
    assert verdicts(result) == [("t-a", Verdict.MOVED), ("t-b", Verdict.EARLIER_TRIGGER_CHOSEN)]


def test_a_later_trigger_wins_when_the_earlier_ones_condition_is_false():
    result = decision(
        trigger("t-work", "WORK", condition=amount_over(50_000)),
        trigger("t-prep", "PREP", condition=amount_over(10_000)),
    )
    assert (result.outcome, result.rule_id, result.move.to_stage) == (Outcome.MOVED, "t-prep", "PREP")
    assert verdicts(result) == [("t-work", Verdict.CONDITION_FALSE), ("t-prep", Verdict.MOVED)]


def test_params_that_do_not_match_leave_a_trigger_out():
    result = decision(
        trigger("t-signed", "WORK", params={"code": "signed"}),
        trigger("t-paid", "PREP", params={"code": "paid"}),
    )
    assert result.rule_id == "t-paid"
    assert verdicts(result) == [("t-signed", Verdict.PARAMS_MISMATCH), ("t-paid", Verdict.MOVED)]


def test_triggers_of_other_types_are_not_candidates():
    result = decision(trigger("t-form", "WORK", "form_filled"), trigger("t-hook", "PREP"))
    assert result.rule_id == "t-hook"
    assert verdicts(result) == [("t-hook", Verdict.MOVED)]


def test_a_pipeline_without_a_trigger_of_the_events_type_says_so():
    result = decision(trigger("t-form", "WORK", "form_filled"))
    assert result.outcome is Outcome.NO_TRIGGER_OF_TYPE
    assert result.verdicts == () and result.move is None


# ---------------------------------------------------------------- where the item is


def test_a_trigger_on_a_stage_behind_the_item_needs_allow_backwards():
    result = decision(trigger("t-work", "WORK"), at="PREP")
    assert result.outcome is Outcome.NOT_MOVED
    assert verdicts(result) == [("t-work", Verdict.STAGE_BEHIND)]
    assert result.verdicts[0].message == "'Work' comes before 'Prep'; moving back needs allow_backwards"

    back = decision(trigger("t-work", "WORK", allow_backwards=True), at="PREP")
    assert (back.outcome, back.move.to_stage, back.move.allow_backwards) == (Outcome.MOVED, "WORK", True)


def test_an_item_already_in_the_triggers_stage_stays_and_later_triggers_still_count():
    assert verdicts(decision(trigger("t-work", "WORK"), at="WORK")) == [("t-work", Verdict.ALREADY_THERE)]
    result = decision(trigger("t-work", "WORK"), trigger("t-prep", "PREP"), at="WORK")
    assert verdicts(result) == [("t-work", Verdict.ALREADY_THERE), ("t-prep", Verdict.MOVED)]


@pytest.mark.parametrize("closed", ["WON", "LOST"])
def test_a_closed_item_does_not_move(closed):
    result = decision(trigger("t-lost", "LOST"), trigger("t-work", "WORK"), at=closed)
    assert result.outcome is Outcome.NOT_MOVED
    assert {v for _, v in verdicts(result)} <= {Verdict.ITEM_CLOSED, Verdict.ALREADY_THERE}
    closed_verdict = next(v for v in result.verdicts if v.verdict is Verdict.ITEM_CLOSED)
    assert "is closed in stage" in closed_verdict.message


def test_a_closed_item_is_reopened_only_by_a_trigger_that_allows_backwards():
    result = decision(trigger("t-work", "WORK", allow_backwards=True), at="WON")
    assert (result.outcome, result.move.to_stage) == (Outcome.MOVED, "WORK")


def test_a_trigger_behind_the_item_is_reported_as_behind_even_if_its_condition_is_false_too():
    # Where the item is comes first: the condition is not evaluated for a stage out of reach.
    result = decision(trigger("t-work", "WORK", condition=amount_over(50_000)), at="PREP")
    assert verdicts(result) == [("t-work", Verdict.STAGE_BEHIND)]
    assert result.verdicts[0].compared == ()


# ---------------------------------------------------------------- the transition policy


def test_an_entry_guard_refuses_the_chosen_move_and_the_item_stays():
    guard = Guard("WORK", "the deal is not paid in full")
    result = decision(trigger("t-work", "WORK"), trigger("t-prep", "PREP"), policy=TransitionPolicy([guard]))
    assert result.outcome is Outcome.NOT_MOVED and result.move is None
    assert verdicts(result) == [("t-work", Verdict.GUARD_REFUSED), ("t-prep", Verdict.EARLIER_TRIGGER_CHOSEN)]
    assert result.verdicts[0].message == "the deal is not paid in full"


def test_guards_are_asked_only_about_the_move_chosen():
    guard = Guard("NONE", "never")
    decision(
        trigger("t-work", "WORK", condition=amount_over(50_000)),
        trigger("t-prep", "PREP"),
        trigger("t-won", "WON"),
        policy=TransitionPolicy([guard]),
    )
    assert guard.asked == ["PREP"]


def test_a_chain_of_automatic_moves_deeper_than_the_bound_is_stopped():
    deep = trigger_event("webhook", {"code": "paid"}, chain=tuple(f"run-{n}" for n in range(MAX_CHAIN_DEPTH)))
    result = decision(trigger("t-work", "WORK"), event=deep)
    assert result.outcome is Outcome.NOT_MOVED
    assert verdicts(result) == [("t-work", Verdict.CHAIN_TOO_DEEP)]
    assert f"deeper than {MAX_CHAIN_DEPTH}" in result.verdicts[0].message


def test_a_chain_within_the_bound_moves_and_is_carried_by_the_cause():
    chain = tuple(f"run-{n}" for n in range(MAX_CHAIN_DEPTH - 1))
    result = decision(trigger("t-work", "WORK"), event=trigger_event("webhook", {}, chain=chain))
    assert result.outcome is Outcome.MOVED
    assert (result.move.cause.kind, result.move.cause.ref, result.move.cause.chain) == (
        CauseKind.TRIGGER,
        "t-work",
        chain,
    )


# ---------------------------------------------------------------- run-as, and applying the decision


def test_the_move_runs_as_the_rules_employee_else_the_items_responsible():
    assert decision(trigger("t", "WORK", run_as="boris")).move.by == "boris"
    assert decision(trigger("t", "WORK")).move.by == "anna"
    assert decision(trigger("t", "WORK"), item=deal("NEW")).move.by is None


def test_a_move_decided_is_what_the_transition_module_applies():
    item = deal("NEW", responsible_id="anna")
    result = decision(trigger("t-work", "WORK"), item=item)
    after, entry = moved(item, result.target, result.move, NOW, "entry-1")
    assert (after.stage_id, after.last_move.cause.ref, after.last_move.by) == ("WORK", "t-work", "anna")
    assert entry.data["cause"] == {"kind": "trigger", "ref": "t-work", "chain": []}


# ---------------------------------------------------------------- field changes fire once


def test_a_field_change_moves_the_item_on_the_crossing_only():
    above = trigger(
        "t-big",
        "PREP",
        "field_changed",
        params={"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]},
    )

    def amount_changed(old, new, n):
        return trigger_event(
            "field_changed", {"changes": {"amount": {"old": old, "new": new}}}, event_id=f"upd-{n}"
        )

    crossing = decision(above, event=amount_changed(9_000, 12_000, 1), item=deal("NEW", amount=12_000.0))
    assert (crossing.outcome, crossing.move.to_stage) == (Outcome.MOVED, "PREP")
    # Moved back by hand, a later save above the threshold does not pull it again.
    later = decision(above, event=amount_changed(12_000, 15_000, 2), item=deal("NEW", amount=15_000.0))
    assert verdicts(later) == [("t-big", Verdict.PARAMS_MISMATCH)]


def test_an_event_whose_data_does_not_fit_its_type_is_invalid():
    with pytest.raises(Invalid, match=r"data of a 'webhook' event: code: String should match pattern"):
        decision(trigger("t-work", "WORK"), event=trigger_event("webhook", {"code": "not a code"}))


def test_an_item_other_than_the_one_the_event_names_is_the_callers_mistake():
    with pytest.raises(ValueError, match="the event names deal/d-1, not deal/d-2"):
        decision(trigger("t-work", "WORK"), item=deal("NEW", id="d-2"))


def test_an_item_of_another_pipeline_is_the_callers_mistake():
    with pytest.raises(ValueError, match="deal/d-1 is not in pipeline 'sales'"):
        decision(trigger("t-work", "WORK"), item=deal("NEW", pipeline_id="rentals"))


# ---------------------------------------------------------------- the journal's record


def test_the_decision_serialises_to_a_journal_entry():
    result = decision(
        trigger("t-signed", "NEW", params={"code": "signed"}, name="Contract signed"),
        trigger("t-big", "WORK", condition=amount_over(50_000), name="Big deal paid"),
        trigger("t-paid", "PREP", condition=amount_over(10_000), name="Paid", run_as="boris"),
        trigger("t-won", "WON", name="Paid in full"),
    )
    entry = result.to_dict()
    assert json.loads(json.dumps(entry)) == entry
    assert entry == {
        "event": PAID.to_dict(),
        "outcome": "moved",
        "at": "2026-03-02T09:05:00+00:00",
        "item": "deal/d-1",
        "pipeline_id": "sales",
        "pipeline_version": 1,
        "rule_id": "t-paid",
        "to_stage": "PREP",
        "run_as": "boris",
        "cause": {"kind": "trigger", "ref": "t-paid", "chain": []},
        "verdicts": [
            {
                "rule_id": "t-signed",
                "rule_name": "Contract signed",
                "stage_id": "NEW",
                "verdict": "params_mismatch",
            },
            {
                "rule_id": "t-big",
                "rule_name": "Big deal paid",
                "stage_id": "WORK",
                "verdict": "condition_false",
                "compared": [
                    {"field": "amount", "op": ">", "value": 50_000, "actual": 12_000.0, "held": False}
                ],
            },
            {
                "rule_id": "t-paid",
                "rule_name": "Paid",
                "stage_id": "PREP",
                "verdict": "moved",
                "compared": [
                    {"field": "amount", "op": ">", "value": 10_000, "actual": 12_000.0, "held": True}
                ],
            },
            {
                "rule_id": "t-won",
                "rule_name": "Paid in full",
                "stage_id": "WON",
                "verdict": "earlier_trigger_chosen",
                "chosen": "t-paid",
            },
        ],
    }


def test_a_refusal_is_journaled_with_the_policys_words_and_no_move():
    entry = decision(trigger("t-work", "WORK", name="Paid"), at="PREP").to_dict()
    assert entry["outcome"] == "not_moved"
    assert "to_stage" not in entry and "run_as" not in entry
    assert entry["verdicts"] == [
        {
            "rule_id": "t-work",
            "rule_name": "Paid",
            "stage_id": "WORK",
            "verdict": "stage_behind",
            "message": "'Work' comes before 'Prep'; moving back needs allow_backwards",
        }
    ]


@pytest.mark.parametrize("outcome", [Outcome.DUPLICATE, Outcome.NO_ITEM])
def test_events_that_reach_no_item_are_journaled_with_their_outcome(outcome):
    entry = Decision.unapplied(PAID, outcome, NOW).to_dict()
    assert entry == {
        "event": PAID.to_dict(),
        "outcome": outcome.value,
        "at": NOW.isoformat(),
        "item": None,
        "pipeline_id": None,
        "pipeline_version": None,
        "verdicts": [],
    }


@pytest.mark.parametrize("outcome", [Outcome.MOVED, Outcome.NOT_MOVED, Outcome.NO_TRIGGER_OF_TYPE])
def test_outcomes_about_an_item_are_not_recorded_without_one(outcome):
    with pytest.raises(ValueError, match="is decided for an item"):
        Decision.unapplied(PAID, outcome, NOW)


# ---------------------------------------------------------------- a pure function


class StoppedClock:
    def now(self):
        raise AssertionError("the decision read the clock")


def test_a_decision_depends_only_on_its_arguments(monkeypatch):
    rules = (
        trigger("t-work", "WORK", condition=amount_over(50_000)),
        trigger("t-prep", "PREP", condition=amount_over(10_000)),
    )
    monkeypatch.setattr(clock, "_installed", StoppedClock())
    first, second = decision(*rules), decision(*rules)
    assert first == second
    assert first.to_dict() == second.to_dict()


def test_a_journaled_event_decides_the_same_again():
    rules = (trigger("t-work", "WORK", condition=amount_over(50_000)), trigger("t-prep", "PREP"))
    replayed = TriggerEvent.from_dict(json.loads(json.dumps(decision(*rules).to_dict()["event"])))
    assert decision(*rules, event=replayed).to_dict() == decision(*rules).to_dict()
