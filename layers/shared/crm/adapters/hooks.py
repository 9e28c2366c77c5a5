"""Hooks (secret URLs of webhook triggers), one partition per tenant in the automation table:
pk={tenant}#HOOKS sk={hook id}, with the hashes of the current and the previous secret. A revoked
hook's record stays, marked, as an audit trail (like API keys)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord
from crm.adapters.transactions import refused_as
from crm.domain.errors import Conflict, NotFound
from crm.domain.hooks import Hook


class HookRecord(AutomationRecord):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    rotated_at = UnicodeAttribute(null=True)
    previous_hash = UnicodeAttribute(null=True)
    previous_valid_until = UnicodeAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#HOOKS"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _record(hook: Hook) -> HookRecord:
    return HookRecord(
        pk=_pk(hook.tenant_id),
        sk=hook.id,
        tenant_id=hook.tenant_id,
        name=hook.name,
        created_at=hook.created_at.isoformat(),
        secret_hash=hook.secret_hash,
        rotated_at=_iso(hook.rotated_at),
        previous_hash=hook.previous_hash,
        previous_valid_until=_iso(hook.previous_valid_until),
        revoked_at=_iso(hook.revoked_at),
    )


def _hook(record: HookRecord) -> Hook:
    return Hook(
        tenant_id=record.tenant_id,
        id=record.sk,
        name=record.name,
        created_at=datetime.fromisoformat(record.created_at),
        secret_hash=record.secret_hash,
        rotated_at=_time(record.rotated_at),
        previous_hash=record.previous_hash,
        previous_valid_until=_time(record.previous_valid_until),
        revoked_at=_time(record.revoked_at),
    )


def create(hook: Hook) -> None:
    with refused_as(lambda: Conflict(f"hook {hook.id!r} exists already")):
        _record(hook).save(condition=HookRecord.pk.does_not_exist())


def get(tenant_id: str, hook_id: str) -> Hook | None:
    """The hook as stored now, revoked or not (strongly consistent: a hook made or rotated a moment
    ago opens at once)."""
    try:
        return _hook(HookRecord.get(_pk(tenant_id), hook_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_all(tenant_id: str) -> list[Hook]:
    return readable(HookRecord.query(_pk(tenant_id)), _hook, "hook")


def replace(hook: Hook, expected_hash: str) -> None:
    """Writes ``hook`` over the stored one if that is unrevoked and still has the current secret
    ``expected_hash`` (no rotation or revocation meanwhile); Conflict otherwise."""
    with refused_as(lambda: Conflict(f"hook {hook.id!r} was changed meanwhile: read it again")):
        _record(hook).save(
            condition=(HookRecord.secret_hash == expected_hash) & HookRecord.revoked_at.does_not_exist()
        )


def revoke(tenant_id: str, hook_id: str, at: datetime) -> None:
    with refused_as(lambda: NotFound(f"hook {hook_id!r} does not exist")):
        HookRecord(pk=_pk(tenant_id), sk=hook_id).update(
            actions=[HookRecord.revoked_at.set(at.isoformat())],
            condition=HookRecord.pk.exists() & HookRecord.revoked_at.does_not_exist(),
        )
