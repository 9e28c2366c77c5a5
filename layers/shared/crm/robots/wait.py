"""*Wait*: holds the robots after it until a condition holds on the item, or until a timeout. While
the condition does not hold, the robot asks to be run again after ``check_every_minutes`` (never
past the timeout); the wait starts when the run was planned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator

from crm.domain import conditions
from crm.domain.errors import Invalid
from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Outputs, Params

YEAR = 366 * 1440


class WaitParams(Params):
    condition: dict[str, Any] = Field(description="the condition language of rules (AND/OR groups)")
    timeout_minutes: int = Field(strict=True, ge=1, le=YEAR)
    check_every_minutes: int = Field(5, strict=True, ge=1, le=1440)

    @field_validator("condition")
    @classmethod
    def _parses(cls, condition: dict[str, Any]) -> dict[str, Any]:
        try:
            return conditions.parse(condition).to_dict()
        except Invalid as error:
            raise ValueError(str(error)) from None


class WaitOutputs(Outputs):
    waited_until_condition: bool = False
    timed_out: bool = False


def run(ctx: RobotContext, item: Item, params: WaitParams) -> dict:
    if conditions.parse(params.condition).holds(item.value_of):
        return {"waited_until_condition": True, "timed_out": False}
    ends = ctx.run.planned_at + timedelta(minutes=params.timeout_minutes)
    if ctx.now >= ends:
        return {"waited_until_condition": False, "timed_out": True}
    ctx.effects.recheck_at = min(ctx.now + timedelta(minutes=params.check_every_minutes), ends)
    return {"waited_until_condition": False, "timed_out": False}


WAIT = CATALOGUE.register(
    RuleType(
        "wait",
        RuleKind.ROBOT,
        "Wait",
        WaitParams,
        "Holds the robots after it (sequential ones) until a condition holds on the item or a "
        "timeout passes; checks again every few minutes.",
        run=run,
        outputs=WaitOutputs,
    )
)
