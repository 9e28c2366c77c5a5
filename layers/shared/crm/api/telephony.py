"""Telephony lines: where a tenant's provider posts its call events (the answer's ``webhook_url``),
how they are checked, and what a call from a new number does on the line."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import Body, GraceHours, Name, omittable
from crm.api.sources import SourceSettingsIn, SourceSettingsOut
from crm.api.urls import public_url
from crm.domain.telephony import LINE_ID_PATTERN, Line
from crm.service import telephony

router = Router()

LineId = Annotated[str, Path(pattern=LINE_ID_PATTERN)]
PATH = "/automation/telephony-lines"
AuthToken = Annotated[
    str, Field(min_length=32, max_length=32, description="Twilio: the account's auth token")
]
UNKNOWN_CALLER = (
    "what a call from a number no item has does on this line (null: the tenant's telephony source "
    "setting, /automation/sources/telephony)"
)


class LineIn(Body):
    name: Name
    provider: Literal["twilio", "pbx"] = Field(
        description="twilio (its Voice status callbacks), or pbx: any other PBX, posting signed JSON"
    )
    auth_token: AuthToken | None = None
    unknown_caller: SourceSettingsIn | None = Field(None, description=UNKNOWN_CALLER)


class LinePatch(Body):
    name: Name | None = omittable()
    auth_token: AuthToken | None = omittable()
    unknown_caller: SourceSettingsIn | None = Field(None, description=UNKNOWN_CALLER)


class NewSecretIn(Body):
    grace_hours: GraceHours = 24


class LineOut(BaseModel):
    id: str
    name: str
    provider: Literal["twilio", "pbx"]
    created_at: datetime
    webhook_url: str = Field(
        description="where the provider posts the line's call events (Twilio: the number's status "
        "callback URL, and a <Dial action> URL)"
    )
    unknown_caller: SourceSettingsOut | None
    previous_valid_until: datetime | None = Field(
        description="until when a PBX line's secret before the newest still verifies (null: it does not)"
    )


class CreatedLineOut(LineOut):
    secret: str | None = Field(
        description="a PBX line's signing secret, shown this once (a Twilio line's: its auth token)"
    )


def _out(line: Line) -> LineOut:
    return LineOut(
        id=line.id,
        name=line.name,
        provider=line.provider.value,
        created_at=line.created_at,
        webhook_url=public_url(router, line.path()),
        unknown_caller=None if line.unknown_caller is None else SourceSettingsOut.of(line.unknown_caller),
        previous_valid_until=line.previous_valid_until,
    )


def _created(created: telephony.CreatedLine) -> CreatedLineOut:
    return CreatedLineOut(**_out(created.line).model_dump(), secret=created.secret)


@router.post(PATH, tags=["automation"], status_code=201)
def create_telephony_line(body: LineIn) -> tuple[CreatedLineOut, int]:
    """A line. Twilio: give the account's auth token, and set the answer's webhook_url as the
    number's status callback URL (events initiated, ringing, answered, completed). PBX: its signing
    secret is in this answer only. Secrets are never shown back."""
    return _created(telephony.create_line(tenant_id(router), body.model_dump())), 201


@router.get(PATH, tags=["automation"])
def list_telephony_lines() -> list[LineOut]:
    return [_out(line) for line in telephony.lines(tenant_id(router))]


@router.get(f"{PATH}/<line_id>", tags=["automation"])
def get_telephony_line(line_id: LineId) -> LineOut:
    return _out(telephony.line(tenant_id(router), line_id))


@router.patch(f"{PATH}/<line_id>", tags=["automation"])
def update_telephony_line(line_id: LineId, body: LinePatch) -> LineOut:
    """A new name, Twilio auth token, or unknown-caller setting (null: the tenant's)."""
    values = body.model_dump(exclude_unset=True)
    return _out(telephony.update_line(tenant_id(router), line_id, values))


@router.post(f"{PATH}/<line_id>/new-secret", tags=["automation"])
def new_telephony_line_secret(line_id: LineId, body: NewSecretIn) -> CreatedLineOut:
    """A PBX line's new signing secret, shown once; the one it replaces keeps verifying for
    grace_hours (0: stops now), while the PBX is switched over."""
    grace = timedelta(hours=body.grace_hours)
    return _created(telephony.new_secret(tenant_id(router), line_id, grace))


@router.delete(f"{PATH}/<line_id>", tags=["automation"], status_code=204)
def delete_telephony_line(line_id: LineId) -> None:
    """Its calls are refused (404) at once for a new container, within a minute for a warm one."""
    telephony.delete_line(tenant_id(router), line_id)
    return Response(204)
