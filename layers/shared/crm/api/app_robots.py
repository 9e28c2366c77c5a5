"""App robots: robots an application registers, run through its handler (Bitrix24's
``bizproc.robot.add``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from crm.api.context import tenant_id
from crm.api.schemas import AppRobotIn, AppRobotOut
from crm.domain.model import TRIGGER_CODE_PATTERN
from crm.service import app_robots

router = Router()

Code = Annotated[str, Path(pattern=TRIGGER_CODE_PATTERN.pattern)]


@router.post("/automation/app-robots", tags=["automation"], status_code=201)
def register(body: AppRobotIn) -> AppRobotOut:
    """Registers a robot for robots of type app_robot to name (409 if the code is registered already)."""
    return AppRobotOut.of(app_robots.register(tenant_id(router), body.model_dump()))


@router.get("/automation/app-robots", tags=["automation"])
def registered() -> list[AppRobotOut]:
    return [AppRobotOut.of(r) for r in app_robots.registered(tenant_id(router))]


@router.get("/automation/app-robots/<code>", tags=["automation"])
def get_registered(code: Code) -> AppRobotOut:
    return AppRobotOut.of(app_robots.get(tenant_id(router), code))


@router.delete("/automation/app-robots/<code>", tags=["automation"], status_code=204)
def unregister(code: Code) -> None:
    """Refused (409) while robots name the code."""
    app_robots.unregister(tenant_id(router), code)
    return Response(204)
