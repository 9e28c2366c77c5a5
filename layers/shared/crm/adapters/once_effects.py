"""Effects done once per idempotency key on services that take no key of their own (an SMS through
SNS, a call through Twilio, a notification mail through SES), with a record in the items table:

    effect   pk={tenant}#EFFECT#{hash of the key}   sk={effect}   (SMS | CALL | EMPLOYEE_MAIL)
             state sending | sent, started_at, the service's id once sent; TTL expires_at

The record is claimed as "sending" BEFORE the service is asked, then marked "sent" with the
service's id. A later attempt with the same key:
- finds "sent": answers the recorded id and sends nothing;
- finds "sending" started less than ``resend_after`` ago: another attempt is under way (or was cut
  off a moment ago), so it sends nothing and fails retryably, to look again when that time is up;
- finds "sending" older than that: the attempt that claimed it was cut off (a crash, a timeout)
  between the claim and the mark, maybe after the service took the effect. It claims the record
  again and sends: at-least-once. ``resend_after`` must so be at least the robot runner's lease,
  beyond which no attempt of the run is still running.
A refusal that certainly sent nothing (an invalid number, a throttle) frees the key, so that a
retry sends. Any other failure leaves the record "sending": whether the effect happened is unknown.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from crm.adapters.tables import ItemsTableRecord
from crm.adapters.transactions import condition_failed
from crm.domain import clock
from crm.domain.ports import Sent
from crm.domain.robots import RobotFailed

SENDING, SENT = "sending", "sent"
# A run's effects can be repeated until its dead-letter queue (14 days at most) is re-driven.
KEPT = timedelta(days=30)
# Lambda's longest timeout: no attempt runs longer, whatever the runner's lease.
RESEND_AFTER = timedelta(minutes=15)


class OutcomeUnknown(Exception):
    """What an effect raises when it cannot tell whether the service took it (a timeout after the
    request went out): the record stays "sending"."""


class EffectRecord(ItemsTableRecord):
    state = UnicodeAttribute()
    started_at = NumberAttribute()  # epoch seconds of the attempt that claimed it last
    service_id = UnicodeAttribute(null=True)
    details = JSONAttribute(null=True)
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL attribute


def _pk(tenant_id: str, idempotency_key: str) -> str:
    return f"{tenant_id}#EFFECT#{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"


def _what(effect: str) -> str:
    return "SMS" if effect == "SMS" else effect.lower().replace("_", " ")


def _seconds(at: datetime) -> int:
    return int(at.timestamp())


def once(
    tenant_id: str,
    effect: str,
    idempotency_key: str,
    send: Callable[[], Sent],
    *,
    resend_after: timedelta = RESEND_AFTER,
) -> Sent:
    """``send()``'s answer, asked at most once per key while the key is recorded as sent. ``send``
    raises ``RobotFailed`` when the service certainly did nothing, ``OutcomeUnknown`` (or any other
    error) when it cannot tell."""
    now = clock.now()
    pk = _pk(tenant_id, idempotency_key)
    record = EffectRecord(
        pk=pk,
        sk=effect,
        kind="effect",
        tenant_id=tenant_id,
        state=SENDING,
        started_at=_seconds(now),
        expires_at=_seconds(now + KEPT),
    )
    free = (
        EffectRecord.pk.does_not_exist()
        | (EffectRecord.expires_at < _seconds(now))  # expired, not yet removed by TTL
        | ((EffectRecord.state == SENDING) & (EffectRecord.started_at <= _seconds(now - resend_after)))
    )
    try:
        record.save(condition=free)
    except PutError as error:
        if not condition_failed(error):
            raise
        return _earlier(pk, effect, now, resend_after)
    try:
        sent = send()
    except RobotFailed:
        _release(pk, effect, record.started_at)
        raise
    except Exception as error:
        raise RobotFailed(
            f"whether the {_what(effect)} went out is not known ({error}): "
            f"it is sent again after {int(resend_after.total_seconds())} s",
            retry_after=int(resend_after.total_seconds()),
        ) from error
    EffectRecord(pk=pk, sk=effect).update(
        actions=[
            EffectRecord.state.set(SENT),
            EffectRecord.service_id.set(sent.id),
            EffectRecord.details.set(dict(sent.details)),
        ]
    )
    return sent


def _earlier(pk: str, effect: str, now: datetime, resend_after: timedelta) -> Sent:
    """What the attempt that holds the key did: its answer once sent; else a retryable failure."""
    try:
        found = EffectRecord.get(pk, effect, consistent_read=True)
    except DoesNotExist:  # freed meanwhile by a refusal: the next attempt claims it
        raise RobotFailed(
            f"the {_what(effect)} was refused a moment ago: trying again", retry_after=1
        ) from None
    if found.state == SENT:
        return Sent(found.service_id, found.details or {})
    wait = max(1, int(found.started_at) + int(resend_after.total_seconds()) - _seconds(now))
    raise RobotFailed(
        f"an earlier attempt is sending this {_what(effect)}: it is looked at again in {wait} s",
        retry_after=wait,
    )


def _release(pk: str, effect: str, started_at: int) -> None:
    """Frees the key claimed at ``started_at`` (still ours: not claimed again since)."""
    try:
        EffectRecord(pk=pk, sk=effect).delete(
            condition=(EffectRecord.state == SENDING) & (EffectRecord.started_at == started_at)
        )
    except DeleteError as error:
        if not condition_failed(error):
            raise
