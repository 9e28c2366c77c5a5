from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.adapters import tenants
from crm.api.context import tenant_id
from crm.api.schemas import ApiKeyIn, ApiKeyOut, IssuedKeyOut
from crm.service.tenants import issue_key

router = Router()


@router.get("/api-keys", tags=["API keys"])
def list_keys() -> list[ApiKeyOut]:
    return [ApiKeyOut(id=i, name=n, created_at=c) for i, n, c in tenants.list_keys(tenant_id(router))]


@router.post("/api-keys", tags=["API keys"])
def create_key(body: ApiKeyIn) -> tuple[IssuedKeyOut, int]:
    """A new key for this tenant. The key is in this answer only: store it now."""
    issued = issue_key(tenant_id(router), body.name)
    return IssuedKeyOut(
        id=issued.key_id, name=issued.name, created_at=issued.created_at, key=issued.api_key
    ), 201


@router.delete("/api-keys/<key_id>", tags=["API keys"])
def revoke_key(key_id: str) -> tuple[None, int]:
    """Revokes a key (API Gateway may honour a cached authorization for up to 5 minutes)."""
    tenants.delete_key(tenant_id(router), key_id)
    return None, 204
