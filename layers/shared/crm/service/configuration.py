"""Use-cases on the tenant's configuration: employees, item types, pipelines and stages (the rules on
the stages: ``crm.service.rules``)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.adapters import automation, items
from crm.domain.contacts import normal_email, normal_phone
from crm.domain.errors import Conflict, Invalid, NotFound, StaleWrite
from crm.domain.model import (
    BUILT_IN_TYPES,
    Employee,
    FieldDefinition,
    FieldType,
    Item,
    ItemType,
    Pipeline,
    Stage,
    StageSemantic,
    check_id,
    slug,
)
from crm.domain.rules import PipelineConfig, Rule

# ---------------------------------------------------------------- employees


def employees(tenant_id: str) -> list[Employee]:
    return automation.list_employees(tenant_id)


def employee(tenant_id: str, employee_id: str) -> Employee:
    return automation.get_employee(tenant_id, employee_id)


def create_employee(tenant_id: str, values: dict[str, Any]) -> Employee:
    employee = _employee(tenant_id, values.get("id") or secrets.token_hex(4), values)
    automation.save_employee(tenant_id, employee, new=True)
    return employee


def update_employee(tenant_id: str, employee_id: str, values: dict[str, Any]) -> Employee:
    current = automation.get_employee(tenant_id, employee_id)
    employee = _employee(tenant_id, employee_id, {**current.__dict__, **values})
    automation.save_employee(tenant_id, employee, new=False)
    return employee


def _employee(tenant_id: str, employee_id: str, values: dict[str, Any]) -> Employee:
    check_id(employee_id, "employee id")
    supervisor = values.get("supervisor_id")
    if supervisor is not None:
        _check_chain_of_command(
            tenant_id, employee_id, referenced_employee(tenant_id, supervisor, "supervisor_id")
        )
    time_zone = values.get("time_zone") or "UTC"
    try:
        ZoneInfo(time_zone)
    # OSError: a folder of the zone database ("Europe") is no zone.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Invalid(f"{time_zone!r} is not an IANA time zone (like Europe/Berlin)") from None
    return Employee(
        id=employee_id,
        name=values["name"],
        email=normal_email(values["email"]),
        phone=normal_phone(values["phone"]) if values.get("phone") else None,
        supervisor_id=supervisor,
        time_zone=time_zone,
        active=values.get("active", True),
    )


def _check_chain_of_command(tenant_id: str, employee_id: str, supervisor: Employee) -> None:
    """Refuses a supervisor who is the employee or reports to them, however indirectly."""
    seen = {employee_id}
    current: Employee | None = supervisor
    while current is not None:
        if current.id in seen:
            raise Invalid(
                f"supervisor_id: {supervisor.id!r} reports to {employee_id!r}; that would be a cycle"
            )
        seen.add(current.id)
        try:
            current = (
                automation.get_employee(tenant_id, current.supervisor_id) if current.supervisor_id else None
            )
        except NotFound:
            current = None


def referenced_employee(tenant_id: str, employee_id: str, field: str, *, acting: bool = False) -> Employee:
    """The employee a request body names in ``field``: naming one who does not exist is a mistake in
    the request (Invalid, not NotFound); one who is to act or be responsible must be active."""
    try:
        employee = automation.get_employee(tenant_id, employee_id)
    except NotFound:
        raise Invalid(f"{field}: employee {employee_id!r} does not exist") from None
    if acting and not employee.active:
        raise Invalid(f"{field}: employee {employee_id!r} is inactive")
    return employee


# ---------------------------------------------------------------- item types

# Custom field codes may not shadow these: conditions address both by name.
STANDARD_ATTRIBUTES = {"type", "id", "pipeline_id", "stage_id", *Item.EDITABLE, "version"}


def item_types(tenant_id: str) -> list[ItemType]:
    stored = {t.code: t for t in automation.stored_item_types(tenant_id)}
    built_in = [
        stored.get(code) or ItemType(code, name, built_in=True) for code, name in BUILT_IN_TYPES.items()
    ]
    return built_in + [t for code, t in sorted(stored.items()) if code not in BUILT_IN_TYPES]


def item_type(tenant_id: str, code: str, *, fresh: bool = True) -> ItemType:
    """The type as stored; from the warm container's cache when not ``fresh`` (for writes that
    check its version)."""
    stored = automation.get_stored_item_type(tenant_id, code, fresh=fresh)
    if stored is not None:
        return stored
    if code in BUILT_IN_TYPES:
        return ItemType(code, BUILT_IN_TYPES[code], built_in=True)
    if not fresh:  # a smart process created since this container looked
        return item_type(tenant_id, code)
    raise NotFound(f"item type {code!r} does not exist")


def referenced_pipeline(tenant_id: str, pipeline_id: str, field: str) -> PipelineConfig:
    """The pipeline a request names in a body or query ``field``: unknown is Invalid, not NotFound."""
    try:
        return automation.load(tenant_id, pipeline_id)
    except NotFound:
        raise Invalid(f"{field}: pipeline {pipeline_id!r} does not exist") from None


def _fields(values: list[dict[str, Any]]) -> tuple[FieldDefinition, ...]:
    fields = []
    for f in values:
        definition = FieldDefinition(
            code=check_id(f["code"], "field code"),
            name=f["name"],
            type=FieldType(f["type"]),
            required=f.get("required", False),
            multiple=f.get("multiple", False),
            options=tuple(f.get("options") or ()),
        )
        if (definition.type is FieldType.ENUM) != bool(definition.options):
            raise Invalid(f"field {definition.code!r}: options go with (and only with) the enum type")
        if definition.code in STANDARD_ATTRIBUTES:
            raise Invalid(f"field {definition.code!r} is a standard item attribute")
        fields.append(definition)
    if len({f.code for f in fields}) != len(fields):
        raise Invalid("field codes must be unique")
    return tuple(fields)


def create_item_type(tenant_id: str, values: dict[str, Any]) -> ItemType:
    code = check_id(values["code"], "item type code")
    if code in BUILT_IN_TYPES or automation.get_stored_item_type(tenant_id, code):
        raise Conflict(f"item type {code!r} exists already")
    item_type_ = ItemType(code, values["name"], _fields(values.get("fields") or []))
    automation.save_item_type(tenant_id, item_type_)
    return item_type_


def update_item_type(tenant_id: str, code: str, values: dict[str, Any]) -> ItemType:
    current = item_type(tenant_id, code)
    updated = replace(
        current,
        name=values.get("name") or current.name,
        fields=_fields(values["fields"]) if values.get("fields") is not None else current.fields,
    )
    automation.save_item_type(tenant_id, updated)
    return updated


# ---------------------------------------------------------------- pipelines and stages


def _stages(values: list[dict[str, Any]], existing: tuple[Stage, ...] = ()) -> list[Stage]:
    """Stages from the request, ids derived from names where none is given. A given id that the
    pipeline has already is a conflict; the same id twice in one request is a mistake in it."""
    stored = {s.id for s in existing}
    given = [v["id"] for v in values if v.get("id")]
    if len(set(given)) != len(given):
        raise Invalid("stages: the same stage id is given twice")
    if clash := stored.intersection(given):
        raise Conflict(f"stage {sorted(clash)[0]!r} exists already in this pipeline")
    taken = stored | set(given)
    stages = []
    for value in values:
        stage_id = value.get("id") or slug(value["name"], taken)
        taken.add(stage_id)
        stages.append(
            Stage(
                stage_id,
                value["name"],
                value.get("color") or "#39A8EF",
                0,
                StageSemantic(value.get("semantic") or "in_progress"),
            )
        )
    return stages


def _type_in_body(tenant_id: str, code: str) -> ItemType:
    try:
        return item_type(tenant_id, code)
    except NotFound:
        raise Invalid(f"item_type: item type {code!r} does not exist") from None


def create_pipeline(tenant_id: str, values: dict[str, Any]) -> Pipeline:
    """The type's first pipeline becomes its default (where items go when no pipeline is named)."""
    type_code = _type_in_body(tenant_id, values["item_type"]).code
    stages = _stages(values["stages"])
    pipeline_id = values.get("id") or slug(
        values["name"], {p.id for p in automation.list_pipelines(tenant_id, None)}
    )
    pipeline = Pipeline(
        id=check_id(pipeline_id, "pipeline id"),
        item_type=type_code,
        name=values["name"],
        stages=tuple(replace(s, sort=(i + 1) * 10) for i, s in enumerate(stages)),
        is_default=automation.default_pipeline_id(tenant_id, type_code) is None,
    )
    try:
        automation.create_pipeline(tenant_id, pipeline)
    except StaleWrite:
        # Another first pipeline of this type won the default at the same moment.
        pipeline = replace(pipeline, is_default=False)
        automation.create_pipeline(tenant_id, pipeline)
    return pipeline


def pipelines(tenant_id: str, type_code: str | None) -> list[Pipeline]:
    return automation.list_pipelines(tenant_id, type_code)


def default_pipeline_id(tenant_id: str, type_code: str, *, fresh: bool = True) -> str:
    """Where the type's items go when no pipeline is named; from the warm container's cache when
    not ``fresh`` (for writes that check it)."""
    pipeline_id = automation.default_pipeline_id(tenant_id, type_code, fresh=fresh)
    if pipeline_id is None:
        raise Invalid(f"there is no {type_code} pipeline yet: create one first")
    return pipeline_id


def default_pipeline(tenant_id: str, type_code: str) -> Pipeline:
    return automation.load(tenant_id, default_pipeline_id(tenant_id, type_code)).pipeline


def get_pipeline(tenant_id: str, pipeline_id: str, item_type_code: str | None = None) -> PipelineConfig:
    config = automation.load(tenant_id, pipeline_id, fresh=True)
    if item_type_code is not None and config.pipeline.item_type != item_type_code:
        raise NotFound(f"{item_type_code} pipeline {pipeline_id!r} does not exist")
    return config


def save_pipeline(
    tenant_id: str,
    config: PipelineConfig,
    stages: list[Stage] | None = None,
    *,
    name: str | None = None,
    is_default: bool | None = None,
    put: Sequence[Rule] = (),
    delete: Sequence[str] = (),
) -> Pipeline:
    """The pipeline at its next version, with these changes and rule changes, written all or nothing."""
    before = config.pipeline
    after = before.with_stages(stages if stages is not None else list(before.stages))
    after = replace(
        after,
        name=before.name if name is None else name,
        is_default=before.is_default if is_default is None else is_default,
    )
    automation.save_pipeline(tenant_id, before, after, put=put, delete=delete)
    return after


def rename_pipeline(tenant_id: str, pipeline_id: str, name: str) -> Pipeline:
    return save_pipeline(tenant_id, get_pipeline(tenant_id, pipeline_id), name=name)


def delete_pipeline(tenant_id: str, pipeline_id: str) -> None:
    config = get_pipeline(tenant_id, pipeline_id)
    if items.stage_has_items(tenant_id, config.pipeline.item_type, pipeline_id):
        raise Conflict(f"pipeline {pipeline_id!r} still has items: move or delete them first")
    automation.delete_pipeline(tenant_id, config)
    if config.pipeline.is_default:
        # The type keeps a default while it has pipelines: the next one listed takes over.
        others = [
            p for p in automation.list_pipelines(tenant_id, config.pipeline.item_type) if p.id != pipeline_id
        ]
        if others:
            save_pipeline(tenant_id, automation.load(tenant_id, others[0].id, fresh=True), is_default=True)


def add_stage(tenant_id: str, pipeline_id: str, values: dict[str, Any]) -> Pipeline:
    config = get_pipeline(tenant_id, pipeline_id)
    (stage,) = _stages([values], config.pipeline.stages)
    stages = list(config.pipeline.stages)
    after = values.get("after")
    if after is None:
        # A new in-progress stage goes before the final ones; a new final stage goes last.
        position = (
            len(stages)
            if stage.is_final
            else next((i for i, s in enumerate(stages) if s.is_final), len(stages))
        )
    else:
        position = [s.id for s in stages].index(config.pipeline.stage(after).id) + 1
    stages.insert(position, stage)
    return save_pipeline(tenant_id, config, stages)


def _stage_in_path(pipeline: Pipeline, stage_id: str) -> None:
    if not pipeline.has_stage(stage_id):
        raise NotFound(f"pipeline {pipeline.id!r} has no stage {stage_id!r}")


def update_stage(tenant_id: str, pipeline_id: str, stage_id: str, values: dict[str, Any]) -> Pipeline:
    config = get_pipeline(tenant_id, pipeline_id)
    _stage_in_path(config.pipeline, stage_id)
    stages = [
        replace(s, **{k: v for k, v in values.items() if v is not None and k in ("name", "color")})
        if s.id == stage_id
        else s
        for s in config.pipeline.stages
    ]
    return save_pipeline(tenant_id, config, stages)


def reorder_stages(tenant_id: str, pipeline_id: str, stage_ids: list[str]) -> Pipeline:
    config = get_pipeline(tenant_id, pipeline_id)
    current = {s.id: s for s in config.pipeline.stages}
    if sorted(stage_ids) != sorted(current):
        raise Invalid(f"give every stage of the pipeline exactly once: {sorted(current)}")
    return save_pipeline(tenant_id, config, [current[i] for i in stage_ids])


def delete_stage(tenant_id: str, pipeline_id: str, stage_id: str) -> Pipeline:
    config = get_pipeline(tenant_id, pipeline_id)
    pipeline = config.pipeline
    _stage_in_path(pipeline, stage_id)
    if items.stage_has_items(tenant_id, pipeline.item_type, pipeline_id, stage_id):
        raise Conflict(f"stage {stage_id!r} still has items: move them to another stage first")
    # The stage's triggers and robots go with it.
    doomed = [r.id for r in config.rules if r.stage_id == stage_id]
    return save_pipeline(tenant_id, config, [s for s in pipeline.stages if s.id != stage_id], delete=doomed)


def pipeline_of_type(tenant_id: str, type_code: str, pipeline_id: str) -> PipelineConfig:
    return get_pipeline(tenant_id, pipeline_id, item_type(tenant_id, type_code).code)
