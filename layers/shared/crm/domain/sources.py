"""Trigger sources that reach items by contact, and what each does with a contact the CRM does not
know: the tenant's setting per source.

Inbound mail (and, in later issues, the site, telephony and chat) reaches the open items of the
person an event came from. When no item has that contact, the source either ignores the event (it
is journaled for the tenant as reaching no item) or creates an item of a type in one of its
pipelines, in its first stage (mail from a new sender: a lead in "Unprocessed"), and the triggers
then apply to that item. Sources whose events carry their own target (a webform names its type
and pipeline, a webhook its item) have no such setting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain.errors import Invalid
from crm.domain.model import check_id

# A new item's title is a name, as long as the API lets a name be.
TITLE_LIMIT = 200


class Source(StrEnum):
    """Every source with settings, in one place: a later source adds itself here."""

    MAIL = "mail"
    TELEPHONY = "telephony"  # every line that has no setting of its own (``crm.domain.telephony``)


class UnknownContact(StrEnum):
    """What a source does when no item has the event's contact."""

    IGNORE = "ignore"
    CREATE_ITEM = "create_item"


@dataclass(frozen=True)
class SourceSettings:
    """A source's setting; ``updated_at`` None is the default of a source never set (ignore)."""

    source: Source
    unknown_contact: UnknownContact = UnknownContact.IGNORE
    item_type: str | None = None
    pipeline_id: str | None = None
    responsible_id: str | None = None  # who the created item is given to (none: nobody yet)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", source_of(self.source))
        try:
            object.__setattr__(self, "unknown_contact", UnknownContact(self.unknown_contact))
        except ValueError:
            choices = ", ".join(repr(u.value) for u in UnknownContact)
            raise Invalid(f"unknown_contact: one of {choices}") from None
        named = {name: getattr(self, name) for name in ("item_type", "pipeline_id", "responsible_id")}
        if self.unknown_contact is UnknownContact.IGNORE:
            if given := [name for name, value in named.items() if value is not None]:
                raise Invalid(f"{', '.join(given)}: only with unknown_contact 'create_item'")
            return
        for name in ("item_type", "pipeline_id"):
            if named[name] is None:
                raise Invalid(f"{name}: required with unknown_contact 'create_item'")
        for name, value in named.items():
            if value is not None:
                check_id(value, name)

    def new_item_values(
        self,
        title: str,
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        company: str | None = None,
    ) -> dict[str, Any] | None:
        """What creating the item for an unknown contact takes (``create_item``'s values; no stage:
        the pipeline's first), from what the source knows of the contact; None when it ignores."""
        if self.unknown_contact is UnknownContact.IGNORE:
            return None
        values: dict[str, Any] = {
            "title": " ".join(title.split())[:TITLE_LIMIT] or f"New {self.item_type}",
            "pipeline_id": self.pipeline_id,
            "emails": list(emails),
            "phones": list(phones),
        }
        if company:
            values["company"] = company
        if self.responsible_id is not None:
            values["responsible_id"] = self.responsible_id
        return values

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "unknown_contact": self.unknown_contact.value,
            "item_type": self.item_type,
            "pipeline_id": self.pipeline_id,
            "responsible_id": self.responsible_id,
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceSettings:
        updated_at = data.get("updated_at")
        return cls(
            source=data["source"],
            unknown_contact=data["unknown_contact"],
            item_type=data.get("item_type"),
            pipeline_id=data.get("pipeline_id"),
            responsible_id=data.get("responsible_id"),
            updated_at=None if updated_at is None else datetime.fromisoformat(updated_at),
        )


def source_of(code: Any) -> Source:
    """The source a code names; Invalid for any other code."""
    try:
        return Source(code)
    except ValueError:
        raise Invalid(f"source {code!r}: one of {', '.join(repr(s.value) for s in Source)}") from None
