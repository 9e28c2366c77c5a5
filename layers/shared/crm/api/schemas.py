"""Request and response bodies of the management API (they make its OpenAPI document).

Every text, list, number and object in a request is bounded here, so that what is accepted can be
stored: an item well under DynamoDB's 400 KB, its contacts within one write transaction, numbers
that DynamoDB and a client's float both hold exactly enough."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from crm.domain.keys import ApiKey, Scope
from crm.domain.model import (
    MAX_FIELD_TEXT,
    MAX_FIELD_VALUES,
    MAX_NUMBER,
    TRIGGER_CODE_PATTERN,
    AppTrigger,
    Employee,
    Item,
    ItemSummary,
    ItemType,
    Pipeline,
    TimelineEntry,
)
from crm.domain.rules import Rule
from crm.domain.trigger_events import EVENT_ID_PATTERN

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(min_length=3, max_length=254)]
Phone = Annotated[str, Field(min_length=1, max_length=40)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(max_length=MAX_FIELD_TEXT)]
Color = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Semantic = Literal["in_progress", "success", "failure"]
# Strict: a body says true, not 1 or "yes"; 5, not "5". (Query parameters are text, and lax.)
Flag = Annotated[bool, Field(strict=True)]
Amount = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=-MAX_NUMBER, lt=MAX_NUMBER)]
Whole = Annotated[int, Field(strict=True, gt=-int(MAX_NUMBER), lt=int(MAX_NUMBER))]
Sort = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
Version = Annotated[int, Field(strict=True, ge=1, le=2**53)]
Scalar = Whole | Amount | Flag | Text
FieldValue = Scalar | Annotated[list[Scalar], Field(max_length=MAX_FIELD_VALUES)]
FieldValues = Annotated[
    dict[Annotated[str, Field(max_length=64)], FieldValue | None],
    Field(max_length=50, description="custom field values by field code (see the item type)"),
]
Params = Annotated[dict[str, Any], Field(max_length=50)]
CONTACTS = f"at most {Item.MAX_CONTACTS}"

# Path and query parameters.
PathId = Annotated[str, Path(pattern=ID_PATTERN)]
Cursor = Annotated[str | None, Query(max_length=2048, description="the cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=100)]


def _no_null(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(description: str | None = None) -> Any:
    """A field a patch may leave out, but not set to null (it has no empty value)."""
    return Field(None, description=description, json_schema_extra=_no_null)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    field: str = Field(description="where: body.title, query.limit, path.item_id, ...")
    message: str
    type: str = Field(description="a stable code: missing, string_too_long, extra_forbidden, ...")


class Error(BaseModel):
    """The body of every error answer."""

    message: str = Field(description="what went wrong, for a person to read")
    reason: str | None = Field(
        None, description="why a stage move was refused: backwards, closed, guard or chain_too_deep"
    )
    errors: list[ErrorDetail] | None = Field(None, description="each invalid part of the request")
    request_id: str | None = Field(None, description="quote it when reporting a problem")


# ---------------------------------------------------------------- employees


class EmployeeIn(Body):
    id: Id | None = None
    name: Name
    email: Email
    phone: Phone | None = None
    supervisor_id: Id | None = None
    time_zone: TimeZone = "UTC"


class EmployeePatch(Body):
    name: Name = omittable()
    email: Email = omittable()
    phone: Phone | None = None
    supervisor_id: Id | None = None
    time_zone: TimeZone = omittable()
    active: Flag = omittable("an inactive employee cannot be made responsible for items, or act")


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
    required: Flag = False
    multiple: Flag = False
    options: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)] = []


Fields = Annotated[list[FieldIn], Field(max_length=50)]


class ItemTypeIn(Body):
    code: Id
    name: Name
    fields: Fields = []


class ItemTypePatch(Body):
    name: Name = omittable()
    fields: Fields = omittable("replaces the type's custom field definitions")


class ItemTypeOut(BaseModel):
    code: str
    name: str
    built_in: bool
    fields: list[FieldIn]

    @classmethod
    def of(cls, item_type: ItemType) -> ItemTypeOut:
        return cls.model_validate(item_type.to_dict())


# ---------------------------------------------------------------- pipelines and stages


class StageIn(Body):
    id: Id | None = Field(
        None, description="default: from the name, e.g. 'Awaiting payment' -> awaiting_payment"
    )
    name: Name
    color: Color = "#39A8EF"
    semantic: Semantic = "in_progress"


class NewStage(StageIn):
    after: Id | None = Field(None, description="the stage to insert after; default: before the final stages")


class StagePatch(Body):
    name: Name = omittable()
    color: Color = omittable()


class StageOrder(Body):
    stage_ids: Annotated[list[Id], Field(max_length=50)]


class PipelineIn(Body):
    id: Id | None = Field(None, description="default: from the name, e.g. 'Retail sales' -> retail_sales")
    item_type: Id
    name: Name
    stages: Annotated[list[StageIn], Field(min_length=1, max_length=50)] = Field(
        description="in-progress stages first (at least one), then the final ones (success, failure)"
    )


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
    pipeline_id: Id | None = Field(None, description="default: the type's default pipeline")
    stage_id: Id | None = Field(None, description="default: the pipeline's first stage")
    allow_final: Flag = Field(False, description="create the item in a final stage (won or lost) of stage_id")
    amount: Amount | None = None
    currency: Currency | None = None
    responsible_id: Id | None = Field(None, description="an active employee")
    emails: Annotated[list[Email], Field(max_length=Item.MAX_CONTACTS, description=CONTACTS)] = []
    phones: Annotated[list[Phone], Field(max_length=Item.MAX_CONTACTS, description=CONTACTS)] = []
    company: Text | None = None
    fields: FieldValues = {}
    by: Id | None = Field(None, description="the employee acting (active)")


class ItemPatch(Body):
    title: Name = omittable()
    amount: Amount | None = None
    currency: Currency | None = None
    responsible_id: Id | None = Field(None, description="an active employee, or null for none")
    emails: Annotated[list[Email], Field(max_length=Item.MAX_CONTACTS)] = omittable(CONTACTS)
    phones: Annotated[list[Phone], Field(max_length=Item.MAX_CONTACTS)] = omittable(CONTACTS)
    company: Text | None = None
    fields: FieldValues = omittable("merged into the item's fields; a null value clears one")
    expected_version: Version | None = Field(
        None, description="refuse (409) if the item is at another version"
    )
    by: Id | None = Field(None, description="the employee acting (active)")


class StageMoveIn(Body):
    stage_id: Id
    by: Id | None = Field(None, description="the employee moving the item (active)")
    allow_backwards: Flag = Field(False, description="allow moving back, or reopening a closed item")


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


class ItemSummaryOut(BaseModel):
    """An item found by a contact: what it is and what it is called."""

    type: str
    id: str
    title: str
    pipeline_id: str
    created_at: datetime

    @classmethod
    def of(cls, summary: ItemSummary) -> ItemSummaryOut:
        return cls(**summary.__dict__)


class ItemPage(BaseModel):
    items: list[ItemOut]
    pipeline_id: str | None = Field(
        description="the pipeline listed: the one asked for, else the type's default (null: none yet)"
    )
    cursor: str | None = Field(None, description="pass as ?cursor= for the next page")


class MoveOut(BaseModel):
    moved: bool
    item: ItemOut


class CommentIn(Body):
    text: Annotated[str, Field(min_length=1, max_length=10_000)]
    by: Id | None = Field(None, description="the employee writing (active)")


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
    minutes: Annotated[int, Field(strict=True, ge=0, le=525_600)] = 0
    field: Annotated[str, Field(max_length=64)] | None = None
    working_time: Flag = False


class RetryIn(Body):
    attempts: Annotated[int, Field(strict=True, ge=0, le=10)] = 0
    backoff_seconds: Annotated[int, Field(strict=True, ge=1, le=86_400)] = 60


class RepeatIn(Body):
    every_minutes: Annotated[int, Field(strict=True, ge=1, le=525_600)]
    times: Annotated[int, Field(strict=True, ge=1, le=100)]


Condition = Annotated[dict[str, Any] | None, Field(description="an AND/OR group or a clause (see README)")]


class TriggerIn(Body):
    type_code: Id
    stage_id: Id
    name: Name | None = None
    params: Params = {}
    condition: Condition = None
    run_as: Id | None = Field(None, description="an active employee")
    sort: Sort = 0
    allow_backwards: Flag = False


class RobotIn(Body):
    type_code: Id
    stage_id: Id
    name: Name | None = None
    params: Params = {}
    condition: Condition = None
    run_as: Id | None = Field(None, description="an active employee")
    sort: Sort = 0
    delay: DelayIn = DelayIn()
    after_previous: Flag = False
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
        return cls(**rule.to_dict())


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
    scope: Scope | None = Field(
        None,
        description="admin: everything; items: /items and below only. Default: the calling key's "
        "scope; never wider than it.",
    )


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scope: Scope
    operator: bool = Field(
        description="the tenant's first key, made by the operator; only an operator key revokes it"
    )
    created_at: datetime

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id, name=key.name, scope=key.scope, operator=key.operator, created_at=key.created_at
        )


class IssuedKeyOut(ApiKeyOut):
    key: str = Field(description="shown once: only its hash is stored")


# ---------------------------------------------------------------- triggers: the journal, app triggers

Outcome = Literal["moved", "not_moved", "no_trigger_of_type", "no_item"]


class ComparedOut(BaseModel):
    """One clause of a trigger's condition with the item's value it was compared with."""

    field: str
    op: str
    value: Any = None
    actual: Any = None
    held: bool


class VerdictOut(BaseModel):
    rule_id: str
    rule_name: str
    stage_id: str
    verdict: Literal[
        "moved",
        "params_mismatch",
        "already_there",
        "stage_behind",
        "item_closed",
        "condition_false",
        "guard_refused",
        "chain_too_deep",
        "earlier_trigger_chosen",
    ]
    message: str | None = Field(None, description="the transition policy's or the guard's words")
    compared: list[ComparedOut] | None = Field(None, description="the condition's clauses, as evaluated")
    chosen: str | None = Field(None, description="the trigger chosen instead (earlier_trigger_chosen)")


class JournalEntryOut(BaseModel):
    """Why one trigger event moved one item or did not: every trigger of its type with a verdict."""

    id: str
    at: datetime
    outcome: Outcome
    event: dict[str, Any] = Field(description="the event: type, source, event_id, item or contact, data")
    item: str | None = Field(description="type/id; null when the event reached no item")
    pipeline_id: str | None
    pipeline_version: int | None
    verdicts: list[VerdictOut]
    rule_id: str | None = Field(None, description="the trigger that moved the item")
    to_stage: str | None = None
    run_as: str | None = Field(None, description="the employee the move is recorded as made by")
    cause: dict[str, Any] | None = None
    note: str | None = Field(None, description="why the event reached no item")


class JournalPage(BaseModel):
    entries: list[JournalEntryOut]
    cursor: str | None = Field(
        None, description="pass as ?cursor= for the next page (a filtered page may hold fewer entries)"
    )


TriggerCode = Annotated[str, Field(pattern=TRIGGER_CODE_PATTERN.pattern)]
# The source's id of what happened: printable ASCII without spaces.
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN.pattern)]


class AppTriggerIn(Body):
    code: TriggerCode
    name: Name


class AppTriggerOut(BaseModel):
    code: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, app_trigger: AppTrigger) -> AppTriggerOut:
        return cls(**app_trigger.__dict__)


class ItemRefIn(Body):
    type: Id
    id: Id


class AppTriggerExecuteIn(Body):
    target: (
        Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}_[A-Za-z0-9.-]{1,64}$")] | ItemRefIn
    ) = Field(description='the item: "DEAL_25" (type in capitals, "_", id) or {"type": "deal", "id": "25"}')
    event_id: EventId | None = Field(
        None,
        description="the application's id of this happening (or the Idempotency-Key header): a retry "
        "with the same id changes nothing and gets the first answer",
    )


class ItemRefOut(BaseModel):
    type: str
    id: str


class AppliedOut(BaseModel):
    """What the event did to the item."""

    outcome: Outcome
    moved: bool
    journal_id: str = Field(description="the id of the journal entry saying why")
    at: datetime
    item: ItemRefOut | None
    pipeline_id: str | None
    stage_id: str | None = Field(description="the item's stage after the event")
    from_stage: str | None = Field(description="the stage it left, when it moved")
    rule_id: str | None = Field(description="the trigger that moved it")
    rule_name: str | None
    run_as: str | None = Field(description="the employee the move is recorded as made by")
