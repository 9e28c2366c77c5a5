from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.api.context import tenant_id
from crm.api.schemas import AutomationOut, CopyIn, PipelineOut, RobotIn, RuleOut, RuleTypeOut, TriggerIn
from crm.domain.rules import CATALOGUE, RuleKind
from crm.service import configuration

router = Router()

KINDS = {"triggers": RuleKind.TRIGGER, "robots": RuleKind.ROBOT}
Kind = Literal["triggers", "robots"]


@router.get("/catalogue", tags=["automation"])
def rule_types() -> list[RuleTypeOut]:
    """The trigger and robot types this installation knows, with the JSON schema of their params."""
    return [RuleTypeOut(**t.describe()) for t in CATALOGUE.types()]


@router.get("/automation/<item_type>/<pipeline_id>", tags=["automation"])
def list_rules(item_type: str, pipeline_id: str) -> AutomationOut:
    config = configuration.pipeline_of_type(tenant_id(router), item_type, pipeline_id)
    return AutomationOut(
        pipeline=PipelineOut.of(config.pipeline),
        triggers=[RuleOut.of(r) for r in config.rules if r.kind is RuleKind.TRIGGER],
        robots=[RuleOut.of(r) for r in config.rules if r.kind is RuleKind.ROBOT],
    )


@router.post("/automation/<item_type>/<pipeline_id>/triggers", tags=["automation"])
def create_trigger(item_type: str, pipeline_id: str, body: TriggerIn) -> tuple[RuleOut, int]:
    rule = configuration.create_rule(
        tenant_id(router), item_type, pipeline_id, RuleKind.TRIGGER, body.model_dump()
    )
    return RuleOut.of(rule), 201


@router.post("/automation/<item_type>/<pipeline_id>/robots", tags=["automation"])
def create_robot(item_type: str, pipeline_id: str, body: RobotIn) -> tuple[RuleOut, int]:
    rule = configuration.create_rule(
        tenant_id(router), item_type, pipeline_id, RuleKind.ROBOT, body.model_dump()
    )
    return RuleOut.of(rule), 201


@router.put("/automation/<item_type>/<pipeline_id>/triggers/<rule_id>", tags=["automation"])
def update_trigger(item_type: str, pipeline_id: str, rule_id: str, body: TriggerIn) -> RuleOut:
    values = body.model_dump()
    return RuleOut.of(
        configuration.update_rule(
            tenant_id(router), item_type, pipeline_id, RuleKind.TRIGGER, rule_id, values
        )
    )


@router.put("/automation/<item_type>/<pipeline_id>/robots/<rule_id>", tags=["automation"])
def update_robot(item_type: str, pipeline_id: str, rule_id: str, body: RobotIn) -> RuleOut:
    values = body.model_dump()
    return RuleOut.of(
        configuration.update_rule(tenant_id(router), item_type, pipeline_id, RuleKind.ROBOT, rule_id, values)
    )


@router.get("/automation/<item_type>/<pipeline_id>/<kind>/<rule_id>", tags=["automation"])
def get_rule(item_type: str, pipeline_id: str, kind: Kind, rule_id: str) -> RuleOut:
    return RuleOut.of(configuration.get_rule(tenant_id(router), item_type, pipeline_id, KINDS[kind], rule_id))


@router.post("/automation/<item_type>/<pipeline_id>/<kind>/<rule_id>/copy", tags=["automation"])
def copy_rule(
    item_type: str, pipeline_id: str, kind: Kind, rule_id: str, body: CopyIn
) -> tuple[RuleOut, int]:
    """A copy of the trigger or robot on another stage (of this or another pipeline of the type)."""
    rule = configuration.copy_rule(
        tenant_id(router), item_type, pipeline_id, KINDS[kind], rule_id, body.stage_id, body.pipeline_id
    )
    return RuleOut.of(rule), 201


@router.delete("/automation/<item_type>/<pipeline_id>/<kind>/<rule_id>", tags=["automation"])
def delete_rule(item_type: str, pipeline_id: str, kind: Kind, rule_id: str) -> tuple[None, int]:
    configuration.delete_rule(tenant_id(router), item_type, pipeline_id, KINDS[kind], rule_id)
    return None, 204
