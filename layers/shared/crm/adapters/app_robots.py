"""The robots applications registered (``crm.domain.app_robots``), one partition per tenant in the
automation table: pk={tenant}#APP_ROBOTS, sk={code}."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord
from crm.adapters.transactions import refused_as
from crm.domain.app_robots import AppRobot
from crm.domain.errors import Conflict, NotFound


class AppRobotRecord(AutomationRecord):
    robot = JSONAttribute()  # ``AppRobot.to_dict``


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#APP_ROBOTS"


def _app_robot(record: AppRobotRecord) -> AppRobot:
    return AppRobot.from_dict(record.robot)


def register(tenant_id: str, robot: AppRobot) -> None:
    record = AppRobotRecord(pk=_pk(tenant_id), sk=robot.code, robot=robot.to_dict())
    with refused_as(lambda: Conflict(f"app robot {robot.code!r} is registered already")):
        record.save(condition=AppRobotRecord.pk.does_not_exist())


def get(tenant_id: str, code: str) -> AppRobot:
    try:
        return _app_robot(AppRobotRecord.get(_pk(tenant_id), code, consistent_read=True))
    except DoesNotExist:
        raise NotFound(f"app robot {code!r} is not registered") from None


def list_all(tenant_id: str) -> list[AppRobot]:
    return readable(AppRobotRecord.query(_pk(tenant_id)), _app_robot, "app robot")


def unregister(tenant_id: str, code: str) -> None:
    with refused_as(lambda: NotFound(f"app robot {code!r} is not registered")):
        AppRobotRecord(pk=_pk(tenant_id), sk=code).delete(condition=AppRobotRecord.pk.exists())
