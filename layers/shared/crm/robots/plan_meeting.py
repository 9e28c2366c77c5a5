"""*Plan meeting*: a meeting task on the item, with a start time (an offset from now or from a date
field of the item), a length and a place."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.domain.work import TaskKind
from crm.robots.create_task import TaskOutputs, plan
from crm.robots.inside import Template, When
from crm.robots.plan_call import CallParams


class MeetingParams(CallParams):
    title: Template = "Meeting about {{ item.title }}"
    start: When = Field(When(offset=1, unit="days"), description="default: a day after the robot runs")
    duration_minutes: int = Field(60, strict=True, ge=1, le=1440)
    place: Template | None = Field(None, description="where: an address, a room, a video link")


def run(ctx: RobotContext, item: Item, params: MeetingParams) -> dict:
    duration = timedelta(minutes=params.duration_minutes)
    return plan(ctx, item, params, TaskKind.MEETING, params.start, duration, params.place)


PLAN_MEETING = CATALOGUE.register(
    RuleType(
        "plan_meeting",
        RuleKind.ROBOT,
        "Plan meeting",
        MeetingParams,
        "A meeting for the responsible (or a named employee), at an offset from now or from a date "
        "field of the item, with its length and place.",
        run=run,
        outputs=TaskOutputs,
    )
)
