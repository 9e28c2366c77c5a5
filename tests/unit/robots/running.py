"""Running one robot as the runner does: its params validated and stored as saving the robot stores
them, read back as its params model, its answer checked against its outputs model."""

from __future__ import annotations

from typing import Any

import crm.robots  # noqa: F401  (registers the robot types)
from crm.domain.errors import Invalid
from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind
from tests.fakes import robot_context


def ran(item: Item, type_code: str, params: dict[str, Any], **context: Any) -> tuple[dict, RobotContext]:
    """The robot's outputs and its context (the effects it asked for) after one run on ``item``."""
    stored = CATALOGUE.validated_params(RuleKind.ROBOT, type_code, params)
    ctx = robot_context(item, type_code, stored, **context)
    robot = CATALOGUE.get(RuleKind.ROBOT, type_code)
    return robot.outputs_of(robot.run(ctx, item, robot.params_of(stored))), ctx


def refused(type_code: str, params: dict[str, Any]) -> str:
    """The message with which saving a robot of ``type_code`` refuses ``params``."""
    try:
        CATALOGUE.validated_params(RuleKind.ROBOT, type_code, params)
    except Invalid as error:
        return str(error)
    raise AssertionError(f"{params} were accepted for {type_code}")
