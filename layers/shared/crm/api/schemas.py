"""Request and response bodies of the management API (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.adapters.automation import item_type_to_dict, rule_to_dict
from crm.domain.model import Employee, Item, ItemType, Pipeline, TimelineEntry
from crm.domain.rules import Rule

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Color = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
Semantic = Literal["in_progress", "success", "failure"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(BaseModel):
    message: str
    reason: str | None = None


# ---------------------------------------------------------------- employees


class EmployeeIn(Body):
    id: Id | None = None
    name: Name
    email: str
    phone: str | None = None
    supervisor_id: Id | None = None
    time_zone: str = "UTC"


class EmployeePatch(Body):
    name: Name | None = None
    email: str | None = None
    phone: str | None = None
    supervisor_id: Id | None = None
    time_zone: str | None = None
    active: bool | None = None


class EmployeeOut(BaseModel):
    id: str
    name: str
    email: str
    phone: str | None
    supervisor_id: str | None
    time_zone: str
    active: bool

    @classmethod
    def of(cls, employee: Employee) -> EmployeeOut:
        return cls(**employee.__dict__)


# ---------------------------------------------------------------- item types


class FieldIn(Body):
    code: Id
    name: Name
    type: Literal["string", "number", "boolean", "date", "datetime", "enum"]
    required: bool = False
    multiple: bool = False
    options: list[str] = []


class ItemTypeIn(Body):
    code: Id
    name: Name
    fields: list[FieldIn] = []


class ItemTypePatch(Body):
    name: Name | None = None
    fields: list[FieldIn] | None = None


class ItemTypeOut(BaseModel):
    code: str
    name: str
    built_in: bool
    fields: list[FieldIn]

    @classmethod
    def of(cls, item_type: ItemType) -> ItemTypeOut:
        return cls.model_validate(item_type_to_dict(item_type))


# ---------------------------------------------------------------- pipelines and stages


class StageIn(Body):
    id: Id | None = None
    name: Name
    color: Color = "#39A8EF"
    semantic: Semantic = "in_progress"


class NewStage(StageIn):
    after: Id | None = Field(None, description="the stage to insert after; default: before the final stages")


class StagePatch(Body):
    name: Name | None = None
    color: Color | None = None


class StageOrder(Body):
    stage_ids: list[Id]


class PipelineIn(Body):
    id: Id | None = None
    item_type: Id
    name: Name
    stages: list[StageIn] = Field(min_length=1)


class PipelinePatch(Body):
    name: Name


class StageOut(BaseModel):
    id: str
    name: str
    color: str
    sort: int
    semantic: Semantic


class PipelineOut(BaseModel):
    id: str
    item_type: str
    name: str
    version: int
    is_default: bool
    stages: list[StageOut]

    @classmethod
    def of(cls, pipeline: Pipeline) -> PipelineOut:
        return cls(
            id=pipeline.id,
            item_type=pipeline.item_type,
            name=pipeline.name,
            version=pipeline.version,
            is_default=pipeline.is_default,
            stages=[StageOut(**s.__dict__) for s in pipeline.stages],
        )


# ---------------------------------------------------------------- items


class ItemIn(Body):
    title: Name
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    amount: float | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    responsible_id: Id | None = None
    emails: list[str] = []
    phones: list[str] = []
    company: str | None = None
    fields: dict[str, Any] = {}
    by: Id | None = Field(None, description="the employee acting")


class ItemPatch(Body):
    title: Name | None = None
    amount: float | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    responsible_id: Id | None = None
    emails: list[str] | None = None
    phones: list[str] | None = None
    company: str | None = None
    fields: dict[str, Any] | None = Field(None, description="merged into the item's fields; null clears one")
    expected_version: int | None = Field(None, description="refuse (409) if the item is at another version")
    by: Id | None = None


class StageMoveIn(Body):
    stage_id: Id
    by: Id | None = Field(None, description="the employee moving the item")
    allow_backwards: bool = Field(False, description="allow moving back, or reopening a closed item")


class LastMove(BaseModel):
    from_stage: str | None
    to_stage: str
    by: str | None
    cause: dict[str, Any]
    at: datetime


class ItemOut(BaseModel):
    type: str
    id: str
    pipeline_id: str
    stage_id: str
    title: str
    amount: float | None
    currency: str | None
    responsible_id: str | None
    emails: list[str]
    phones: list[str]
    company: str | None
    fields: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    stage_entered_at: datetime | None
    last_move: LastMove | None

    @classmethod
    def of(cls, item: Item) -> ItemOut:
        move = item.last_move
        return cls(
            **{k: v for k, v in item.__dict__.items() if k != "last_move"},
            last_move=None
            if move is None
            else LastMove(
                from_stage=move.from_stage,
                to_stage=move.to_stage,
                by=move.by,
                cause=move.cause.to_dict(),
                at=move.at,
            ),
        )


class ItemPage(BaseModel):
    items: list[ItemOut]
    cursor: str | None = Field(None, description="pass as ?cursor= for the next page")


class MoveOut(BaseModel):
    moved: bool
    item: ItemOut


class CommentIn(Body):
    text: Annotated[str, Field(min_length=1, max_length=10_000)]
    by: Id | None = None


class TimelineEntryOut(BaseModel):
    id: str
    kind: str
    at: datetime
    by: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryOut:
        return cls(id=entry.id, kind=entry.kind.value, at=entry.at, by=entry.by, data=entry.data)


class TimelinePage(BaseModel):
    entries: list[TimelineEntryOut]
    cursor: str | None = None


# ---------------------------------------------------------------- automation rules


class DelayIn(Body):
    kind: Literal["immediate", "after", "before_field", "after_field"] = "immediate"
    minutes: Annotated[int, Field(ge=0, le=525_600)] = 0
    field: str | None = None
    working_time: bool = False


class RetryIn(Body):
    attempts: Annotated[int, Field(ge=0, le=10)] = 0
    backoff_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60


class RepeatIn(Body):
    every_minutes: Annotated[int, Field(ge=1)]
    times: Annotated[int, Field(ge=1, le=100)]


class TriggerIn(Body):
    type_code: Id
    stage_id: Id
    name: Name | None = None
    params: dict[str, Any] = {}
    condition: dict[str, Any] | None = Field(None, description="an AND/OR group or a clause (see README)")
    run_as: Id | None = None
    sort: int = 0
    allow_backwards: bool = False


class RobotIn(Body):
    type_code: Id
    stage_id: Id
    name: Name | None = None
    params: dict[str, Any] = {}
    condition: dict[str, Any] | None = None
    run_as: Id | None = None
    sort: int = 0
    delay: DelayIn = DelayIn()
    after_previous: bool = False
    retry: RetryIn = RetryIn()
    repeat: RepeatIn | None = None


class CopyIn(Body):
    stage_id: Id
    pipeline_id: Id | None = Field(None, description="another pipeline of the same item type")


class RuleOut(BaseModel):
    id: str
    kind: str
    type_code: str
    name: str
    stage_id: str
    params: dict[str, Any]
    condition: dict[str, Any] | None
    run_as: str | None
    sort: int
    allow_backwards: bool
    delay: dict[str, Any]
    after_previous: bool
    retry: dict[str, Any]
    repeat: dict[str, Any] | None

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        return cls(**rule_to_dict(rule))


class AutomationOut(BaseModel):
    pipeline: PipelineOut
    triggers: list[RuleOut]
    robots: list[RuleOut]


class RuleTypeOut(BaseModel):
    code: str
    kind: str
    title: str
    description: str
    params_schema: dict[str, Any]


# ---------------------------------------------------------------- API keys


class ApiKeyIn(Body):
    name: Name


class ApiKeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class IssuedKeyOut(ApiKeyOut):
    key: str = Field(description="shown once: only its hash is stored")
