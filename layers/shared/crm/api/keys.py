"""The tenant's API keys. Every route here re-reads the calling key, so a revoked key cannot mint,
list or revoke keys even while API Gateway still honours its cached authorization (up to 60 s)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.api.context import caller
from crm.api.schemas import ApiKeyIn, ApiKeyOut, IssuedKeyOut
from crm.service import tenants

router = Router()


@router.get("/api-keys", tags=["API keys"])
def list_keys() -> list[ApiKeyOut]:
    """The keys in use (revoked keys are not listed)."""
    me = caller(router)
    return [ApiKeyOut.of(key) for key in tenants.list_keys(me.tenant_id, me.key_id)]


@router.post("/api-keys", tags=["API keys"], status_code=201)
def create_key(body: ApiKeyIn) -> tuple[IssuedKeyOut, int]:
    """A new key for this tenant. The key is in this answer only: store it now."""
    me = caller(router)
    issued = tenants.issue_key(me.tenant_id, me.key_id, body.name, body.scope)
    out = IssuedKeyOut(
        id=issued.key_id,
        name=issued.name,
        scope=issued.scope,
        operator=False,
        created_at=issued.created_at,
        key=issued.api_key,
    )
    return out, 201


@router.delete("/api-keys/<key_id>", tags=["API keys"], status_code=204)
def revoke_key(key_id: str) -> tuple[None, int]:
    """Revokes a key: at once for these key routes, within 60 s for the rest of the API (API Gateway
    caches an authorization that long). A key cannot revoke a key of wider scope, nor the operator's."""
    me = caller(router)
    tenants.revoke_key(me.tenant_id, me.key_id, key_id)
    return None, 204
