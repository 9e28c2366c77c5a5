"""Each tenant's robot settings, one record in the automation table: pk={tenant}#ROBOT_SETTINGS,
sk=SETTINGS. A tenant that never set them has no record (the defaults apply)."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.tables import AutomationRecord
from crm.domain.robot_settings import RobotSettings

SK = "SETTINGS"


class RobotSettingsRecord(AutomationRecord):
    # The settings' JSON form (``RobotSettings.to_dict``).
    settings = JSONAttribute()


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#ROBOT_SETTINGS"


def get(tenant_id: str, *, consistent: bool = True) -> RobotSettings | None:
    """The stored settings (``consistent``: including a change made a moment ago); None if the
    tenant never set them."""
    try:
        record = RobotSettingsRecord.get(_pk(tenant_id), SK, consistent_read=consistent)
    except DoesNotExist:
        return None
    return RobotSettings.from_dict(record.settings)


def save(tenant_id: str, settings: RobotSettings) -> None:
    """The tenant's settings, replacing the ones before (the last one set wins)."""
    RobotSettingsRecord(pk=_pk(tenant_id), sk=SK, settings=settings.to_dict()).save()
