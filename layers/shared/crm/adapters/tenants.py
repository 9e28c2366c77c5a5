"""Tenants and their API keys. A key reads ``crm_{tenant}_{key id}_{secret}``: its record is found
by tenant and key id, and only the SHA-256 of the secret is stored."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from crm.adapters.tables import TenantsTableRecord
from crm.domain.errors import Conflict, NotFound
from crm.domain.model import Tenant

TENANT_SK = "TENANT"


def create_tenant(tenant: Tenant, mailbox_token: str) -> None:
    record = TenantsTableRecord(
        pk=tenant.id,
        sk=TENANT_SK,
        name=tenant.name,
        created_at=tenant.created_at.isoformat(),
        mailbox_token=mailbox_token,
    )
    try:
        record.save(condition=TenantsTableRecord.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"tenant {tenant.id!r} exists already") from None
        raise


def mailbox_token(tenant_id: str) -> str | None:
    try:
        return TenantsTableRecord.get(tenant_id, TENANT_SK).mailbox_token
    except DoesNotExist:
        return None


def save_key(tenant_id: str, key_id: str, name: str, secret_hash: str, created_at: datetime) -> None:
    TenantsTableRecord(
        pk=tenant_id,
        sk=f"APIKEY#{key_id}",
        name=name,
        created_at=created_at.isoformat(),
        secret_hash=secret_hash,
    ).save(condition=TenantsTableRecord.pk.does_not_exist())


def key_hash(tenant_id: str, key_id: str) -> str | None:
    try:
        return TenantsTableRecord.get(tenant_id, f"APIKEY#{key_id}").secret_hash
    except DoesNotExist:
        return None


def list_keys(tenant_id: str) -> list[tuple[str, str, datetime]]:
    records = TenantsTableRecord.query(tenant_id, TenantsTableRecord.sk.startswith("APIKEY#"))
    return [(r.sk.removeprefix("APIKEY#"), r.name, datetime.fromisoformat(r.created_at)) for r in records]


def delete_key(tenant_id: str, key_id: str) -> None:
    try:
        TenantsTableRecord(pk=tenant_id, sk=f"APIKEY#{key_id}").delete(
            condition=TenantsTableRecord.pk.exists()
        )
    except DeleteError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(f"API key {key_id!r} does not exist") from None
        raise
