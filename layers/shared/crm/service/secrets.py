"""The tenant's named secrets (``crm.domain.secrets``): set, listed and deleted through the API,
read by robots that sign what they send (``crm.adapters.secrets.TenantSecrets``)."""

from __future__ import annotations

from crm.adapters import secrets as store
from crm.domain import clock
from crm.domain.errors import Conflict, NotFound
from crm.domain.secrets import MAX_SECRETS, Secret, check_name, secret


def set_secret(tenant_id: str, name: str, value: str) -> Secret:
    """Sets (or rotates) the secret ``name``; Invalid for a name or value that cannot be one,
    Conflict for a new name when the tenant keeps ``MAX_SECRETS`` already. Robots sign with the new
    value within a minute."""
    made = secret(name, value, clock.now())
    if store.get(tenant_id, name) is None and store.count(tenant_id) >= MAX_SECRETS:
        raise Conflict(f"the tenant keeps {MAX_SECRETS} secrets, the most it may: delete one first")
    store.save(tenant_id, made)
    return made


def secrets(tenant_id: str) -> list[Secret]:
    return store.all_of(tenant_id)


def get_secret(tenant_id: str, name: str) -> Secret:
    found = store.get(tenant_id, check_name(name))
    if found is None:
        raise NotFound(f"the tenant has no secret named {name!r}")
    return found


def delete_secret(tenant_id: str, name: str) -> None:
    """Robots naming it fail (for good, unsigned requests are never sent) within a minute."""
    store.delete(tenant_id, check_name(name))
