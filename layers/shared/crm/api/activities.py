"""Activities: calls and emails an employee logs on an item."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import AwareDatetime, BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import AppliedOut, Body, Id, PathId, TimelineEntryOut
from crm.domain.activities import DAY, MAX_NOTES, MAX_SUBJECT, Activity
from crm.service import activities

router = Router()


class ActivityIn(Body):
    kind: Literal["call", "email"]
    direction: Literal["incoming", "outgoing"]
    subject: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT)] | None = None
    notes: Annotated[str, Field(min_length=1, max_length=MAX_NOTES)] | None = None
    duration_seconds: Annotated[int, Field(strict=True, ge=0, le=DAY)] | None = Field(
        None, description="a call's length (0: not answered)"
    )
    message_id: Annotated[str, Field(min_length=1, max_length=998)] | None = Field(
        None, description="an email's Message-ID, if known"
    )
    at: AwareDatetime | None = Field(None, description="when it happened (default: now)")
    by: Id | None = Field(None, description="the employee who called or wrote (active)")


class ActivityOut(BaseModel):
    entry: TimelineEntryOut = Field(description="the activity on the item's timeline")
    triggers: list[AppliedOut] = Field(
        description="what its trigger event did: outgoing calls fire *outgoing call*, outgoing emails "
        "*email sent to client*; incoming activities fire nothing"
    )


@router.post("/items/<item_type>/<item_id>/activities", tags=["items"], status_code=201)
def log_activity(
    item_type: PathId,
    item_id: PathId,
    body: ActivityIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="a retry with the same key within 24 hours logs nothing new and gets the first "
            "answer; the same key with another request is refused (422)",
        ),
    ] = None,
) -> ActivityOut:
    """Logs a call or an email on the item's timeline; an outgoing one fires its triggers."""
    activity = Activity(
        body.kind,
        body.direction,
        body.at,
        body.subject,
        body.notes,
        body.duration_seconds,
        body.message_id,
        body.by,
    )
    logged = activities.log_activity(tenant_id(router), item_type, item_id, activity, idempotency_key)
    return ActivityOut(
        entry=TimelineEntryOut.of(logged.entry),
        triggers=[AppliedOut.model_validate(a.to_dict()) for a in logged.applied],
    )
