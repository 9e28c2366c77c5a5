"""Bookings: a booking system reports each booking of a resource (keys of scope items may)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from crm.api.context import tenant_id
from crm.api.schemas import AppliedOut, Body, Email, Id, ItemRefIn, Phone
from crm.domain.trigger_events import EVENT_ID_PATTERN, Contact, ContactKind, ItemRef
from crm.service import bookings

router = Router()


class ContactIn(Body):
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _one(self) -> ContactIn:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give the contact's email or phone (one of them)")
        return self


class BookingIn(Body):
    booking_id: str = Field(
        pattern=EVENT_ID_PATTERN.pattern,
        description="the booking system's id: a booking sent again changes nothing and gets the first answer",
    )
    resource: Id = Field(description="the resource booked: a room, a specialist, a car")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    item: ItemRefIn | None = Field(None, description="the item the booking is for (or contact)")
    contact: ContactIn | None = Field(None, description="the client who booked (or item)")

    @model_validator(mode="after")
    def _item_or_contact(self) -> BookingIn:
        if (self.item is None) == (self.contact is None):
            raise ValueError("name the item or the contact (one of them)")
        return self


class BookingOut(BaseModel):
    booking_id: str
    applied: list[AppliedOut] = Field(description="what the booking did to each item it reached")


@router.post("/bookings", tags=["items"])
def book(body: BookingIn) -> BookingOut:
    """Reports a booking: resource booked triggers of the item's pipeline (or of the contact's open
    items) are tried in stage order. 404 for an unknown item; a contact no item has is journaled."""
    contact = None
    if body.contact is not None:
        kind = ContactKind.EMAIL if body.contact.email is not None else ContactKind.PHONE
        contact = Contact(kind, body.contact.email or body.contact.phone or "")
    item = None if body.item is None else ItemRef(body.item.type, body.item.id)
    applied = bookings.book(
        tenant_id(router), body.booking_id, body.resource, body.starts_at, body.ends_at, item, contact
    )
    return BookingOut(
        booking_id=body.booking_id, applied=[AppliedOut.model_validate(a.to_dict()) for a in applied]
    )
