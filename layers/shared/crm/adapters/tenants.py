"""Tenants and their API keys. A key reads ``crm_{tenant}_{key id}_{secret}``: its record is found
by tenant and key id, and only the SHA-256 of the secret is stored. A revoked key's record stays,
marked with who revoked it when. The tenant's record also keeps the sender identities the operator
granted it (``crm.domain.senders``), as a string set: grants and withdrawals are atomic ADD and
DELETE, never a read-modify-write."""

from __future__ import annotations

import time
from datetime import datetime

from pynamodb.attributes import UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from crm.adapters import warm
from crm.adapters.tables import TenantsTableRecord
from crm.adapters.transactions import refused_as
from crm.domain.errors import Conflict, NotFound
from crm.domain.keys import ApiKey, Scope, UsageKey
from crm.domain.model import Tenant
from crm.domain.senders import SenderIdentities

TENANT_SK = "TENANT"
KEY_PREFIX = "APIKEY#"

# A warm container keeps each tenant's mailbox token this long: a token replaced in the store
# stops opening the mailbox within that time, and a new one works at once (a miss reads again).
TOKEN_KEPT_SECONDS = 300
_tokens: dict[str, tuple[float, str]] = warm.cache(limit=4096)  # tenant -> (kept until, monotonic; token)


class TenantRecord(TenantsTableRecord):
    # The sender domains and addresses the operator granted (absent: none; a set is never empty).
    sender_identities = UnicodeSetAttribute(null=True)


def _key_sk(key_id: str) -> str:
    return f"{KEY_PREFIX}{key_id}"


def create_tenant(
    tenant: Tenant, mailbox_token: str, usage_key: UsageKey | None, senders: SenderIdentities
) -> None:
    record = TenantRecord(
        pk=tenant.id,
        sk=TENANT_SK,
        name=tenant.name,
        created_at=tenant.created_at.isoformat(),
        mailbox_token=mailbox_token,
        usage_key_id=usage_key.id if usage_key else None,
        usage_key=usage_key.value if usage_key else None,
        sender_identities=set(senders.values()) or None,
    )
    with refused_as(lambda: Conflict(f"tenant {tenant.id!r} exists already")):
        record.save(condition=TenantRecord.pk.does_not_exist())


def _tenant(tenant_id: str, consistent: bool = False) -> TenantRecord | None:
    try:
        return TenantRecord.get(tenant_id, TENANT_SK, consistent_read=consistent)
    except DoesNotExist:
        return None


def mailbox_token(tenant_id: str) -> str | None:
    """The tenant's mailbox token as stored (None: no such tenant), kept for ``kept_mailbox_token``.

    A strongly consistent read: it runs when a recipient's token differs from the kept one, which is
    right after a rotation, and an eventually consistent read could still answer the old token and
    drop mail sent to the new one."""
    record = _tenant(tenant_id, consistent=True)
    token = record.mailbox_token if record else None
    if token:
        _tokens[tenant_id] = (time.monotonic() + TOKEN_KEPT_SECONDS, token)
    else:
        _tokens.pop(tenant_id, None)
    return token


def kept_mailbox_token(tenant_id: str) -> str | None:
    """The token this container read within the last TOKEN_KEPT_SECONDS, if any (no read)."""
    kept = _tokens.get(tenant_id)
    return kept[1] if kept is not None and kept[0] > time.monotonic() else None


def usage_key_id(tenant_id: str) -> str | None:
    """The id of the tenant's usage key; NotFound if there is no such tenant."""
    record = _tenant(tenant_id, consistent=True)
    if record is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist")
    return record.usage_key_id


def set_usage_key(tenant_id: str, usage_key: UsageKey) -> None:
    """Records the usage key of a tenant that has none yet."""
    with refused_as(lambda: Conflict(f"tenant {tenant_id!r} does not exist or has a usage key already")):
        TenantsTableRecord(pk=tenant_id, sk=TENANT_SK).update(
            actions=[
                TenantsTableRecord.usage_key_id.set(usage_key.id),
                TenantsTableRecord.usage_key.set(usage_key.value),
            ],
            condition=TenantsTableRecord.pk.exists() & TenantsTableRecord.usage_key_id.does_not_exist(),
        )


def sender_identities(tenant_id: str) -> SenderIdentities:
    """The tenant's granted sender identities as stored now; NotFound if there is no such tenant."""
    record = _tenant(tenant_id, consistent=True)
    if record is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist")
    return identities_of(record)


def identities_of(record: TenantRecord) -> SenderIdentities:
    return SenderIdentities.stored(record.sender_identities or ())


def grant_sender_identities(tenant_id: str, granted: SenderIdentities) -> SenderIdentities:
    """Adds ``granted`` to the tenant's identities; what it has then. NotFound: no such tenant."""
    return _change_identities(tenant_id, TenantRecord.sender_identities.add(set(granted.values())))


def withdraw_sender_identities(tenant_id: str, withdrawn: SenderIdentities) -> SenderIdentities:
    """Takes ``withdrawn`` out of the tenant's identities; what it has then. NotFound: no such
    tenant."""
    return _change_identities(tenant_id, TenantRecord.sender_identities.delete(set(withdrawn.values())))


def _change_identities(tenant_id: str, action: Action) -> SenderIdentities:
    record = TenantRecord(pk=tenant_id, sk=TENANT_SK)
    with refused_as(lambda: NotFound(f"tenant {tenant_id!r} does not exist")):
        record.update(actions=[action], condition=TenantRecord.pk.exists())
    return identities_of(record)


def save_key(key: ApiKey, secret_hash: str) -> None:
    TenantsTableRecord(
        pk=key.tenant_id,
        sk=_key_sk(key.id),
        name=key.name,
        created_at=key.created_at.isoformat(),
        secret_hash=secret_hash,
        scope=key.scope.value,
        operator=key.operator or None,
    ).save(condition=TenantsTableRecord.pk.does_not_exist())


def _api_key(record: TenantsTableRecord) -> ApiKey:
    return ApiKey(
        tenant_id=record.pk,
        id=record.sk.removeprefix(KEY_PREFIX),
        name=record.name,
        # Keys made before scopes existed were full keys.
        scope=Scope(record.scope or Scope.ADMIN),
        created_at=datetime.fromisoformat(record.created_at),
        operator=bool(record.operator),
        revoked_at=datetime.fromisoformat(record.revoked_at) if record.revoked_at else None,
        revoked_by=record.revoked_by,
    )


def credential(tenant_id: str, key_id: str) -> tuple[ApiKey, str, str | None] | None:
    """(key, secret hash, the tenant's usage key value) in one read, None if the key or its tenant
    does not exist. For the authorizer, on the path of every request its cache misses."""
    records = {
        r.sk: r for r in TenantsTableRecord.batch_get([(tenant_id, _key_sk(key_id)), (tenant_id, TENANT_SK)])
    }
    key, tenant = records.get(_key_sk(key_id)), records.get(TENANT_SK)
    if key is None or tenant is None or key.secret_hash is None:
        return None
    return _api_key(key), key.secret_hash, tenant.usage_key


def get_key(tenant_id: str, key_id: str) -> ApiKey | None:
    """The key as it is now (strongly consistent: a revocation a moment ago is seen)."""
    try:
        return _api_key(TenantsTableRecord.get(tenant_id, _key_sk(key_id), consistent_read=True))
    except DoesNotExist:
        return None


def list_keys(tenant_id: str) -> list[ApiKey]:
    records = TenantsTableRecord.query(tenant_id, TenantsTableRecord.sk.startswith(KEY_PREFIX))
    return [_api_key(record) for record in records]


def revoke_key(tenant_id: str, key_id: str, revoked_at: datetime, revoked_by: str) -> None:
    with refused_as(lambda: NotFound(f"API key {key_id!r} does not exist")):
        TenantsTableRecord(pk=tenant_id, sk=_key_sk(key_id)).update(
            actions=[
                TenantsTableRecord.revoked_at.set(revoked_at.isoformat()),
                TenantsTableRecord.revoked_by.set(revoked_by),
            ],
            condition=TenantsTableRecord.pk.exists() & TenantsTableRecord.revoked_at.does_not_exist(),
        )
