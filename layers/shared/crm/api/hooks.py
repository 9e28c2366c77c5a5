"""Hooks: the tenant's secret URLs that fire webhook triggers (``/hooks/{secret}/trigger``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import Body, Name
from crm.api.urls import public_url
from crm.domain.hooks import DEFAULT_GRACE, MAX_GRACE, Hook
from crm.service import hooks

router = Router()

HookId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}$")]


class HookIn(Body):
    name: Name


class RotateIn(Body):
    grace_hours: int = Field(
        int(DEFAULT_GRACE.total_seconds() // 3600),
        strict=True,
        ge=0,
        le=MAX_GRACE.days * 24,
        description="how long the current secret keeps working beside the new one (0: it stops now)",
    )


class HookOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    rotated_at: datetime | None
    previous_valid_until: datetime | None = Field(
        description="until when the secret before the last rotation still works (null: it does not)"
    )

    @classmethod
    def of(cls, hook: Hook) -> HookOut:
        return cls(
            id=hook.id,
            name=hook.name,
            created_at=hook.created_at,
            rotated_at=hook.rotated_at,
            previous_valid_until=hook.previous_valid_until,
        )


class IssuedHookOut(HookOut):
    secret: str = Field(description="shown once: only its hash is stored")
    url: str = Field(description="the hook's URL (shown once): GET or POST it with ?target=DEAL_25&code=...")


def _issued(issued: hooks.IssuedHook) -> IssuedHookOut:
    url = public_url(router, f"/hooks/{issued.secret}/trigger")
    return IssuedHookOut(**HookOut.of(issued.hook).model_dump(), secret=issued.secret, url=url)


@router.post("/automation/hooks", tags=["automation"], status_code=201)
def create_hook(body: HookIn) -> tuple[IssuedHookOut, int]:
    """A new hook: its secret URL is in this answer only (store it now); the URL fires the
    webhook triggers of the item it names."""
    return _issued(hooks.create(tenant_id(router), body.name)), 201


@router.get("/automation/hooks", tags=["automation"])
def list_hooks() -> list[HookOut]:
    """The hooks in use, without their secrets (revoked hooks are not listed)."""
    return [HookOut.of(hook) for hook in hooks.hooks_in_use(tenant_id(router))]


@router.get("/automation/hooks/<hook_id>", tags=["automation"])
def get_hook(hook_id: HookId) -> HookOut:
    return HookOut.of(hooks.get(tenant_id(router), hook_id))


@router.post("/automation/hooks/<hook_id>/rotate", tags=["automation"])
def rotate_hook(hook_id: HookId, body: RotateIn) -> IssuedHookOut:
    """A new secret URL (shown once); the current one keeps working for grace_hours beside it, or
    until the previous secret is revoked. A second rotation within that time retires the oldest."""
    return _issued(hooks.rotate(tenant_id(router), hook_id, timedelta(hours=body.grace_hours)))


@router.delete("/automation/hooks/<hook_id>/previous", tags=["automation"], status_code=204)
def revoke_previous_secret(hook_id: HookId) -> None:
    """Ends a rotation's grace period: only the newest secret opens the hook (404 if none other does)."""
    hooks.revoke_previous(tenant_id(router), hook_id)
    return Response(204)


@router.delete("/automation/hooks/<hook_id>", tags=["automation"], status_code=204)
def revoke_hook(hook_id: HookId) -> None:
    """No secret opens the hook any more: at once for a new container, within 60 s for one that
    checked a secret a moment ago."""
    hooks.revoke(tenant_id(router), hook_id)
    return Response(204)
