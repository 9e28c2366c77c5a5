"""*Wait*: done when the condition holds; otherwise checked again every few minutes until the timeout
(counted from when the run was planned), then done as timed out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.fakes import NOW, robot_context
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

PAID = {"field": "paid", "op": "=", "value": True}
PARAMS = {"condition": PAID, "timeout_minutes": 60, "check_every_minutes": 15}


def waited(item, minutes_since_planned: int):
    """The outputs and effects of the run rechecked ``minutes_since_planned`` after it was planned."""
    stored = CATALOGUE.validated_params(RuleKind.ROBOT, "wait", PARAMS)
    ctx = robot_context(item, "wait", stored, now=NOW + timedelta(minutes=minutes_since_planned))
    ctx.run = replace(ctx.run, planned_at=NOW)
    robot = CATALOGUE.get(RuleKind.ROBOT, "wait")
    return robot.outputs_of(robot.run(ctx, item, robot.params_of(stored))), ctx.effects


def test_a_condition_that_holds_ends_the_wait():
    outputs, ctx = ran(deal(fields={"paid": True}), "wait", PARAMS)
    assert outputs == {"waited_until_condition": True, "timed_out": False}
    assert ctx.effects.recheck_at is None


def test_a_condition_that_does_not_hold_yet_is_checked_again_later():
    outputs, effects = waited(deal(fields={"paid": False}), 10)
    assert outputs == {"waited_until_condition": False, "timed_out": False}
    assert effects.recheck_at == NOW + timedelta(minutes=25)


def test_the_last_check_is_at_the_timeout_and_then_the_wait_times_out():
    _, effects = waited(deal(), 50)
    assert effects.recheck_at == NOW + timedelta(minutes=60)
    outputs, effects = waited(deal(), 60)
    assert outputs == {"waited_until_condition": False, "timed_out": True} and effects.recheck_at is None
    outputs, _ = waited(deal(fields={"paid": True}), 60)
    assert outputs["waited_until_condition"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"condition": PAID}, "timeout_minutes"),
        ({"condition": {"field": "paid", "op": "~"}, "timeout_minutes": 5}, "condition"),
        ({"condition": {"join": "xor", "conditions": [PAID]}, "timeout_minutes": 5}, "'and' or 'or'"),
        ({"condition": PAID, "timeout_minutes": 0}, "timeout_minutes"),
        ({"condition": PAID, "timeout_minutes": 5, "check_every_minutes": 0}, "check_every_minutes"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("wait", params)
