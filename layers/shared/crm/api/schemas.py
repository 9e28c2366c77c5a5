"""Request and response bodies of the management API (they make its OpenAPI document).

Every text, list, number and object in a request is bounded here, so that what is accepted can be
stored: an item well under DynamoDB's 400 KB, its contacts within one write transaction, numbers
that DynamoDB and a client's float both hold exactly enough."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm.domain.app_robots import AppRobot
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
from crm.domain.robot_settings import (
    DEFAULT_RUNS_PER_MINUTE,
    MAX_DATES,
    MAX_RUNS_PER_MINUTE,
    RobotSettings,
    WorkSchedule,
)
from crm.domain.rules import Rule
from crm.domain.trigger_events import EVENT_ID_PATTERN
from crm.domain.work import Notification, Task

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


ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])]
DelayAmount = Annotated[int, Field(strict=True, ge=0, le=525_600)]


class DelayIn(Body):
    """When the robot runs: at once, after the stage was entered (or the previous robot ended),
    before or after a date field's value, or at a time of day; optionally only in working time."""

    kind: Literal["immediate", "after", "before_field", "after_field", "at_time"] = "immediate"
    amount: DelayAmount = Field(0, description="in units; at most a year")
    unit: Literal["minutes", "hours", "days"] = Field(
        "minutes", description="days: calendar days in the tenant's time zone (the same clock time)"
    )
    minutes: DelayAmount | None = Field(
        None, description="amount in minutes (the old form)", json_schema_extra={"deprecated": True}
    )
    field: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="before_field and after_field: the date or date-time field"
    )
    time_of_day: ClockTime | None = Field(None, description="at_time: HH:MM in the tenant's time zone")
    working_time: Flag = Field(
        False,
        description="shift the due time into the tenant's working time (GET /automation/robot-settings)",
    )

    @model_validator(mode="after")
    def _minutes_are_an_amount(self) -> DelayIn:
        if self.minutes is not None:
            if {"amount", "unit"} & self.model_fields_set:
                raise ValueError("give amount and unit, or minutes, not both")
            self.amount, self.minutes = self.minutes, None
        return self


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
    sort: Sort | None = Field(None, description="its place among the stage's rules; none: after the last one")
    allow_backwards: Flag = False


class RobotIn(Body):
    type_code: Id
    stage_id: Id
    name: Name | None = None
    params: Params = {}
    condition: Condition = None
    run_as: Id | None = Field(None, description="an active employee")
    sort: Sort | None = Field(None, description="its place among the stage's rules; none: after the last one")
    delay: DelayIn = DelayIn()
    after_previous: Flag = False
    retry: RetryIn = RetryIn()
    repeat: RepeatIn | None = None
    continue_on_failure: Flag = Field(False, description="the robots after it run even if it failed")
    allow_repeat: Flag = Field(False, description="run again each time the item comes back to the stage")
    active: Flag = True


class RobotCreateIn(RobotIn):
    also_for_items_here: Flag = Field(
        False,
        description="plan it also for the items in its stage now, as if each had just entered it "
        "(a one-off backfill; the answer does not wait for it; see each item's journal)",
    )


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
    continue_on_failure: bool
    allow_repeat: bool
    active: bool

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
    outputs_schema: dict[str, Any] | None = None


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


class RobotRunOut(BaseModel):
    """What happened to one robot run: planned (queued, delayed, waiting), skipped, cancelled, an
    attempt that failed (delayed again, with the error), done or failed for good."""

    id: str
    kind: Literal["robot_run"]
    at: datetime
    item: str = Field(description="type/id")
    pipeline_id: str
    stage_id: str
    robot_id: str
    robot_type: str
    run_id: str
    state: Literal["waiting", "delayed", "queued", "running", "done", "skipped", "cancelled", "failed"]
    attempt: int = Field(description="attempts started so far")
    due_at: datetime | None = Field(description="when a delayed run is due")
    inputs: dict[str, Any] = Field(description="the robot's params as it ran")
    outputs: dict[str, Any]
    error: str | None
    note: str | None = Field(description="why it was skipped or cancelled")
    duration_ms: int | None
    chain: list[str] = Field(description="the causes that led to the stage entry (loops stop at a bound)")


class JournalPage(BaseModel):
    entries: list[JournalEntryOut | RobotRunOut]
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


# ---------------------------------------------------------------- robot settings


class WorkingHoursBody(Body):
    start: ClockTime
    end: Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", examples=["18:00"])] = (
        Field(description="after start; 24:00 is the end of the day")
    )


DayHours = Annotated[WorkingHoursBody | None, Field(description="null or left out: no working time that day")]


class WeekBody(Body):
    mon: DayHours = None
    tue: DayHours = None
    wed: DayHours = None
    thu: DayHours = None
    fri: DayHours = None
    sat: DayHours = None
    sun: DayHours = None


class HolidaysBody(Body):
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", examples=["DE"])] = Field(
        description="ISO 3166-1 alpha-2 code of the country whose public holidays are days off"
    )
    subdivision: Annotated[str, Field(min_length=1, max_length=10, examples=["BY"])] | None = Field(
        None, description="ISO 3166-2 code of a state or region, without the country part"
    )


IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2026-12-31"])]
Dates = Annotated[list[IsoDate], Field(max_length=MAX_DATES)]
DEFAULT_SCHEDULE = WorkSchedule()


class WorkScheduleBody(Body):
    time_zone: TimeZone = Field(DEFAULT_SCHEDULE.time_zone, description="IANA time zone, like Europe/Berlin")
    working_hours: WeekBody = WeekBody.model_validate(DEFAULT_SCHEDULE.to_dict()["working_hours"])
    holidays: HolidaysBody | None = Field(None, description="null: no public holidays")
    days_off: Dates = Field([], description="extra days without work")
    working_days: Dates = Field(
        [],
        description="extra working days (a weekend or holiday worked): that weekday's hours, or those "
        "most weekdays have",
    )


RunsPerMinute = Annotated[int, Field(strict=True, ge=1, le=MAX_RUNS_PER_MINUTE)]


class RobotSettingsIn(Body):
    schedule: WorkScheduleBody = Field(
        WorkScheduleBody(), description="the working time of robots delayed to working time"
    )
    runs_per_minute: RunsPerMinute = Field(
        DEFAULT_RUNS_PER_MINUTE,
        description="the tenant's robot runs a minute at most; the others wait their turn, none is dropped",
    )


class RobotSettingsOut(BaseModel):
    schedule: WorkScheduleBody
    runs_per_minute: int
    updated_at: datetime | None = Field(description="null: never set, the defaults apply")

    @classmethod
    def of(cls, settings: RobotSettings) -> RobotSettingsOut:
        return cls.model_validate(settings.to_dict())


# ---------------------------------------------------------------- tasks and notifications


class TaskOut(BaseModel):
    id: str
    item: ItemRefOut
    kind: Literal["task", "call", "meeting"]
    assignee_id: str
    title: str
    description: str
    deadline: datetime = Field(description="a call's or meeting's end")
    priority: Literal["low", "normal", "high"]
    status: Literal["open", "done"]
    overdue: bool = Field(description="past its deadline while open, or done after it")
    starts_at: datetime | None = Field(description="a call's or meeting's start")
    place: str | None = Field(description="a meeting's place")
    created_at: datetime
    created_by: str = Field(description='"robot:{robot id}"')
    completed_at: datetime | None
    completed_by: str | None = Field(description="the employee who completed it, if named")

    @classmethod
    def of(cls, task: Task, now: datetime) -> TaskOut:
        return cls.model_validate(task.to_dict() | {"overdue": task.overdue(now)})


class TaskPage(BaseModel):
    tasks: list[TaskOut]
    cursor: str | None = None


class CompleteTaskIn(Body):
    by: Id | None = Field(None, description="the employee completing it (active)")


class NotificationOut(BaseModel):
    id: str
    employee_id: str
    text: str
    item: ItemRefOut | None
    unread: bool
    created_at: datetime
    created_by: str = Field(description='"robot:{robot id}"')
    read_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        return cls.model_validate(notification.to_dict() | {"unread": notification.unread})


class NotificationPage(BaseModel):
    notifications: list[NotificationOut]
    cursor: str | None = None


# ---------------------------------------------------------------- app robots


class AppRobotPropertyIn(Body):
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    type: Literal["string", "number", "boolean"]
    required: Flag = False


class AppRobotIn(Body):
    code: TriggerCode
    name: Name
    handler_url: Annotated[str, Field(max_length=2048, description="https: where each run is posted")]
    secret_ref: Annotated[
        str,
        Field(
            pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
            description="the tenant secret (/automation/secrets) signing the request and the answer",
        ),
    ]
    properties: Annotated[list[AppRobotPropertyIn], Field(max_length=20)] = []
    returns: Annotated[list[AppRobotPropertyIn], Field(max_length=20)] = []


class AppRobotOut(BaseModel):
    code: str
    name: str
    handler_url: str
    secret_ref: str
    properties: list[dict[str, Any]]
    returns: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, robot: AppRobot) -> AppRobotOut:
        return cls.model_validate(robot.to_dict())


# ---------------------------------------------------------------- documents and requisites

DocumentKindName = Literal["invoice", "quote", "offer", "contract", "act", "receipt", "other"]


class DocumentTemplateIn(Body):
    name: Name
    kind: DocumentKindName
    body: str = Field(
        min_length=1,
        max_length=20_000,
        description="the document's HTML, a template: {{ item.title }}, {{ contact.email }}, "
        "{{ robots.<robot_id>.<output> }}; every value is HTML-escaped",
    )
    file_name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description='a template; default "<name> {{ item.id }}"; ".html" is added'
    )


class NewDocumentTemplateIn(DocumentTemplateIn):
    id: Id | None = Field(None, description="default: derived from the name (Invoice -> invoice)")


class DocumentTemplateOut(BaseModel):
    id: str
    name: str
    kind: DocumentKindName
    body: str
    file_name: str
    created_at: datetime
    updated_at: datetime


class DocumentTemplateList(BaseModel):
    templates: list[DocumentTemplateOut]


class DocumentOut(BaseModel):
    id: str
    item: ItemRefOut
    kind: DocumentKindName
    name: str = Field(description="its file name")
    content_type: str
    size: int = Field(description="bytes")
    template_id: str | None
    created_at: datetime
    created_by: str = Field(description='"robot:{robot id}"')
    viewed_at: datetime | None = Field(description="when its link was first opened by a person")
    url: str = Field(description="its public view link (signed, no API key needed)")


class DocumentPage(BaseModel):
    documents: list[DocumentOut]
    cursor: str | None = None


def _line(limit: int, description: str | None = None) -> Any:
    return Field(None, max_length=limit, description=description)


class RequisitesIn(Body):
    legal_name: str | None = _line(300)
    tax_id: str | None = _line(50, "VAT id, INN, EIN...")
    registration_number: str | None = _line(50)
    address: str | None = _line(1000, "the legal address; may have several lines")
    bank_name: str | None = _line(200)
    bank_account: str | None = _line(64, "an IBAN or an account number")
    bank_code: str | None = _line(32, "BIC/SWIFT, or the national bank code")
    by: Id | None = Field(None, description="the employee making the change (active)")


class RequisitesOut(BaseModel):
    of: Literal["company", "contact"]
    holder: str = Field(description="the company's name, or the contact's email")
    legal_name: str | None
    tax_id: str | None
    registration_number: str | None
    address: str | None
    bank_name: str | None
    bank_account: str | None
    bank_code: str | None
    version: int
    updated_at: datetime
    updated_by: str | None = Field(description='an employee, "robot:{robot id}", or null')


# ---------------------------------------------------------------- payment accounts

GraceHours = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=30 * 24,
        description="how long the current signing secret keeps verifying beside the new one (0: stops now)",
    ),
]


class PaymentAccountIn(Body):
    name: Name
    provider: Literal["stripe", "generic", "local"] = Field(
        description="stripe; generic: any other provider, posting signed JSON; or local: the local "
        "runtime's provider (only where `make run` runs)"
    )
    secret_key: str | None = Field(
        None, max_length=300, description="Stripe: the secret or restricted key that makes Checkout sessions"
    )
    webhook_secret: str | None = Field(
        None, max_length=300, description="Stripe: the endpoint's signing secret (whsec_...), not shown back"
    )
    return_url: str | None = Field(
        None, max_length=2048, description="Stripe: the page Checkout sends the client back to"
    )


class PaymentAccountPatch(Body):
    name: Name | None = omittable()
    secret_key: str | None = Field(None, max_length=300, description="Stripe: a new secret key")
    return_url: str | None = Field(None, max_length=2048, description="Stripe: a new return page")


class RollSecretIn(Body):
    webhook_secret: str | None = Field(
        None, max_length=300, description="Stripe: the new signing secret after rolling it; others: none"
    )
    grace_hours: GraceHours = 24


class PaymentAccountOut(BaseModel):
    id: str
    name: str
    provider: Literal["stripe", "generic", "local"]
    created_at: datetime
    webhook_url: str = Field(description="where the provider sends its events (register it in Stripe)")
    secret_key_last4: str | None = Field(description="the secret key's last 4 characters")
    webhook_secret_last4: str = Field(description="the signing secret's last 4 characters")
    return_url: str | None
    rotated_at: datetime | None
    previous_valid_until: datetime | None = Field(
        description="until when the signing secret before the last roll still verifies (null: it does not)"
    )


class CreatedPaymentAccountOut(PaymentAccountOut):
    webhook_secret: str | None = Field(
        description="a generic or local account's signing secret, shown this once (Stripe's is Stripe's)"
    )
