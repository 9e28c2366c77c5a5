"""Logging a call or an email on an item (source 8 of the triggers): the activity goes on the
timeline, and an outgoing one fires its trigger by reference: a call *outgoing call* (with its
duration), an email *email sent to client*. Incoming ones fire nothing in this issue.

With an Idempotency-Key it is logged once: a retry within a day gets the first answer (the trigger
event applied again is a redelivery, answered from its once-record); the same key with another
request is Invalid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.adapters import activities, items
from crm.adapters.items import Once
from crm.domain import clock
from crm.domain.activities import Activity, ActivityKind, Direction
from crm.domain.errors import AlreadyRecorded, Invalid, StaleWrite
from crm.domain.model import TimelineEntry, TimelineKind, entry_id
from crm.domain.trigger_events import ItemRef, TriggerEvent
from crm.service.configuration import referenced_employee
from crm.service.items import IDEMPOTENCY_KEPT, request_digest
from crm.service.triggers import Applied, apply_trigger_event
from crm.triggers.email_sent import EMAIL_SENT
from crm.triggers.outgoing_call import OUTGOING_CALL

SOURCE = "activity"


@dataclass(frozen=True)
class Logged:
    entry: TimelineEntry
    applied: list[Applied]  # what its trigger event did (none for an incoming activity)


def log_activity(
    tenant_id: str, type_code: str, item_id: str, activity: Activity, idempotency_key: str | None
) -> Logged:
    item = items.get(tenant_id, type_code, item_id)
    if activity.by is not None:
        referenced_employee(tenant_id, activity.by, "by", acting=True)
    now = clock.now()
    at = activity.logged_at(now)
    data = activity.to_dict() | {"at": at.isoformat()}
    entry = TimelineEntry(entry_id(), TimelineKind.ACTIVITY, at, activity.by, data)
    answer = {"id": entry.id, "at": entry.at.isoformat(), "by": entry.by, "data": entry.data}
    once = None
    if idempotency_key is not None:
        request = {"item": [item.type, item.id], "activity": activity.to_dict(), "by": activity.by}
        once = Once(
            f"activity:{request_digest(idempotency_key)}", request_digest(request), now, IDEMPOTENCY_KEPT
        )
    for _ in range(2):
        try:
            activities.record(tenant_id, item, entry, once, answer)
            return Logged(entry, _fire(tenant_id, ItemRef(item.type, item.id), entry))
        except AlreadyRecorded:
            assert once is not None
            if (done := activities.done_once(tenant_id, once.source)) is None:
                continue  # expired between the refused write and this read: log it now
            request_hash, first = done
            if request_hash != once.request_hash:
                raise Invalid("this Idempotency-Key was used with another request") from None
            earlier = TimelineEntry(
                first["id"],
                TimelineKind.ACTIVITY,
                datetime.fromisoformat(first["at"]),
                first["by"],
                first["data"],
            )
            return Logged(earlier, _fire(tenant_id, ItemRef(item.type, item.id), earlier))
    raise StaleWrite("the Idempotency-Key's record changed twice meanwhile; retry the request")


def _fire(tenant_id: str, ref: ItemRef, entry: TimelineEntry) -> list[Applied]:
    """The trigger event of an outgoing activity, by reference, its id the activity's."""
    data = entry.data
    if data["direction"] != Direction.OUTGOING:
        return []
    if data["kind"] == ActivityKind.CALL:
        type_code, event_data = OUTGOING_CALL.code, {"duration_seconds": data.get("duration_seconds")}
    else:
        type_code, event_data = (
            EMAIL_SENT.code,
            {"message_id": data.get("message_id") or f"activity:{entry.id}"},
        )
    event = TriggerEvent(
        type=type_code,
        source=SOURCE,
        event_id=f"activity:{entry.id}",
        tenant_id=tenant_id,
        occurred_at=entry.at,
        item=ref,
        data=event_data,
    )
    return apply_trigger_event(event)
