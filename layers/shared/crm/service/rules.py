"""Use-cases on the triggers and robots of a pipeline's stages: each is validated against its type in
the catalogue and what its params name of the tenant's, and saved with the pipeline's next version."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from crm.adapters import app_robots, app_triggers, automation, document_records, telephony_lines
from crm.adapters.planner_queue import planner_queue
from crm.domain import conditions
from crm.domain.errors import Invalid, NotFound
from crm.domain.model import FieldType, Pipeline
from crm.domain.rules import CATALOGUE, Delay, PipelineConfig, Repeat, Retry, Rule, RuleKind
from crm.robots.app_robot import APP_ROBOT
from crm.robots.create_document import CREATE_DOCUMENT
from crm.service import configuration
from crm.service.configuration import item_type, pipeline_of_type, referenced_employee, referenced_pipeline
from crm.service.robots import backfill
from crm.triggers.app_trigger import APP_TRIGGER


def _check_references(tenant_id: str, kind: RuleKind, type_code: str, params: dict[str, Any]) -> None:
    """What a rule's params name of the tenant's exists: the pure type checks only their form (an
    app trigger naming a code no application registered could never fire, a call trigger naming a
    line the tenant does not have neither, a robot naming a document template that is not there
    could never run)."""
    if kind is RuleKind.TRIGGER and type_code == APP_TRIGGER.code:
        try:
            app_triggers.get(tenant_id, params["code"])
        except NotFound:
            raise Invalid(f"params.code: app trigger {params['code']!r} is not registered") from None
    if kind is RuleKind.ROBOT and type_code == APP_ROBOT.code:
        try:
            app_robots.get(tenant_id, params["code"]).checked(params.get("properties") or {})
        except NotFound:
            raise Invalid(f"params.code: app robot {params['code']!r} is not registered") from None
    if kind is RuleKind.TRIGGER and params.get("line_ids"):
        lines = {line.id for line in telephony_lines.list_all(tenant_id)}
        if unknown := [line_id for line_id in params["line_ids"] if line_id not in lines]:
            raise Invalid(
                f"params.line_ids: the tenant has no telephony line {', '.join(map(repr, unknown))}"
            )
    named_template = params.get("template_id") if type_code == CREATE_DOCUMENT.code else None
    if (
        kind is RuleKind.ROBOT
        and named_template
        and document_records.get_template(tenant_id, named_template) is None
    ):
        raise Invalid(f"params.template_id: document template {named_template!r} does not exist")


def _rule(tenant_id: str, pipeline: Pipeline, kind: RuleKind, rule_id: str, values: dict[str, Any]) -> Rule:
    stage = pipeline.stage(values["stage_id"])
    if values.get("run_as"):
        referenced_employee(tenant_id, values["run_as"], "run_as", acting=True)
    params = CATALOGUE.validated_params(kind, values["type_code"], values.get("params") or {})
    _check_references(tenant_id, kind, values["type_code"], params)
    delay = values.get("delay") or {}
    retry = values.get("retry") or {}
    repeat = values.get("repeat")
    return Rule(
        id=rule_id,
        kind=kind,
        type_code=values["type_code"],
        name=values.get("name") or CATALOGUE.get(kind, values["type_code"]).title,
        stage_id=stage.id,
        params=params,
        condition=conditions.parse(values["condition"]) if values.get("condition") else None,
        run_as=values.get("run_as"),
        sort=values.get("sort") or 0,
        allow_backwards=bool(values.get("allow_backwards")),
        delay=_delay(tenant_id, pipeline, Delay.from_dict(delay)),
        after_previous=bool(values.get("after_previous")),
        retry=Retry(**retry) if retry else Retry(),
        repeat=Repeat(**repeat) if repeat else None,
        continue_on_failure=bool(values.get("continue_on_failure")),
        allow_repeat=bool(values.get("allow_repeat")),
        active=values.get("active", True) is not False,
    )


def _delay(tenant_id: str, pipeline: Pipeline, delay: Delay) -> Delay:
    """``delay``, if the date field it counts from is a date or datetime field of the pipeline's type
    (a robot saved with a typo would otherwise be skipped on every item)."""
    if delay.field is not None:
        try:
            field = item_type(tenant_id, pipeline.item_type).field(delay.field)
        except Invalid:
            raise Invalid(f"delay.field: {pipeline.item_type} has no field {delay.field!r}") from None
        if field.type not in (FieldType.DATE, FieldType.DATETIME):
            raise Invalid(f"delay.field: {delay.field!r} is a {field.type} field, not a date or datetime one")
    return delay


def rules_naming(tenant_id: str, kind: RuleKind, type_code: str, code: str) -> list[str]:
    """The rules of ``type_code`` whose params name ``code`` (an application's trigger or robot),
    as "'name' in pipeline 'id'": what would break if the code went away."""
    return [
        f"{rule.name!r} in pipeline {pipeline.id!r}"
        for pipeline in automation.list_pipelines(tenant_id, None)
        for rule in automation.load(tenant_id, pipeline.id, fresh=True).rules
        if rule.kind is kind and rule.type_code == type_code and rule.params.get("code") == code
    ]


def _existing(config: PipelineConfig, kind: RuleKind, rule_id: str) -> Rule:
    rule = config.rule(rule_id)
    if rule is None or rule.kind is not kind:
        raise NotFound(f"{kind} {rule_id!r} does not exist in pipeline {config.pipeline.id!r}")
    return rule


def get_rule(tenant_id: str, type_code: str, pipeline_id: str, kind: RuleKind, rule_id: str) -> Rule:
    return _existing(pipeline_of_type(tenant_id, type_code, pipeline_id), kind, rule_id)


def _rule_id() -> str:
    """A new rule's id: a letter first, so that templates can name a robot's outputs by it
    (``{{ robots.r1a2b3c.payment_url }}``)."""
    return f"r{secrets.token_hex(6)}"


def create_rule(
    tenant_id: str, type_code: str, pipeline_id: str, kind: RuleKind, values: dict[str, Any]
) -> Rule:
    config = pipeline_of_type(tenant_id, type_code, pipeline_id)
    if values.get("sort") is None:
        values = values | {"sort": _after_the_last(config, kind, values["stage_id"])}
    rule = _rule(tenant_id, config.pipeline, kind, _rule_id(), values)
    configuration.save_pipeline(tenant_id, config, put=[rule])
    return rule


def _after_the_last(config: PipelineConfig, kind: RuleKind, stage_id: str) -> int:
    """The sort of a rule added without one: after the stage's rules of its kind, so that robots run
    (and a sequential one waits for the one before it) in the order they were added."""
    return max((rule.sort for rule in config.rules_on(stage_id, kind)), default=0) + 10


def create_robot(
    tenant_id: str,
    type_code: str,
    pipeline_id: str,
    values: dict[str, Any],
    *,
    also_for_items_here: bool = False,
    pages: backfill.PlannerQueue | None = None,
) -> Rule:
    """A new robot. ``also_for_items_here``: planned also for the items in its stage now, by a
    backfill the planner does page by page (asked of it here; the request does not wait). Nothing is
    created when the backfill cannot be asked for."""
    if also_for_items_here and values.get("active") is False:
        raise Invalid("also_for_items_here: the robot is switched off (active false), it would plan nothing")
    rule = create_rule(tenant_id, type_code, pipeline_id, RuleKind.ROBOT, values)
    if also_for_items_here:
        try:
            backfill.request_backfill(tenant_id, type_code, pipeline_id, rule, pages or planner_queue())
        except Exception:
            delete_rule(tenant_id, type_code, pipeline_id, RuleKind.ROBOT, rule.id)
            raise
    return rule


def update_rule(
    tenant_id: str, type_code: str, pipeline_id: str, kind: RuleKind, rule_id: str, values: dict[str, Any]
) -> Rule:
    config = pipeline_of_type(tenant_id, type_code, pipeline_id)
    existing = _existing(config, kind, rule_id)
    if values.get("sort") is None:  # not given: it keeps its place
        values = values | {"sort": existing.sort}
    rule = _rule(tenant_id, config.pipeline, kind, rule_id, values)
    configuration.save_pipeline(tenant_id, config, put=[rule])
    return rule


def copy_rule(
    tenant_id: str,
    type_code: str,
    pipeline_id: str,
    kind: RuleKind,
    rule_id: str,
    stage_id: str,
    target_pipeline_id: str | None,
) -> Rule:
    """A copy of the rule on another stage, of this pipeline or another of the same item type."""
    source = get_rule(tenant_id, type_code, pipeline_id, kind, rule_id)
    target = pipeline_of_type(tenant_id, type_code, pipeline_id)
    if target_pipeline_id:
        target = referenced_pipeline(tenant_id, target_pipeline_id, "pipeline_id")
        if target.pipeline.item_type != type_code:
            raise Invalid(f"pipeline_id: {target_pipeline_id!r} is not a {type_code} pipeline")
    copy = replace(source, id=_rule_id(), stage_id=target.pipeline.stage(stage_id).id)
    configuration.save_pipeline(tenant_id, target, put=[copy])
    return copy


def delete_rule(tenant_id: str, type_code: str, pipeline_id: str, kind: RuleKind, rule_id: str) -> None:
    config = pipeline_of_type(tenant_id, type_code, pipeline_id)
    _existing(config, kind, rule_id)
    configuration.save_pipeline(tenant_id, config, delete=[rule_id])
