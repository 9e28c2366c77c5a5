"""*Create task*: a task on the item for its responsible or a named employee, with a deadline (an
offset from now or from a date field of the item) and a priority. *Plan call* and *plan meeting*
make tasks of their kinds through ``plan``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.domain.trigger_events import ItemRef
from crm.domain.work import MAX_PLACE, MAX_TEXT, MAX_TITLE, Priority, Task, TaskKind, record_id
from crm.robots.inside import Id, Outputs, Params, Template, When, active, rendered


class TaskParams(Params):
    assignee: Id | None = Field(None, description="an employee's id; none: the item's responsible")
    title: Template
    description: Template | None = None
    priority: Priority = Priority.NORMAL


class CreateTaskParams(TaskParams):
    deadline: When = Field(When(offset=1, unit="days"), description="default: a day after the robot runs")


class TaskOutputs(Outputs):
    task_id: str


def plan(
    ctx: RobotContext,
    item: Item,
    params: TaskParams,
    kind: TaskKind,
    when: When,
    duration: timedelta | None = None,
    place: str | None = None,
) -> dict:
    """The task asked for: a to-do due ``when``; a call or meeting starting ``when``, due when it
    ends (``duration`` later)."""
    if params.assignee is None and item.responsible_id is None:
        raise RobotFailed(f"{item.ref} has no responsible to give the task to", retryable=False)
    assignee = active(ctx, params.assignee or item.responsible_id, "assignee")
    at = when.at(ctx, item, assignee.time_zone)
    starts_at = None if kind is TaskKind.TASK else at
    task = Task(
        id=record_id(ctx.idempotency_key, "task"),
        item=ItemRef(item.type, item.id),
        kind=kind,
        assignee_id=assignee.id,
        title=rendered(ctx, params.title, "title", MAX_TITLE),
        description=rendered(ctx, params.description, "description", MAX_TEXT) if params.description else "",
        deadline=at + (duration or timedelta()),
        created_at=ctx.now,
        created_by=f"robot:{ctx.rule.id}",
        priority=params.priority,
        starts_at=starts_at,
        place=rendered(ctx, place, "place", MAX_PLACE) if place else None,
    )
    ctx.effects.records.append(task)
    return {"task_id": task.id}


def run(ctx: RobotContext, item: Item, params: CreateTaskParams) -> dict:
    return plan(ctx, item, params, TaskKind.TASK, params.deadline)


CREATE_TASK = CATALOGUE.register(
    RuleType(
        "create_task",
        RuleKind.ROBOT,
        "Create task",
        CreateTaskParams,
        "A task on the item for its responsible (or a named employee), due after an offset from now "
        "or from a date field of the item.",
        run=run,
        outputs=TaskOutputs,
    )
)
