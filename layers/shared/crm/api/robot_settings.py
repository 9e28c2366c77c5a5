"""The tenant's robot settings: the working time that robots delayed to working time wait for, and
how many robot runs a minute it allows."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.api.context import tenant_id
from crm.api.schemas import RobotSettingsIn, RobotSettingsOut
from crm.service import robot_settings

router = Router()


@router.get("/automation/robot-settings", tags=["automation"])
def get_settings() -> RobotSettingsOut:
    """The settings, or the defaults (UTC, Monday to Friday 09:00-18:00, no public holidays, 600 runs
    a minute) with updated_at null if they were never set."""
    return RobotSettingsOut.of(robot_settings.settings(tenant_id(router)))


@router.put("/automation/robot-settings", tags=["automation"])
def update_settings(body: RobotSettingsIn) -> RobotSettingsOut:
    """Replaces the settings (what is left out takes the default): 422 for an unknown time zone,
    holiday country or subdivision, working hours that do not end after they start, or a date that
    is both a day off and a working day. Robots already due keep their due time."""
    return RobotSettingsOut.of(robot_settings.update_settings(tenant_id(router), body.model_dump()))
