"""Use-cases on employees' work: their tasks (listed, completed on the item's timeline) and their
in-app notifications (listed, read). Robots make both (``crm.robots``); these are how people see
and close them."""

from __future__ import annotations

from datetime import datetime

from crm.adapters import items, work
from crm.domain import clock
from crm.domain.errors import NotFound, StaleWrite
from crm.domain.model import TimelineEntry, TimelineKind, entry_id
from crm.domain.trigger_events import ItemRef
from crm.domain.work import Notification, Task, TaskStatus
from crm.service.configuration import referenced_employee


def assignee_tasks(
    tenant_id: str, assignee_id: str, status: TaskStatus, limit: int, cursor: str | None
) -> tuple[list[Task], str | None]:
    """A page of an employee's tasks of one status, the earliest deadline first."""
    referenced_employee(tenant_id, assignee_id, "assignee")
    return work.assignee_tasks(tenant_id, assignee_id, status, limit, cursor)


def item_tasks(
    tenant_id: str, type_code: str, item_id: str, status: TaskStatus, limit: int, cursor: str | None
) -> tuple[list[Task], str | None]:
    """A page of an item's tasks of one status, the earliest deadline first."""
    item = items.get(tenant_id, type_code, item_id)
    return work.item_tasks(tenant_id, ItemRef(item.type, item.id), status, limit, cursor)


def complete_task(tenant_id: str, task_id: str, by: str | None) -> Task:
    """The task done, by ``by`` (an active employee, if named), recorded on its item's timeline (if
    the item is still there). A task done already stays as it was done: completing is idempotent."""
    if by is not None:
        referenced_employee(tenant_id, by, "by", acting=True)
    for _ in range(2):
        task = work.get_task(tenant_id, task_id)
        if task.status is TaskStatus.DONE:
            return task
        now = clock.now()
        done = task.completed(now, by)
        try:
            work.replace_task(tenant_id, task, done, _completion_entry(tenant_id, done, now))
        except StaleWrite:
            continue  # completed meanwhile: read again, and answer it as it was done
        return done
    raise StaleWrite(f"task {task_id} changed twice meanwhile; retry the request")


def _completion_entry(tenant_id: str, task: Task, at: datetime) -> TimelineEntry | None:
    """What the item's timeline (and whatever reads it, as the stream) says of a task done."""
    try:
        items.get(tenant_id, task.item.type, task.item.id)
    except NotFound:
        return None  # the item was deleted: the task is closed all the same
    data = {
        "task_id": task.id,
        "kind": task.kind.value,
        "title": task.title,
        "assignee_id": task.assignee_id,
        "deadline": task.deadline.isoformat(),
        "overdue": task.overdue(at),
    }
    return TimelineEntry(entry_id(), TimelineKind.TASK_COMPLETED, at, task.completed_by, data)


def employee_notifications(
    tenant_id: str, employee_id: str, unread_only: bool, limit: int, cursor: str | None
) -> tuple[list[Notification], str | None]:
    """A page of an employee's notifications, newest first (unread ones before read ones)."""
    referenced_employee(tenant_id, employee_id, "employee_id")
    return work.notifications(tenant_id, employee_id, unread_only, limit, cursor)


def read_notification(tenant_id: str, notification_id: str) -> Notification:
    """The notification marked read; one read already keeps the time it was first read."""
    for _ in range(2):
        notification = work.get_notification(tenant_id, notification_id)
        if not notification.unread:
            return notification
        read = notification.read(clock.now())
        try:
            work.replace_notification(tenant_id, notification, read)
        except StaleWrite:
            continue
        return read
    raise StaleWrite(f"notification {notification_id} changed twice meanwhile; retry the request")
