"""App triggers (Bitrix24's ``crm.automation.trigger`` for applications): an application registers
a code, the tenant puts *app trigger* triggers naming it on stages, and the application fires it
for an item; the event goes through ``apply_trigger_event`` as every source's do.

Firing needs an id of the application's own for each happening (an ``Idempotency-Key`` header or
an ``event_id``): a retried request is then the same event, applied once and answered the same.
"""

from __future__ import annotations

from crm.adapters import app_triggers
from crm.domain import clock
from crm.domain.errors import Conflict, Invalid
from crm.domain.model import AppTrigger
from crm.domain.rules import RuleKind
from crm.domain.trigger_events import ItemRef, TriggerEvent
from crm.service.rules import rules_naming
from crm.service.triggers import Applied, apply_trigger_event
from crm.triggers.app_trigger import APP_TRIGGER

SOURCE = "app"


def register(tenant_id: str, code: str, name: str) -> AppTrigger:
    app_trigger = AppTrigger(code, name, clock.now())
    app_triggers.register(tenant_id, app_trigger)
    return app_trigger


def registered(tenant_id: str) -> list[AppTrigger]:
    return app_triggers.list_all(tenant_id)


def get(tenant_id: str, code: str) -> AppTrigger:
    return app_triggers.get(tenant_id, code)


def unregister(tenant_id: str, code: str) -> None:
    """Refused while triggers name the code: they could never fire again."""
    app_triggers.get(tenant_id, code)
    if users := rules_naming(tenant_id, RuleKind.TRIGGER, APP_TRIGGER.code, code):
        raise Conflict(f"app trigger {code!r} is used by the triggers {', '.join(users)}: delete them first")
    app_triggers.unregister(tenant_id, code)


def execute(
    tenant_id: str, code: str, target: str | ItemRef, event_id: str | None, idempotency_key: str | None
) -> Applied:
    """Fires the registered ``code`` for the item ``target`` names (``DEAL_25`` or a reference):
    NotFound for an unknown code or item, and nothing is written then."""
    app_triggers.get(tenant_id, code)
    if event_id is None and idempotency_key is None:
        raise Invalid("give an Idempotency-Key header or an event_id, so that a retry is applied once")
    if event_id is not None and idempotency_key is not None and event_id != idempotency_key:
        raise Invalid("event_id and the Idempotency-Key header differ: give one of them")
    event = TriggerEvent(
        type=APP_TRIGGER.code,
        source=SOURCE,
        event_id=event_id or idempotency_key,
        tenant_id=tenant_id,
        occurred_at=clock.now(),
        item=target if isinstance(target, ItemRef) else ItemRef.from_target(target),
        data={"code": code},
    )
    (applied,) = apply_trigger_event(event, unknown_item_is_an_error=True)
    return applied
