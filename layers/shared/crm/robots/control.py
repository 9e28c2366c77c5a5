"""*Control*: tells the responsible's supervisor that the item needs attention ("still here after a
day": the robot's delay does the waiting). Without an active supervisor the responsible is told
instead, and the outputs say so."""

from __future__ import annotations

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Outputs, Template, employee
from crm.robots.notify import Message, notify


class ControlParams(Message):
    text: Template = (
        "{{ item.title }} ({{ item.type }} {{ item.id }}) is still waiting in its stage: please check on it."
    )


class ControlOutputs(Outputs):
    notified: list[str]
    to_supervisor: bool = Field(description="false: no active supervisor, the responsible was told")


def run(ctx: RobotContext, item: Item, params: ControlParams) -> dict:
    responsible = employee(ctx, item.responsible_id)
    supervisor = employee(ctx, responsible.supervisor_id) if responsible is not None else None
    if supervisor is not None and supervisor.active:
        return {"notified": notify(ctx, item, [supervisor], params), "to_supervisor": True}
    if responsible is not None and responsible.active:
        return {"notified": notify(ctx, item, [responsible], params), "to_supervisor": False}
    raise RobotFailed(
        f"{item.ref} has no active responsible, nor an active supervisor of one, to tell", retryable=False
    )


CONTROL = CATALOGUE.register(
    RuleType(
        "control",
        RuleKind.ROBOT,
        "Control",
        ControlParams,
        "Tells the responsible's supervisor the item needs attention (give the robot a delay: "
        "'still here after a day'); the responsible, when they have no active supervisor.",
        run=run,
        outputs=ControlOutputs,
    )
)
