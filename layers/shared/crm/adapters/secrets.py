"""The tenant's named secrets in the automation table, and the ``Secrets`` port robots read them
through.

    secret    pk={tenant}#SECRETS   sk={name}   value, updated_at

The table is encrypted at rest (DynamoDB's own key); a key of the tenant's own in KMS around each
value (envelope encryption) is a later hardening. A warm container keeps a secret it read for
``KEPT`` seconds: a rotated secret is signed with within a minute. A name that is not set is not
kept, so a secret set a moment ago is found by the next run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters import warm
from crm.adapters.tables import AutomationRecord
from crm.adapters.transactions import refused_as
from crm.domain.errors import NotFound
from crm.domain.secrets import Secret

KEPT = 60.0
_kept: dict[tuple[str, str], tuple[float, str]] = warm.cache(limit=4096)


class SecretRecord(AutomationRecord):
    value = UnicodeAttribute()
    updated_at = UnicodeAttribute()


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#SECRETS"


def _secret(record: SecretRecord) -> Secret:
    return Secret(record.sk, record.value, datetime.fromisoformat(record.updated_at))


def get(tenant_id: str, name: str, *, consistent: bool = True) -> Secret | None:
    try:
        return _secret(SecretRecord.get(_pk(tenant_id), name, consistent_read=consistent))
    except DoesNotExist:
        return None


def all_of(tenant_id: str) -> list[Secret]:
    """The tenant's secrets, by name (one Query)."""
    return [_secret(r) for r in SecretRecord.query(_pk(tenant_id), consistent_read=True)]


def count(tenant_id: str) -> int:
    return SecretRecord.count(_pk(tenant_id), consistent_read=True)


def save(tenant_id: str, secret: Secret) -> None:
    """The secret, replacing the value it had (the last one set wins)."""
    SecretRecord(
        pk=_pk(tenant_id), sk=secret.name, value=secret.value, updated_at=secret.updated_at.isoformat()
    ).save()
    _kept.pop((tenant_id, secret.name), None)


def delete(tenant_id: str, name: str) -> None:
    """NotFound when the tenant has no secret of that name."""
    with refused_as(lambda: NotFound(f"the tenant has no secret named {name!r}")):
        SecretRecord(pk=_pk(tenant_id), sk=name).delete(condition=SecretRecord.pk.exists())
    _kept.pop((tenant_id, name), None)


class TenantSecrets:
    """The ``Secrets`` port: a secret's value as this container read it within ``kept`` seconds."""

    def __init__(self, kept: float = KEPT, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.kept = kept
        self.monotonic = monotonic

    def get(self, tenant_id: str, name: str) -> str | None:
        key = (tenant_id, name)
        found = _kept.get(key)
        if found is not None and self.monotonic() - found[0] < self.kept:
            return found[1]
        stored = get(tenant_id, name, consistent=False)
        if stored is None:
            _kept.pop(key, None)
            return None
        _kept[key] = (self.monotonic(), stored.value)
        return stored.value
