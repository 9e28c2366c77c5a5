"""*Change responsible*: to one employee, or in turn over a list (round robin: each run takes the
next active employee after the one the previous run took; the count of turns is stored with the
run, on condition that no other run took a turn meanwhile)."""

from __future__ import annotations

from pydantic import Field, model_validator

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.domain.work import Turn
from crm.robots.inside import Id, Outputs, Params, active, employee

MAX_ROUND_ROBIN = 50


class ChangeResponsibleParams(Params):
    employee_id: Id | None = None
    round_robin: list[Id] | None = Field(
        None,
        min_length=1,
        max_length=MAX_ROUND_ROBIN,
        description="employees taking turns, in order (one named twice takes two turns of each round)",
    )

    @model_validator(mode="after")
    def _one_way(self) -> ChangeResponsibleParams:
        if (self.employee_id is None) == (self.round_robin is None):
            raise ValueError("give either employee_id or round_robin")
        return self


class ResponsibleOutputs(Outputs):
    responsible_id: str


def run(ctx: RobotContext, item: Item, params: ChangeResponsibleParams) -> dict:
    if params.employee_id is not None:
        chosen = active(ctx, params.employee_id, "employee_id").id
    else:
        chosen = _next_in_turn(ctx, params.round_robin or [])
    ctx.effects.changes["responsible_id"] = chosen
    return {"responsible_id": chosen}


def _next_in_turn(ctx: RobotContext, employees: list[str]) -> str:
    if ctx.ports.turns is None:
        raise RobotFailed("round robin needs the store of turns, which this runner lacks", retryable=False)
    taken = ctx.ports.turns.taken(ctx.tenant_id, ctx.run.pipeline_id, ctx.rule.id)
    for step in range(len(employees)):
        candidate = employees[(taken + step) % len(employees)]
        if (found := employee(ctx, candidate)) is not None and found.active:
            ctx.effects.records.append(Turn(ctx.run.pipeline_id, ctx.rule.id, taken, taken + step + 1))
            return found.id
    raise RobotFailed(f"every employee of the round robin is gone or inactive: {employees}", retryable=False)


CHANGE_RESPONSIBLE = CATALOGUE.register(
    RuleType(
        "change_responsible",
        RuleKind.ROBOT,
        "Change responsible",
        ChangeResponsibleParams,
        "Makes an employee responsible for the item: always the same one, or the next of a list in "
        "turn (round robin), skipping inactive ones.",
        run=run,
        outputs=ResponsibleOutputs,
    )
)
