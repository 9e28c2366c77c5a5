"""App triggers: codes an application registers and fires for an item (Bitrix24's
``crm.automation.trigger``)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path

from crm.api.context import tenant_id
from crm.api.schemas import AppliedOut, AppTriggerExecuteIn, AppTriggerIn, AppTriggerOut
from crm.domain.model import TRIGGER_CODE_PATTERN
from crm.domain.trigger_events import ItemRef
from crm.service import app_triggers

router = Router()

Code = Annotated[str, Path(pattern=TRIGGER_CODE_PATTERN.pattern)]


@router.post("/automation/app-triggers", tags=["automation"], status_code=201)
def register(body: AppTriggerIn) -> AppTriggerOut:
    """Registers a code for triggers of type app_trigger to name (409 if it is registered already)."""
    return AppTriggerOut.of(app_triggers.register(tenant_id(router), body.code, body.name))


@router.get("/automation/app-triggers", tags=["automation"])
def registered() -> list[AppTriggerOut]:
    return [AppTriggerOut.of(a) for a in app_triggers.registered(tenant_id(router))]


@router.get("/automation/app-triggers/<code>", tags=["automation"])
def get_registered(code: Code) -> AppTriggerOut:
    return AppTriggerOut.of(app_triggers.get(tenant_id(router), code))


@router.delete("/automation/app-triggers/<code>", tags=["automation"], status_code=204)
def unregister(code: Code) -> None:
    """Refused (409) while triggers name the code."""
    app_triggers.unregister(tenant_id(router), code)
    return Response(204)


@router.post("/automation/app-triggers/<code>/execute", tags=["automation"])
def execute(
    code: Code,
    body: AppTriggerExecuteIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=256,
            description="the application's id of this happening (or event_id in the body); one of "
            "them is required: a retry with the same id changes nothing and gets the first answer",
        ),
    ] = None,
) -> AppliedOut:
    """Fires the code for the item: its pipeline's app triggers with this code are tried in stage
    order and the first that applies moves it; the answer says what happened and names the journal
    entry that says why. 404 for an unknown code or item."""
    target = body.target if isinstance(body.target, str) else ItemRef(body.target.type, body.target.id)
    applied = app_triggers.execute(tenant_id(router), code, target, body.event_id, idempotency_key)
    return AppliedOut.model_validate(applied.to_dict())
