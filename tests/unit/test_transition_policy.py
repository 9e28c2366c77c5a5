"""The stage-transition policy every move goes through, and the item and timeline entry of a move."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.domain.errors import Invalid, MoveRefused
from crm.domain.model import Cause, CauseKind, Item, Pipeline, Stage, StageMove, TimelineKind
from crm.domain.transitions import MAX_CHAIN_DEPTH, MoveRequest, TransitionPolicy, moved
from tests.unit.builders import T0, deal, sales_pipeline

PIPELINE = sales_pipeline()
API = Cause(CauseKind.API)


def request(
    to: str, *, chain: int = 0, allow_backwards: bool = False, by: str | None = "emp-1"
) -> MoveRequest:
    cause = Cause(CauseKind.ROBOT, "rule-1", tuple(f"run-{i}" for i in range(chain))) if chain else API
    return MoveRequest(to, cause, by, allow_backwards)


def decide(at: str, to: str, policy: TransitionPolicy | None = None, **kw) -> Stage | None:
    return (policy or TransitionPolicy()).decide(deal(at), PIPELINE, request(to, **kw))


def refusal(at: str, to: str, policy: TransitionPolicy | None = None, **kw) -> MoveRefused:
    with pytest.raises(MoveRefused) as error:
        decide(at, to, policy, **kw)
    return error.value


class Guard:
    """An entry guard that records what it was asked and answers with ``message``."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message
        self.asked: list[tuple[Item, Pipeline, Stage, MoveRequest]] = []

    def refusal(self, item: Item, pipeline: Pipeline, target: Stage, request: MoveRequest) -> str | None:
        self.asked.append((item, pipeline, target, request))
        return self.message


# ---------------------------------------------------------------- forward, backward, closed


@pytest.mark.parametrize(("at", "to"), [("NEW", "WORK"), ("NEW", "PREP"), ("WORK", "WON"), ("NEW", "LOST")])
def test_moving_forward_is_allowed(at, to):
    assert decide(at, to) == PIPELINE.stage(to)


def test_moving_backward_is_refused():
    error = refusal("PREP", "WORK")
    assert error.reason == "backwards"
    assert str(error) == "'Work' comes before 'Prep'; moving back needs allow_backwards"


def test_moving_backward_is_allowed_when_asked_for():
    assert decide("PREP", "NEW", allow_backwards=True) == PIPELINE.stage("NEW")


@pytest.mark.parametrize("closed", ["WON", "LOST"])
@pytest.mark.parametrize("to", ["NEW", "PREP"])
def test_reopening_a_closed_item_is_refused(closed, to):
    error = refusal(closed, to)
    assert error.reason == "closed"
    assert str(error) == f"deal/d-1 is closed in stage {closed.title()!r}; reopening needs allow_backwards"


def test_a_closed_item_does_not_move_between_final_stages_either():
    # LOST comes after WON, but WON is closed.
    assert refusal("WON", "LOST").reason == "closed"


@pytest.mark.parametrize(
    ("closed", "to"), [("WON", "NEW"), ("LOST", "PREP"), ("WON", "LOST"), ("LOST", "WON")]
)
def test_reopening_is_allowed_when_asked_for(closed, to):
    assert decide(closed, to, allow_backwards=True) == PIPELINE.stage(to)


def test_the_same_stage_is_no_move():
    assert decide("WORK", "WORK") is None
    assert decide("WON", "WON") is None


def test_the_same_stage_is_no_move_even_for_a_deep_chain():
    assert decide("WORK", "WORK", chain=MAX_CHAIN_DEPTH + 3) is None


def test_an_unknown_target_stage_is_invalid():
    with pytest.raises(Invalid, match="pipeline 'sales' has no stage 'NOPE'"):
        decide("NEW", "NOPE")


# ---------------------------------------------------------------- causation chains


def test_a_chain_below_the_bound_may_move():
    assert decide("NEW", "WORK", chain=MAX_CHAIN_DEPTH - 1) == PIPELINE.stage("WORK")


@pytest.mark.parametrize("depth", [MAX_CHAIN_DEPTH, MAX_CHAIN_DEPTH + 1, 50])
def test_a_chain_too_deep_is_stopped(depth):
    error = refusal("NEW", "WORK", chain=depth)
    assert error.reason == "chain_too_deep"
    assert str(MAX_CHAIN_DEPTH) in str(error)


def test_a_chain_too_deep_is_stopped_even_with_allow_backwards():
    assert refusal("PREP", "NEW", chain=MAX_CHAIN_DEPTH, allow_backwards=True).reason == "chain_too_deep"


# ---------------------------------------------------------------- entry guards


def test_a_guard_refuses_with_its_message():
    guard = Guard("attach the signed contract first")
    error = refusal("WORK", "PREP", TransitionPolicy([guard]))
    assert error.reason == "guard"
    assert str(error) == "attach the signed contract first"


def test_a_guard_is_asked_about_the_item_the_pipeline_the_target_and_the_request():
    guard = Guard(None)
    item, move = deal("WORK"), request("PREP")

    assert TransitionPolicy([guard]).decide(item, PIPELINE, move) == PIPELINE.stage("PREP")
    assert guard.asked == [(item, PIPELINE, PIPELINE.stage("PREP"), move)]


def test_an_empty_message_lets_the_item_in():
    assert decide("WORK", "PREP", TransitionPolicy([Guard("")])) == PIPELINE.stage("PREP")


def test_guards_are_asked_in_order_and_the_first_refusal_wins():
    passes, refuses, never = Guard(None), Guard("no invoice yet"), Guard("not asked")
    error = refusal("WORK", "PREP", TransitionPolicy([passes, refuses, never]))
    assert str(error) == "no invoice yet"
    assert (len(passes.asked), len(refuses.asked), len(never.asked)) == (1, 1, 0)


@pytest.mark.parametrize(
    ("at", "to", "kw", "reason"),
    [
        ("PREP", "WORK", {}, "backwards"),
        ("WON", "NEW", {}, "closed"),
        ("NEW", "WORK", {"chain": MAX_CHAIN_DEPTH}, "chain_too_deep"),
    ],
)
def test_guards_are_not_asked_about_a_move_refused_earlier(at, to, kw, reason):
    guard = Guard("guard says no")
    assert refusal(at, to, TransitionPolicy([guard]), **kw).reason == reason
    assert guard.asked == []


def test_guards_are_not_asked_about_no_move_or_an_unknown_stage():
    guard = Guard("guard says no")
    policy = TransitionPolicy([guard])
    assert decide("WORK", "WORK", policy) is None
    with pytest.raises(Invalid):
        decide("WORK", "NOPE", policy)
    assert guard.asked == []


def test_guards_also_judge_moves_allowed_backwards():
    guard = Guard("managers only")
    assert refusal("PREP", "NEW", TransitionPolicy([guard]), allow_backwards=True).reason == "guard"


# ---------------------------------------------------------------- the move itself


def test_moved_builds_the_item_in_its_new_stage_and_leaves_the_old_one_alone():
    before = deal("WORK")
    cause = Cause(CauseKind.TRIGGER, "trg-9", ("evt-1",))
    move = MoveRequest("PREP", cause, by="emp-7")
    at = T0 + timedelta(hours=2)

    after, _ = moved(before, PIPELINE.stage("PREP"), move, at, "tl-1")

    assert after.stage_id == "PREP"
    assert after.stage_entered_at == at
    assert after.updated_at == at
    assert after.last_move == StageMove("WORK", "PREP", "emp-7", cause, at)
    assert (after.title, after.amount, after.version, after.created_at) == (
        before.title,
        before.amount,
        before.version,
        before.created_at,
    )
    assert before.stage_id == "WORK"
    assert before.last_move is None


def test_moved_records_the_move_on_the_timeline():
    cause = Cause(CauseKind.ROBOT, "rob-2", ("run-1", "run-2"))
    at = T0 + timedelta(minutes=5)

    _, entry = moved(deal("PREP"), PIPELINE.stage("WON"), MoveRequest("WON", cause), at, "tl-42")

    assert entry.id == "tl-42"
    assert entry.kind is TimelineKind.STAGE_CHANGED
    assert entry.at == at
    assert entry.by is None
    assert entry.data == {
        "from": "PREP",
        "to": "WON",
        "cause": {"kind": "robot", "ref": "rob-2", "chain": ["run-1", "run-2"]},
        "semantic": "success",
    }


def test_a_cause_survives_its_dict_form():
    cause = Cause(CauseKind.ROBOT, "rob-2", ("run-1", "run-2"))
    assert Cause.from_dict(cause.to_dict()) == cause
    assert Cause.from_dict({"kind": "api"}) == Cause(CauseKind.API)
