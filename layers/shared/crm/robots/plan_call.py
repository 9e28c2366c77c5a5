"""*Plan call*: a call task on the item for its responsible (or a named employee), starting at an
offset from now or from a date field of the item."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.domain.work import TaskKind
from crm.robots.create_task import TaskOutputs, TaskParams, plan
from crm.robots.inside import Template, When


class CallParams(TaskParams):
    title: Template = "Call about {{ item.title }}"
    start: When = Field(When(offset=1, unit="hours"), description="default: an hour after the robot runs")
    duration_minutes: int = Field(30, strict=True, ge=1, le=1440)


def run(ctx: RobotContext, item: Item, params: CallParams) -> dict:
    return plan(ctx, item, params, TaskKind.CALL, params.start, timedelta(minutes=params.duration_minutes))


PLAN_CALL = CATALOGUE.register(
    RuleType(
        "plan_call",
        RuleKind.ROBOT,
        "Plan call",
        CallParams,
        "A call for the responsible (or a named employee) to make, at an offset from now or from a "
        "date field of the item.",
        run=run,
        outputs=TaskOutputs,
    )
)
