"""App robots (Bitrix24's ``bizproc.robot.add``): applications register robots, the tenant puts
*app robot* robots naming them on stages (``crm.robots.app_robot`` runs them)."""

from __future__ import annotations

from typing import Any

from crm.adapters import app_robots, warm
from crm.domain import clock
from crm.domain.app_robots import AppRobot
from crm.domain.errors import Conflict, NotFound
from crm.domain.rules import RuleKind
from crm.robots.app_robot import APP_ROBOT
from crm.service.rules import rules_naming

# A warm runner keeps a tenant's app robot this long: a changed handler is used within a minute.
KEPT = 60.0
_kept: warm.Kept[tuple[str, str], AppRobot] = warm.Kept(limit=4096, seconds=KEPT, keep_missing=True)


def register(tenant_id: str, values: dict[str, Any]) -> AppRobot:
    robot = AppRobot(
        code=values["code"],
        name=values["name"],
        handler_url=values["handler_url"],
        secret_ref=values["secret_ref"],
        properties=values.get("properties") or (),
        returns=values.get("returns") or (),
        created_at=clock.now(),
    )
    app_robots.register(tenant_id, robot)
    return robot


def registered(tenant_id: str) -> list[AppRobot]:
    return app_robots.list_all(tenant_id)


def get(tenant_id: str, code: str) -> AppRobot:
    return app_robots.get(tenant_id, code)


def unregister(tenant_id: str, code: str) -> None:
    """Refused while robots name the code: they could never run again."""
    app_robots.get(tenant_id, code)
    if users := rules_naming(tenant_id, RuleKind.ROBOT, APP_ROBOT.code, code):
        raise Conflict(f"app robot {code!r} is used by the robots {', '.join(users)}: delete them first")
    app_robots.unregister(tenant_id, code)
    _kept.forget((tenant_id, code))


class RegisteredAppRobots:
    """The ``AppRobots`` port of the runner: a tenant's registered robots, kept warm a minute."""

    def get(self, tenant_id: str, code: str) -> AppRobot | None:
        def read() -> AppRobot | None:
            try:
                return app_robots.get(tenant_id, code)
            except NotFound:
                return None

        return _kept.get((tenant_id, code), read)
