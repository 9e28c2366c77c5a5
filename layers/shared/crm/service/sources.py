"""Per-source settings: what a source that reaches items by contact does when no item has the
contact (``crm.domain.sources``), set through the API and read by the source on such an event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm.adapters import sources
from crm.domain import clock
from crm.domain.errors import Invalid, NotFound
from crm.domain.sources import Source, SourceSettings, UnknownContact, source_of
from crm.service.configuration import item_type, referenced_employee, referenced_pipeline
from crm.service.triggers import NewItem


def _source(code: str) -> Source:
    """The source a path names: an unknown one is not there (NotFound)."""
    try:
        return source_of(code)
    except Invalid as unknown:
        raise NotFound(str(unknown)) from None


def settings(tenant_id: str, code: str | Source) -> SourceSettings:
    source = _source(code)
    return sources.get(tenant_id, source) or SourceSettings(source)


def all_settings(tenant_id: str) -> list[SourceSettings]:
    """Every source's settings, the default for those never set, in the order of ``Source``."""
    stored = {s.source: s for s in sources.list_all(tenant_id)}
    return [stored.get(source) or SourceSettings(source) for source in Source]


def checked(tenant_id: str, settings_: SourceSettings) -> SourceSettings:
    """``settings_`` if what they name is there: creating items needs an item type that exists, a
    pipeline of that type and, if named, an active employee to give them to; Invalid otherwise."""
    if settings_.unknown_contact is UnknownContact.CREATE_ITEM:
        assert settings_.item_type is not None and settings_.pipeline_id is not None
        try:
            item_type(tenant_id, settings_.item_type)
        except NotFound:
            raise Invalid(f"item_type: item type {settings_.item_type!r} does not exist") from None
        pipeline = referenced_pipeline(tenant_id, settings_.pipeline_id, "pipeline_id").pipeline
        if pipeline.item_type != settings_.item_type:
            holds = f"pipeline {pipeline.id!r} holds {pipeline.item_type} items"
            raise Invalid(f"pipeline_id: {holds}, not {settings_.item_type} items")
        if settings_.responsible_id is not None:
            referenced_employee(tenant_id, settings_.responsible_id, "responsible_id", acting=True)
    return settings_


def update_settings(tenant_id: str, code: str, values: dict[str, Any]) -> SourceSettings:
    """Replaces the source's settings (``checked``)."""
    updated = SourceSettings(
        source=_source(code),
        unknown_contact=values.get("unknown_contact", UnknownContact.IGNORE),
        item_type=values.get("item_type"),
        pipeline_id=values.get("pipeline_id"),
        responsible_id=values.get("responsible_id"),
        updated_at=clock.now(),
    )
    checked(tenant_id, updated)
    sources.save(tenant_id, updated)
    return updated


def new_item(
    tenant_id: str,
    source: Source,
    title: str,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    company: str | None = None,
    *,
    own: SourceSettings | None = None,
) -> NewItem | None:
    """The item ``source`` creates for a contact no item has, from what it knows of the contact
    (for ``apply_trigger_event``), or None when the setting is to ignore such events: ``own`` (a
    telephony line's), else the tenant's for the source, with one strongly consistent read (a
    source asks only when the contact is unknown)."""
    current = own or settings(tenant_id, source)
    values = current.new_item_values(title, emails, phones, company)
    if values is None:
        return None
    assert current.item_type is not None
    return NewItem(current.item_type, values)
