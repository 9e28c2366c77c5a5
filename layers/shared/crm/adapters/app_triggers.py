"""The codes applications registered to fire *app trigger* triggers, one partition per tenant in the
automation table."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from crm.adapters.readable import readable
from crm.adapters.tables import AppTriggerRecord
from crm.adapters.transactions import refused_as
from crm.domain.errors import Conflict, NotFound
from crm.domain.model import AppTrigger


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#APP_TRIGGERS"


def _app_trigger(record: AppTriggerRecord) -> AppTrigger:
    return AppTrigger(record.sk, record.name, datetime.fromisoformat(record.created_at))


def register(tenant_id: str, app_trigger: AppTrigger) -> None:
    record = AppTriggerRecord(
        pk=_pk(tenant_id),
        sk=app_trigger.code,
        name=app_trigger.name,
        created_at=app_trigger.created_at.isoformat(),
    )
    with refused_as(lambda: Conflict(f"app trigger {app_trigger.code!r} is registered already")):
        record.save(condition=AppTriggerRecord.pk.does_not_exist())


def get(tenant_id: str, code: str) -> AppTrigger:
    try:
        return _app_trigger(AppTriggerRecord.get(_pk(tenant_id), code, consistent_read=True))
    except DoesNotExist:
        raise NotFound(f"app trigger {code!r} is not registered") from None


def list_all(tenant_id: str) -> list[AppTrigger]:
    return readable(AppTriggerRecord.query(_pk(tenant_id)), _app_trigger, "app trigger")


def unregister(tenant_id: str, code: str) -> None:
    with refused_as(lambda: NotFound(f"app trigger {code!r} is not registered")):
        AppTriggerRecord(pk=_pk(tenant_id), sk=code).delete(condition=AppTriggerRecord.pk.exists())
