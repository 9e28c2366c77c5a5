"""Trigger sources' settings: what a source that reaches items by contact (inbound mail) does with a
contact the CRM does not know."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import Body, Id
from crm.domain.sources import SourceSettings
from crm.service import sources

router = Router()

SourceCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="mail")]
UnknownContact = Literal["ignore", "create_item"]


class SourceSettingsIn(Body):
    unknown_contact: UnknownContact = Field(
        description="when no item has the contact an event came from: ignore it (journaled for the "
        "tenant), or create an item (item_type in pipeline_id, its first stage) and apply the triggers"
    )
    item_type: Id | None = Field(None, description="with create_item: the type of the item created")
    pipeline_id: Id | None = Field(None, description="with create_item: a pipeline of that type")
    responsible_id: Id | None = Field(
        None, description="with create_item: the active employee the item is given to (none: nobody)"
    )


class SourceSettingsOut(BaseModel):
    source: str
    unknown_contact: UnknownContact
    item_type: str | None
    pipeline_id: str | None
    responsible_id: str | None
    updated_at: datetime | None = Field(description="null: never set, the default (ignore) applies")

    @classmethod
    def of(cls, settings: SourceSettings) -> SourceSettingsOut:
        return cls.model_validate(settings.to_dict())


@router.get("/automation/sources", tags=["automation"])
def all_settings() -> list[SourceSettingsOut]:
    """Every trigger source that reaches items by contact, with its settings."""
    return [SourceSettingsOut.of(s) for s in sources.all_settings(tenant_id(router))]


@router.get("/automation/sources/<source>", tags=["automation"])
def get_settings(source: SourceCode) -> SourceSettingsOut:
    """404 for a source there is not."""
    return SourceSettingsOut.of(sources.settings(tenant_id(router), source))


@router.put("/automation/sources/<source>", tags=["automation"])
def update_settings(source: SourceCode, body: SourceSettingsIn) -> SourceSettingsOut:
    """Replaces the source's settings: 422 for an unknown item type, a pipeline of another type or
    none, an unknown or inactive employee, or type, pipeline or employee given with ignore."""
    values = body.model_dump(exclude_none=True)
    return SourceSettingsOut.of(sources.update_settings(tenant_id(router), source, values))
