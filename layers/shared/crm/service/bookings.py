"""Resource bookings (a room, a specialist, a car booked by the client) fire *resource booked*
triggers, for the item the booking names or for the items of its contact.

A booking system sends each booking once per ``booking_id``: it is the event's id, so a retry (or
the same booking sent again) changes nothing and gets the first answer, even with another body.
A contact the CRM does not know creates no item: the event is journaled for the tenant."""

from __future__ import annotations

from datetime import datetime

from crm.domain import clock
from crm.domain.errors import Invalid
from crm.domain.trigger_events import Contact, ItemRef, TriggerEvent
from crm.service.triggers import Applied, apply_trigger_event
from crm.triggers.resource_booked import RESOURCE_BOOKED

SOURCE = "booking"


def book(
    tenant_id: str,
    booking_id: str,
    resource_id: str,
    starts_at: datetime,
    ends_at: datetime,
    item: ItemRef | None = None,
    contact: Contact | None = None,
) -> list[Applied]:
    """What the booking did to each item it reached. NotFound (nothing written) for an item named
    that does not exist; Invalid for a booking that ends before it starts."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid("starts_at and ends_at: date-times with a time zone")
    if ends_at <= starts_at:
        raise Invalid("ends_at: after starts_at")
    event = TriggerEvent(
        type=RESOURCE_BOOKED.code,
        source=SOURCE,
        event_id=booking_id,
        tenant_id=tenant_id,
        occurred_at=clock.now(),
        item=item,
        contact=contact,
        data={"resource_id": resource_id, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
    )
    return apply_trigger_event(event, unknown_item_is_an_error=True)
