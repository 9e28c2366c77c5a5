"""Tasks robots gave employees (to do, to call, to meet): an employee's list, an item's list, and
completing one, which goes on the item's timeline."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.api.context import tenant_id
from crm.api.schemas import ID_PATTERN, CompleteTaskIn, Cursor, Limit, PathId, TaskOut, TaskPage
from crm.domain import clock
from crm.domain.work import Task, TaskStatus
from crm.service import work

router = Router()

Status = Annotated[TaskStatus, Query(description="open (the default) or done")]


def _page(tasks: list[Task], cursor: str | None) -> TaskPage:
    now = clock.now()
    return TaskPage(tasks=[TaskOut.of(task, now) for task in tasks], cursor=cursor)


@router.get("/tasks", tags=["tasks"])
def list_tasks(
    assignee: Annotated[str, Query(pattern=ID_PATTERN, description="the employee's id")],
    status: Status = TaskStatus.OPEN,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TaskPage:
    """An employee's tasks, the earliest deadline first; 422 for an unknown employee."""
    return _page(*work.assignee_tasks(tenant_id(router), assignee, status, limit, cursor))


@router.get("/items/<item_type>/<item_id>/tasks", tags=["tasks"])
def list_item_tasks(
    item_type: PathId,
    item_id: PathId,
    status: Status = TaskStatus.OPEN,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TaskPage:
    """The item's tasks, the earliest deadline first."""
    return _page(*work.item_tasks(tenant_id(router), item_type, item_id, status, limit, cursor))


@router.post("/tasks/<task_id>/complete", tags=["tasks"])
def complete_task(task_id: PathId, body: CompleteTaskIn | None = None) -> TaskOut:
    """Marks the task done (a *task completed* entry on the item's timeline); completing a done task
    changes nothing and answers it as it was done."""
    done = work.complete_task(tenant_id(router), task_id, body.by if body else None)
    return TaskOut.of(done, clock.now())
