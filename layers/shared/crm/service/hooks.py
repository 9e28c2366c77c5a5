"""Webhook triggers: hooks (a tenant's secret URLs) and firing them.

``/hooks/{secret}/trigger?target=DEAL_25&code=X`` fires the *webhook* triggers of the item's
pipeline whose code is X (or that take any code), as Bitrix24's ``crm.automation.trigger`` does.

- The secret names its tenant and hook (``crmhook_{tenant}_{hook id}_{secret}``): checking it is one
  read of the hook. A warm container remembers a secret it checked for ``CHECKED_FOR`` (60 s, as
  API Gateway caches the management API's keys), so a warm call costs the engine's 2 DynamoDB
  calls; a revoked or rotated-out secret may therefore open the hook for up to 60 s more.
- A secret that does not open a hook (never issued, rotated out, revoked, another tenant's) is
  Unauthorized (401), whichever it is: telling "no such hook" from "wrong secret" would let a
  guesser learn hook ids.
- Event id: the caller's ``request_id`` (or ``Idempotency-Key`` header) when given; else a digest
  of the hook, the item, the code and the minute of the call, so that an immediate retry of the
  same call is the same event, applied once and answered the same. Two deliberate calls for the
  same item and code within a minute are one event then: give a request_id to tell them apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm.adapters import hooks as store
from crm.adapters import warm
from crm.domain import clock
from crm.domain.credentials import Credential
from crm.domain.errors import Invalid, NotFound, Unauthorized
from crm.domain.hooks import DEFAULT_GRACE, SECRET_PREFIX, Hook
from crm.domain.model import TRIGGER_CODE_PATTERN
from crm.domain.trigger_events import ItemRef, TriggerEvent
from crm.service.triggers import Applied, apply_trigger_event
from crm.triggers.webhook import WEBHOOK

SOURCE = "webhook"
CHECKED_FOR = timedelta(seconds=60)
MAX_REQUEST_ID = 200
# (tenant, hook id, secret hash) -> until when this container takes the secret as opening the hook
_checked: dict[tuple[str, str, str], datetime] = warm.cache(limit=4096)


@dataclass(frozen=True)
class IssuedHook:
    hook: Hook
    secret: str  # the credential, shown once: the hook's URL carries it


def create(tenant_id: str, name: str) -> IssuedHook:
    credential = Credential.issue(SECRET_PREFIX, tenant_id)
    hook = Hook(tenant_id, credential.id, name.strip(), clock.now(), credential.secret_hash)
    store.create(hook)
    return IssuedHook(hook, str(credential))


def _as_now(hook: Hook) -> Hook:
    """The hook as it stands now: a previous secret past its grace period is gone."""
    return hook if hook.previous_open(clock.now()) else hook.without_previous()


def hooks_in_use(tenant_id: str) -> list[Hook]:
    """The tenant's hooks (revoked ones are kept as an audit trail, not listed)."""
    return [_as_now(hook) for hook in store.list_all(tenant_id) if not hook.revoked]


def get(tenant_id: str, hook_id: str) -> Hook:
    hook = store.get(tenant_id, hook_id)
    if hook is None or hook.revoked:
        raise NotFound(f"hook {hook_id!r} does not exist")
    return _as_now(hook)


def rotate(tenant_id: str, hook_id: str, grace: timedelta = DEFAULT_GRACE) -> IssuedHook:
    """A new secret for the hook; the current one keeps opening it for ``grace`` (0: stops now)."""
    hook = get(tenant_id, hook_id)
    credential = Credential.issue(SECRET_PREFIX, tenant_id, hook.id)
    rotated = hook.rotated(credential.secret_hash, clock.now(), grace)
    store.replace(rotated, expected_hash=hook.secret_hash)
    return IssuedHook(rotated, str(credential))


def revoke_previous(tenant_id: str, hook_id: str) -> Hook:
    """Ends a rotation's grace period now: only the current secret opens the hook."""
    hook = get(tenant_id, hook_id)
    if hook.previous_hash is None:
        raise NotFound(f"hook {hook_id!r} has no previous secret still valid")
    done = hook.without_previous()
    store.replace(done, expected_hash=hook.secret_hash)
    return done


def revoke(tenant_id: str, hook_id: str) -> None:
    """No secret opens the hook any more (within CHECKED_FOR in warm containers)."""
    store.revoke(tenant_id, hook_id, clock.now())


def fire(secret: str, target: str, code: str | None, request_id: str | None) -> Applied:
    """Fires the webhook triggers for the item ``target`` names (``DEAL_25``). Unauthorized for a
    secret that opens no hook; Invalid for a malformed target, code or request id; NotFound for an
    unknown item. Nothing is written in any of these cases."""
    now = clock.now()
    tenant_id, hook_id = _opened(secret, now)
    item = ItemRef.from_target(target)
    if code is not None and not TRIGGER_CODE_PATTERN.match(code):
        raise Invalid("code: 1-64 Latin letters, digits or '_'")
    if request_id is not None:
        if not (1 <= len(request_id) <= MAX_REQUEST_ID and request_id.isascii() and request_id.isprintable()):
            raise Invalid(f"request_id: 1-{MAX_REQUEST_ID} printable ASCII characters")
        if " " in request_id:
            raise Invalid("request_id: no spaces")
        event_id = f"{hook_id}:r:{request_id}"
    else:
        minute = now.strftime("%Y-%m-%dT%H:%M")
        event_id = f"{hook_id}:m:{hashlib.sha256(f'{item}|{code}|{minute}'.encode()).hexdigest()[:32]}"
    event = TriggerEvent(
        type=WEBHOOK.code,
        source=SOURCE,
        event_id=event_id,
        tenant_id=tenant_id,
        occurred_at=now,
        item=item,
        data={} if code is None else {"code": code},
    )
    (applied,) = apply_trigger_event(event, now=now, unknown_item_is_an_error=True)
    return applied


def _opened(secret: str, now: datetime) -> tuple[str, str]:
    """(tenant, hook id) of the hook ``secret`` opens; Unauthorized otherwise."""
    refused = Unauthorized(
        "this hook URL is not valid: its secret was never issued, or was rotated or revoked"
    )
    credential = Credential.parse(SECRET_PREFIX, secret)
    if credential is None:
        raise refused
    key = (credential.tenant_id, credential.id, credential.secret_hash)
    if (until := _checked.get(key)) is not None and now < until:
        return key[0], key[1]
    hook = store.get(credential.tenant_id, credential.id)
    opens_until = None if hook is None else hook.opens(credential, now)
    if opens_until is None:
        _checked.pop(key, None)
        raise refused
    _checked[key] = min(now + CHECKED_FOR, opens_until)
    return key[0], key[1]
