"""Each tenant's settings of its trigger sources, one partition per tenant in the automation table:
pk={tenant}#SOURCES, sk={source}. A source never set has no record (its default applies)."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord
from crm.domain.sources import Source, SourceSettings


class SourceSettingsRecord(AutomationRecord):
    # The settings' JSON form (``SourceSettings.to_dict``).
    settings = JSONAttribute()


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#SOURCES"


def _settings(record: SourceSettingsRecord) -> SourceSettings:
    return SourceSettings.from_dict(record.settings)


def get(tenant_id: str, source: Source) -> SourceSettings | None:
    """The stored settings, read strongly consistent (a change applies to the next event); None if
    the tenant never set them."""
    try:
        return _settings(SourceSettingsRecord.get(_pk(tenant_id), source.value, consistent_read=True))
    except DoesNotExist:
        return None


def list_all(tenant_id: str) -> list[SourceSettings]:
    return readable(SourceSettingsRecord.query(_pk(tenant_id)), _settings, "source settings")


def save(tenant_id: str, settings: SourceSettings) -> None:
    """The tenant's settings of the source, replacing the ones before (the last one set wins)."""
    SourceSettingsRecord(pk=_pk(tenant_id), sk=settings.source.value, settings=settings.to_dict()).save()
