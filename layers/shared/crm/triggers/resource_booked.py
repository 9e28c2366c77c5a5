"""*Resource booked*: the client booked a resource (a room, a specialist, a car), any or those chosen."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import MAX_IDS, EventData, Id, Params


class BookingParams(Params):
    resource_ids: list[Id] = Field(default=[], max_length=MAX_IDS, description="none: any resource")


class BookingData(EventData):
    resource_id: Id
    # When the resource is booked for (kept in the journal with the event; triggers do not filter on it).
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


def booking_matches(data: BookingData, params: BookingParams) -> bool:
    return not params.resource_ids or data.resource_id in params.resource_ids


RESOURCE_BOOKED = CATALOGUE.register(
    RuleType(
        "resource_booked",
        RuleKind.TRIGGER,
        "Resource booked",
        BookingParams,
        "The client booked a resource: any resource, or one of those chosen.",
        BookingData,
        booking_matches,
    )
)
