"""In-app notifications robots sent employees: an employee's list, and marking one read."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.api.context import tenant_id
from crm.api.schemas import ID_PATTERN, Cursor, Limit, NotificationOut, NotificationPage, PathId
from crm.service import work

router = Router()


@router.get("/notifications", tags=["notifications"])
def list_notifications(
    employee_id: Annotated[str, Query(pattern=ID_PATTERN, description="the employee's id")],
    unread: Annotated[bool, Query(description="only the unread ones")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NotificationPage:
    """An employee's notifications, newest first, unread ones before read ones; 422 for an unknown
    employee."""
    found, next_cursor = work.employee_notifications(tenant_id(router), employee_id, unread, limit, cursor)
    return NotificationPage(notifications=[NotificationOut.of(n) for n in found], cursor=next_cursor)


@router.post("/notifications/<notification_id>/read", tags=["notifications"])
def read_notification(notification_id: PathId) -> NotificationOut:
    """Marks the notification read (reading it again keeps the first time)."""
    return NotificationOut.of(work.read_notification(tenant_id(router), notification_id))
