"""Requisites: the legal details an invoice or a contract needs of the client (legal name, tax id,
registration number, address, bank account), as plain data.

Whose they are (``Holder``): the item's company, or, for a client who is a private person, the
item's contact. In this CRM a company is the name items carry (``Item.company``) and a contact is
an email address (the contact index's key), so requisites are kept per tenant per company name
(compared without case and extra spaces) or per contact email, not per item: the deals, quotes and
invoices of one company share its requisites, a change made on one is seen on all of them, and a
lead converted into a deal keeps them without a copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain.contacts import normal_email
from crm.domain.errors import Invalid
from crm.domain.model import Item

MAX_HOLDER = 200


class HolderKind(StrEnum):
    COMPANY = "company"
    CONTACT = "contact"


@dataclass(frozen=True)
class Holder:
    """Whose requisites: ``key`` compares (a company's name folded, a contact's normal email),
    ``name`` is as the item says it."""

    kind: HolderKind
    key: str
    name: str

    @classmethod
    def company(cls, name: str) -> Holder:
        shown = " ".join(name.split())
        if not shown or len(shown) > MAX_HOLDER:
            raise Invalid(f"a company name of 1 to {MAX_HOLDER} characters")
        return cls(HolderKind.COMPANY, shown.casefold(), shown)

    @classmethod
    def contact(cls, email: str) -> Holder:
        address = normal_email(email)
        return cls(HolderKind.CONTACT, address, address)


def holder_of(item: Item, kind: HolderKind) -> Holder:
    """The item's company, or its contact (its first email); Invalid when it has none."""
    if kind is HolderKind.COMPANY:
        if not item.company or not item.company.strip():
            raise Invalid(f"{item.ref} has no company")
        return Holder.company(item.company)
    if not item.emails:
        raise Invalid(f"{item.ref} has no contact email")
    return Holder.contact(item.emails[0])


# Each value's limit; a value is one line of text, but the address, which may have several.
LIMITS = {
    "legal_name": 300,
    "tax_id": 50,
    "registration_number": 50,
    "address": 1000,
    "bank_name": 200,
    "bank_account": 64,
    "bank_code": 32,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Requisites:
    """The values; None is not known. ``bank_account``: an IBAN or an account number; ``bank_code``:
    BIC/SWIFT, or the national bank code."""

    legal_name: str | None = None
    tax_id: str | None = None
    registration_number: str | None = None
    address: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None
    bank_code: str | None = None

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise Invalid(f"{name}: a text")
            value = value.strip()
            if name != "address" and "\n" in value:
                raise Invalid(f"{name}: one line")
            if len(value) > limit or _CONTROL.search(value):
                raise Invalid(f"{name}: at most {limit} characters, no control characters")
            object.__setattr__(self, name, value or None)

    def changed(self, values: dict[str, str | None]) -> Requisites:
        """These requisites with ``values`` (a name to a value; None or "" clears it)."""
        unknown = set(values) - set(LIMITS)
        if unknown:
            raise Invalid(f"requisites have no {sorted(unknown)}; they have {list(LIMITS)}")
        return Requisites(**{**self.to_dict(), **values})

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def to_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class HeldRequisites:
    """Requisites as stored: whose, the values, and who changed them last, when (``version``
    counts the changes, so that a change made on what was read is refused if another came first)."""

    holder: Holder
    requisites: Requisites
    version: int
    updated_at: datetime
    updated_by: str | None  # an employee, "robot:{rule id}", or None (an API key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "of": self.holder.kind.value,
            "holder": self.holder.name,
            **self.requisites.to_dict(),
            "version": self.version,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }
