"""*Change stage*: moves the item to a stage of its pipeline, or of another pipeline of its type. The
runner moves it through the transition policy, with the robot as cause and its chain (loops stop)."""

from __future__ import annotations

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import MoveTo, RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Id, Outputs, Params


class ChangeStageParams(Params):
    stage_id: Id
    pipeline_id: Id | None = Field(None, description="another pipeline of the item's type; none: its own")


class StageOutputs(Outputs):
    stage_id: str


def run(ctx: RobotContext, item: Item, params: ChangeStageParams) -> dict:
    other = params.pipeline_id if params.pipeline_id != item.pipeline_id else None
    ctx.effects.move_to = MoveTo(params.stage_id, other)
    return {"stage_id": params.stage_id}


CHANGE_STAGE = CATALOGUE.register(
    RuleType(
        "change_stage",
        RuleKind.ROBOT,
        "Change stage",
        ChangeStageParams,
        "Moves the item to a stage of its pipeline or of another pipeline of its type.",
        run=run,
        outputs=StageOutputs,
    )
)
