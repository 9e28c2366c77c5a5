"""*App robot*: a robot an application registered (``/automation/app-robots``, Bitrix24's
``bizproc.robot.add``). The run posts the item and the robot's properties to the application's
handler, signed with the tenant's secret the registration names; the handler answers its return
properties as a JSON object that also names the ``run_id`` it answers, signed with the same secret
(``X-Crm-Signature``, as the CRM signs), and they become the run's outputs. An unsigned or forged
answer fails the run: the robots after it would act on values nobody vouches for.

Properties whose value is a text are templates (``{{ item.title }}``), rendered when it runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm.domain.errors import Invalid
from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Params
from crm.robots.outgoing_webhook import item_values
from crm.robots.outside import rendered
from crm.robots.web import SignedPostParams, post_signed

Value = str | int | float | bool


class AppRobotParams(Params):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="the registered app robot's code")
    properties: dict[str, Value] = Field(default_factory=dict, max_length=20)


class AppRobotOutputs(BaseModel):
    """The registered robot's return properties (each application's own)."""

    model_config = ConfigDict(extra="allow")


def run(ctx: RobotContext, item: Item, params: AppRobotParams) -> dict[str, Any]:
    registered = (
        None if ctx.ports.app_robots is None else ctx.ports.app_robots.get(ctx.tenant_id, params.code)
    )
    if registered is None:
        raise RobotFailed(f"app robot {params.code!r} is not registered (any more)", retryable=False)
    try:
        values = registered.checked(params.properties)
    except Invalid as error:  # the registration changed since the robot was saved
        raise RobotFailed(str(error), retryable=False) from None
    properties = {
        name: rendered(ctx.text, value, f"properties.{name}") if isinstance(value, str) else value
        for name, value in values.items()
    }
    target = SignedPostParams(
        url=registered.handler_url,
        secret_ref=registered.secret_ref,
        fields_from_answer=["run_id", *(p.name for p in registered.returns if p.name != "run_id")],
    )
    payload = {
        "robot": registered.code,
        "run_id": ctx.run.id,
        "item": item_values(item),
        "properties": properties,
    }
    answer = post_signed(ctx, target, payload, answer_signed=True)
    answer.pop("status")
    # The signature covers the answer's body: echoing the run makes an answer to another run, signed
    # as well, useless here.
    if answer.pop("run_id") != ctx.run.id:
        raise RobotFailed("the handler's answer does not name this run (run_id)", retryable=False)
    try:
        return registered.answered({k: v for k, v in answer.items() if v is not None})
    except Invalid as error:
        raise RobotFailed(str(error), retryable=False) from None


APP_ROBOT = CATALOGUE.register(
    RuleType(
        "app_robot",
        RuleKind.ROBOT,
        "Application's robot",
        AppRobotParams,
        "Runs a robot an application registered: posts the item and the properties to its handler, "
        "signed; the handler's signed answer gives the outputs.",
        run=run,
        outputs=AppRobotOutputs,
    )
)
