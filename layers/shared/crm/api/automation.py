from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.api.context import tenant_id
from crm.api.schemas import (
    AutomationOut,
    CopyIn,
    PathId,
    PipelineOut,
    RobotCreateIn,
    RobotIn,
    RuleOut,
    RuleTypeOut,
    TriggerIn,
)
from crm.domain.rules import CATALOGUE, RuleKind
from crm.service import configuration, rules

router = Router()

KINDS = {"triggers": RuleKind.TRIGGER, "robots": RuleKind.ROBOT}


@router.get("/catalogue", tags=["automation"])
def rule_types() -> list[RuleTypeOut]:
    """The trigger and robot types this installation knows, with the JSON schema of their params."""
    return [RuleTypeOut(**t.describe()) for t in CATALOGUE.types()]


@router.get("/automation/<item_type>/<pipeline_id>", tags=["automation"])
def list_rules(item_type: PathId, pipeline_id: PathId) -> AutomationOut:
    config = configuration.pipeline_of_type(tenant_id(router), item_type, pipeline_id)
    return AutomationOut(
        pipeline=PipelineOut.of(config.pipeline),
        triggers=[RuleOut.of(r) for r in config.rules if r.kind is RuleKind.TRIGGER],
        robots=[RuleOut.of(r) for r in config.rules if r.kind is RuleKind.ROBOT],
    )


@router.post("/automation/<item_type>/<pipeline_id>/triggers", tags=["automation"], status_code=201)
def create_trigger(item_type: PathId, pipeline_id: PathId, body: TriggerIn) -> RuleOut:
    rule = rules.create_rule(tenant_id(router), item_type, pipeline_id, RuleKind.TRIGGER, body.model_dump())
    return RuleOut.of(rule)


@router.post("/automation/<item_type>/<pipeline_id>/robots", tags=["automation"], status_code=201)
def create_robot(item_type: PathId, pipeline_id: PathId, body: RobotCreateIn) -> RuleOut:
    """A new robot on a stage; with also_for_items_here, planned also for the items there now."""
    values = body.model_dump(exclude={"also_for_items_here"})
    rule = rules.create_robot(
        tenant_id(router), item_type, pipeline_id, values, also_for_items_here=body.also_for_items_here
    )
    return RuleOut.of(rule)


@router.put("/automation/<item_type>/<pipeline_id>/triggers/<rule_id>", tags=["automation"])
def update_trigger(item_type: PathId, pipeline_id: PathId, rule_id: PathId, body: TriggerIn) -> RuleOut:
    values = body.model_dump()
    return RuleOut.of(
        rules.update_rule(tenant_id(router), item_type, pipeline_id, RuleKind.TRIGGER, rule_id, values)
    )


@router.put("/automation/<item_type>/<pipeline_id>/robots/<rule_id>", tags=["automation"])
def update_robot(item_type: PathId, pipeline_id: PathId, rule_id: PathId, body: RobotIn) -> RuleOut:
    values = body.model_dump()
    return RuleOut.of(
        rules.update_rule(tenant_id(router), item_type, pipeline_id, RuleKind.ROBOT, rule_id, values)
    )


def _rule_routes(kinds: str) -> None:
    """Reading, copying and deleting one kind's rules. Each path names its kind, as the PUT routes
    above do (their bodies differ by kind), so that every path of the API has one set of methods,
    the ones a 405's ``Allow`` and the OpenAPI document list."""
    kind = KINDS[kinds]
    rule = f"/automation/<item_type>/<pipeline_id>/{kinds}/<rule_id>"

    @router.get(rule, tags=["automation"])
    def get_rule(item_type: PathId, pipeline_id: PathId, rule_id: PathId) -> RuleOut:
        return RuleOut.of(rules.get_rule(tenant_id(router), item_type, pipeline_id, kind, rule_id))

    @router.post(f"{rule}/copy", tags=["automation"], status_code=201)
    def copy_rule(item_type: PathId, pipeline_id: PathId, rule_id: PathId, body: CopyIn) -> RuleOut:
        """A copy of the rule on another stage (of this or another pipeline of the type)."""
        copied = rules.copy_rule(
            tenant_id(router), item_type, pipeline_id, kind, rule_id, body.stage_id, body.pipeline_id
        )
        return RuleOut.of(copied)

    @router.delete(rule, tags=["automation"], status_code=204)
    def delete_rule(item_type: PathId, pipeline_id: PathId, rule_id: PathId) -> None:
        rules.delete_rule(tenant_id(router), item_type, pipeline_id, kind, rule_id)
        return Response(204)


for kinds in KINDS:
    _rule_routes(kinds)
