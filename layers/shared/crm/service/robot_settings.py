"""The tenant's robot settings (``crm.domain.robot_settings``): its working time and its throttle,
set through the API, read by the planner, runner and sweeper."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crm.adapters import robot_settings as store
from crm.adapters import warm
from crm.domain import clock
from crm.domain.robot_settings import RobotSettings

# A warm container keeps a tenant's settings this long: a change reaches robots planned in other
# containers within a minute.
SETTINGS_KEPT = timedelta(seconds=60)
_kept: dict[str, tuple[datetime, RobotSettings]] = warm.cache(limit=4096)  # tenant -> (read at, settings)


def settings(tenant_id: str) -> RobotSettings:
    """The tenant's settings as stored now, or the defaults if it never set them."""
    return store.get(tenant_id) or RobotSettings()


def update_settings(tenant_id: str, values: dict[str, Any]) -> RobotSettings:
    """Replaces the tenant's settings with ``values`` (their JSON form; what is left out takes the
    default); Invalid, changing nothing, for an unknown time zone or holiday region, working hours
    that end before they start, or a throttle out of bounds."""
    updated = RobotSettings.from_dict({**values, "updated_at": clock.now().isoformat()})
    store.save(tenant_id, updated)
    _kept.pop(tenant_id, None)
    return updated


def for_tenant(tenant_id: str) -> RobotSettings:
    """The settings robots follow, as this container read them within the last minute."""
    now = clock.now()
    kept = _kept.get(tenant_id)
    if kept is not None and now - kept[0] < SETTINGS_KEPT:
        return kept[1]
    current = store.get(tenant_id, consistent=False) or RobotSettings()
    _kept[tenant_id] = (now, current)
    return current
