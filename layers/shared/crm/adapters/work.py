"""Tasks, notifications and round-robin turns in the items table (``crm.domain.work``).

A task and a notification are each kept as the record itself, found by its id, and copies in the
partitions that list them, so that each list the API offers is one Query of its own partition;
a copy's sort key starts with the state the list filters on, and moves when the state changes
(deleted and put again, with the record, in one transaction)::

    task          pk={tenant}#TASK#{id}                 sk=TASK
                  pk={tenant}#TASKS#{assignee}          sk={status}#{deadline}#{id}    (an employee's tasks)
                  pk={tenant}#ITEM#{type}#{id}          sk=TASK#{status}#{deadline}#{id}   (an item's)
    notification  pk={tenant}#NOTIFICATION#{id}         sk=NOTIFICATION
                  pk={tenant}#NOTIFICATIONS#{employee}  sk={unread|read}#{created at}#{id}
    turn          pk={tenant}#TURN#{pipeline}#{rule}    sk=TURN   (turns a round-robin robot took)

Times in keys are UTC ISO forms, which sort as the times do. The runner writes a robot's records
in its run's transaction (``add_records``); the stream's fan-out ignores records that are not items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.along import Actions, transact
from crm.adapters.items import MAX_PAGE, decode_cursor, encode_cursor, item_pk, timeline_record
from crm.adapters.readable import readable
from crm.adapters.tables import ItemsTableRecord
from crm.domain.errors import NotFound, StaleWrite
from crm.domain.model import Item, TimelineEntry
from crm.domain.trigger_events import ItemRef
from crm.domain.work import Notification, Task, TaskStatus, Turn

TASK_SK = "TASK"
NOTIFICATION_SK = "NOTIFICATION"
TURN_SK = "TURN"


class TaskRecord(ItemsTableRecord):
    task = JSONAttribute()
    status = UnicodeAttribute()  # what completing a task checks: it is still open


class NotificationRecord(ItemsTableRecord):
    notification = JSONAttribute()
    unread = BooleanAttribute()  # what reading a notification checks


class TurnRecord(ItemsTableRecord):
    taken = NumberAttribute()


# ---------------------------------------------------------------- keys and mapping


def _task_pk(tenant_id: str, task_id: str) -> str:
    return f"{tenant_id}#TASK#{task_id}"


def _assignee_pk(tenant_id: str, assignee_id: str) -> str:
    return f"{tenant_id}#TASKS#{assignee_id}"


def _listed(task: Task) -> str:
    return f"{task.status.value}#{task.deadline.isoformat()}#{task.id}"


def _task_records(tenant_id: str, task: Task) -> list[TaskRecord]:
    """The task, then its copies in its assignee's list and its item's."""
    keys = [
        (_task_pk(tenant_id, task.id), TASK_SK),
        (_assignee_pk(tenant_id, task.assignee_id), _listed(task)),
        (item_pk(tenant_id, task.item.type, task.item.id), f"{TASK_SK}#{_listed(task)}"),
    ]
    data = task.to_dict()
    return [
        TaskRecord(pk=pk, sk=sk, kind="task", tenant_id=tenant_id, task=data, status=task.status.value)
        for pk, sk in keys
    ]


def _task(record: TaskRecord) -> Task:
    return Task.from_dict(record.task)


def _notification_pk(tenant_id: str, notification_id: str) -> str:
    return f"{tenant_id}#NOTIFICATION#{notification_id}"


def _inbox_pk(tenant_id: str, employee_id: str) -> str:
    return f"{tenant_id}#NOTIFICATIONS#{employee_id}"


def _state(notification: Notification) -> str:
    return "unread" if notification.unread else "read"


def _notification_records(tenant_id: str, notification: Notification) -> list[NotificationRecord]:
    """The notification, then its copy in its employee's list."""
    keys = [
        (_notification_pk(tenant_id, notification.id), NOTIFICATION_SK),
        (
            _inbox_pk(tenant_id, notification.employee_id),
            f"{_state(notification)}#{notification.created_at.isoformat()}#{notification.id}",
        ),
    ]
    data = notification.to_dict()
    return [
        NotificationRecord(
            pk=pk,
            sk=sk,
            kind="notification",
            tenant_id=tenant_id,
            notification=data,
            unread=notification.unread,
        )
        for pk, sk in keys
    ]


def _notification(record: NotificationRecord) -> Notification:
    return Notification.from_dict(record.notification)


def _turn_pk(tenant_id: str, pipeline_id: str, rule_id: str) -> str:
    return f"{tenant_id}#TURN#{pipeline_id}#{rule_id}"


# ---------------------------------------------------------------- the runner's writes


def add_records(
    actions: Actions, tenant_id: str, item: Item, records: Iterable[Task | Notification | Turn]
) -> None:
    """A robot's records (``Effects.records``) added to its run's transaction. A turn is written on
    condition that no other run took one since the robot read the count: StaleWrite otherwise (the
    runner runs the robot again, which takes the next turn)."""
    ref = ItemRef(item.type, item.id)
    for record in records:
        match record:
            case Task() | Notification() if record.item not in (None, ref):
                raise ValueError(f"a robot on {item.ref} asked for a record on {record.item}")
            case Task():
                for task_record in _task_records(tenant_id, record):
                    actions.put(task_record)
            case Notification():
                for notification_record in _notification_records(tenant_id, record):
                    actions.put(notification_record)
            case Turn():
                turn = TurnRecord(
                    pk=_turn_pk(tenant_id, record.pipeline_id, record.rule_id),
                    sk=TURN_SK,
                    kind="turn",
                    tenant_id=tenant_id,
                    taken=record.taken,
                )
                current = (
                    TurnRecord.pk.does_not_exist()
                    if record.taken_before == 0
                    else TurnRecord.taken == record.taken_before
                )
                actions.put(turn, current, StaleWrite(f"another run of robot {record.rule_id} took a turn"))
            case _:
                raise TypeError(f"robots' records are tasks, notifications and turns, not {record!r}")


class Turns:
    """The turns port (``crm.domain.ports.Turns``) on the table."""

    def taken(self, tenant_id: str, pipeline_id: str, rule_id: str) -> int:
        try:
            record = TurnRecord.get(_turn_pk(tenant_id, pipeline_id, rule_id), TURN_SK, consistent_read=True)
        except DoesNotExist:
            return 0
        return int(record.taken)


# ---------------------------------------------------------------- tasks


def get_task(tenant_id: str, task_id: str) -> Task:
    try:
        return _task(TaskRecord.get(_task_pk(tenant_id, task_id), TASK_SK, consistent_read=True))
    except DoesNotExist:
        raise NotFound(f"task {task_id} does not exist") from None


def _page[R: ItemsTableRecord, T](
    model: type[R],
    pk: str,
    prefix: str,
    forward: bool,
    limit: int,
    cursor: str | None,
    parse: Callable[[R], T],
    what: str,
) -> tuple[list[T], str | None]:
    """A page of the records in ``pk`` whose sort key starts with ``prefix`` (any, when empty)."""
    results = model.query(
        pk,
        model.sk.startswith(prefix) if prefix else None,
        scan_index_forward=forward,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, {"pk": pk}, {"sk": prefix}),
    )
    found = readable(results, parse, what)
    return found, encode_cursor(results.last_evaluated_key)


def assignee_tasks(
    tenant_id: str, assignee_id: str, status: TaskStatus, limit: int, cursor: str | None
) -> tuple[list[Task], str | None]:
    """An employee's tasks of one status, the earliest deadline first."""
    pk = _assignee_pk(tenant_id, assignee_id)
    return _page(TaskRecord, pk, f"{status.value}#", True, limit, cursor, _task, "task")


def item_tasks(
    tenant_id: str, item: ItemRef, status: TaskStatus, limit: int, cursor: str | None
) -> tuple[list[Task], str | None]:
    """An item's tasks of one status, the earliest deadline first."""
    pk = item_pk(tenant_id, item.type, item.id)
    return _page(TaskRecord, pk, f"{TASK_SK}#{status.value}#", True, limit, cursor, _task, "task")


def replace_task(tenant_id: str, before: Task, after: Task, entry: TimelineEntry | None) -> None:
    """``after`` in place of the open task ``before``, with its lists' copies moved, and ``entry``
    on the item's timeline, in one transaction; StaleWrite if the task is no longer open."""

    def add(actions: Actions) -> None:
        task, *copies = _task_records(tenant_id, after)
        actions.put(task, TaskRecord.status == TaskStatus.OPEN.value)
        for old in _task_records(tenant_id, before)[1:]:
            actions.delete(old)
        for copy in copies:
            actions.put(copy)
        if entry is not None:
            actions.put(timeline_record(tenant_id, after.item, entry))

    transact(add, None, StaleWrite(f"task {before.id} changed meanwhile"))


# ---------------------------------------------------------------- notifications


def get_notification(tenant_id: str, notification_id: str) -> Notification:
    try:
        record = NotificationRecord.get(
            _notification_pk(tenant_id, notification_id), NOTIFICATION_SK, consistent_read=True
        )
    except DoesNotExist:
        raise NotFound(f"notification {notification_id} does not exist") from None
    return _notification(record)


def notifications(
    tenant_id: str, employee_id: str, unread_only: bool, limit: int, cursor: str | None
) -> tuple[list[Notification], str | None]:
    """An employee's notifications, newest first: unread ones before read ones."""
    pk = _inbox_pk(tenant_id, employee_id)
    prefix = "unread#" if unread_only else ""
    return _page(NotificationRecord, pk, prefix, False, limit, cursor, _notification, "notification")


def replace_notification(tenant_id: str, before: Notification, after: Notification) -> None:
    """``after`` (read) in place of the unread ``before``, its list's copy moved; StaleWrite if it
    was read meanwhile."""

    def add(actions: Actions) -> None:
        notification, *copies = _notification_records(tenant_id, after)
        actions.put(notification, NotificationRecord.unread == before.unread)
        for old in _notification_records(tenant_id, before)[1:]:
            actions.delete(old)
        for copy in copies:
            actions.put(copy)

    transact(add, None, StaleWrite(f"notification {before.id} changed meanwhile"))
