"""CRM webforms: a form's definition, and what a submission means to the CRM.

A form is tenant configuration: its fields, where each one goes on the item (title, emails, phones,
company, amount or a custom field), the item type and pipeline an unknown contact's item is created
in, whether a known contact's open items get the event instead (de-duplication), the origins that
may embed it, its honeypot field, its rate limit and its thank-you page. A submission is read here
against the form: every problem is named per field, so a browser can show them all at once.

The form id names the tenant, ``f_{tenant}_{12 hex digits}`` (tenant ids hold no '_'): the public
route knows the tenant from the id alone, never from the body, and every key begins with it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain.contacts import normal_email, normal_phone
from crm.domain.errors import CrmError, Invalid
from crm.domain.model import MAX_FIELD_TEXT, check_id, check_number
from crm.domain.origins import normal_origin
from crm.domain.trigger_events import Contact, ContactKind
from crm.domain.urls import web_address

FORM_ID_PATTERN = re.compile(r"^f_([a-z0-9][a-z0-9-]{2,39})_([0-9a-f]{12})$")
FIELD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# What the hosted page and the snippet put in the hidden nonce field: one id per page shown, so a
# double-click or a retried post of that page is one submission.
NONCE_FIELD = "_nonce"
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_FIELDS = 50
MAX_ORIGINS = 20
MAX_NAME = 200
MAX_TITLE = 200
MAX_RATE = 600
DEFAULT_RATE = 20
DEFAULT_HONEYPOT = "website_url"


class FormKind(StrEnum):
    FORM = "form"  # *CRM form filled*
    CALLBACK = "callback"  # *callback form filled*

    @property
    def trigger_type(self) -> str:
        return "form_filled" if self is FormKind.FORM else "callback_form_filled"


class FieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    EMAIL = "email"
    PHONE = "phone"
    NUMBER = "number"


# Where a submitted value goes on the item: standard attributes, or ``fields.<code>`` (a custom
# field of the form's item type, checked against the type when the form is saved).
STANDARD_TARGETS = {
    "title": {FieldType.TEXT},
    "emails": {FieldType.EMAIL},
    "phones": {FieldType.PHONE},
    "company": {FieldType.TEXT},
    "amount": {FieldType.NUMBER},
}
# How long a value of each field type may be (an address and a number as the CRM stores them).
MAX_LENGTH = {FieldType.EMAIL: 254, FieldType.PHONE: 40}


class TooManySubmissions(CrmError):
    """The form took its submissions for this minute (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidSubmission(Invalid):
    """A submission the form's rules refuse (HTTP 400): what is wrong, per field."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
        self.problems = dict(problems)


def form_id_for(tenant_id: str, random_hex: str) -> str:
    return check_form_id(f"f_{tenant_id}_{random_hex}")


def check_form_id(form_id: str) -> str:
    if not isinstance(form_id, str) or not FORM_ID_PATTERN.match(form_id):
        raise Invalid(f"form id {form_id!r}: f_{{tenant}}_{{12 hex digits}}")
    return form_id


def tenant_of(form_id: str) -> str:
    """The tenant a form id names (Invalid for anything that is not a form id)."""
    return FORM_ID_PATTERN.match(check_form_id(form_id)).group(1)  # type: ignore[union-attr]


def check_origin(origin: str) -> str:
    """An allowed origin in the form browsers send the Origin header (``crm.domain.origins``)."""
    return normal_origin(origin, "allowed origin")


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Invalid(f"{what}: a text of 1-{limit} characters")
    return value


@dataclass(frozen=True)
class FormField:
    name: str  # the input's name in the HTML form and in the body
    label: str
    type: FieldType
    required: bool = False
    maps_to: str = "title"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not FIELD_NAME_PATTERN.match(self.name):
            raise Invalid(f"field name {self.name!r}: 1-40 lower-case letters, digits or '_', a letter first")
        _text(self.label, f"field {self.name!r}: label", MAX_NAME)
        try:
            object.__setattr__(self, "type", FieldType(self.type))
        except ValueError:
            raise Invalid(f"field {self.name!r}: type is one of {[t.value for t in FieldType]}") from None
        if not isinstance(self.required, bool):
            raise Invalid(f"field {self.name!r}: required is true or false")
        if self.custom_field is not None:
            check_id(self.custom_field, f"field {self.name!r}: custom field")
        elif self.maps_to not in STANDARD_TARGETS:
            raise Invalid(
                f"field {self.name!r}: maps_to is one of {sorted(STANDARD_TARGETS)} or fields.<custom field>"
            )
        elif self.type not in STANDARD_TARGETS[self.maps_to]:
            wanted = sorted(t.value for t in STANDARD_TARGETS[self.maps_to])
            raise Invalid(f"field {self.name!r}: {self.maps_to} takes a field of type {' or '.join(wanted)}")

    @property
    def custom_field(self) -> str | None:
        return self.maps_to.removeprefix("fields.") if self.maps_to.startswith("fields.") else None

    def read(self, raw: str) -> str | float | int:
        """The submitted text as the CRM keeps it (an email lower-cased, a phone in E.164, a
        number parsed), or Invalid saying what is wrong with it."""
        value = raw.strip()
        limit = MAX_LENGTH.get(self.type, MAX_TITLE if self.maps_to == "title" else MAX_FIELD_TEXT)
        if len(value) > limit:
            raise Invalid(f"at most {limit} characters")
        match self.type:
            case FieldType.EMAIL:
                return normal_email(value)
            case FieldType.PHONE:
                return normal_phone(value)
            case FieldType.NUMBER:
                try:
                    number = float(value.replace(",", "."))
                except ValueError:
                    raise Invalid(f"{raw!r} is not a number") from None
                if not math.isfinite(number):
                    raise Invalid(f"{raw!r} is not a number")
                check_number(number, "the number")
                return int(number) if number.is_integer() else number
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type.value,
            "required": self.required,
            "maps_to": self.maps_to,
        }


@dataclass(frozen=True)
class Submission:
    """A submission read against its form: the values by field name (absent: left empty), the
    page's nonce if it had one, and whether the honeypot was filled (a bot)."""

    values: dict[str, Any]
    nonce: str | None = None
    bot: bool = False


@dataclass(frozen=True)
class Form:
    id: str
    name: str
    kind: FormKind
    fields: tuple[FormField, ...]
    item_type: str
    pipeline_id: str
    dedupe: bool = True
    allowed_origins: tuple[str, ...] = ()
    honeypot: str = DEFAULT_HONEYPOT
    rate_limit: int = DEFAULT_RATE  # submissions per minute
    thank_you_url: str | None = None
    responsible_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    def __post_init__(self) -> None:
        check_form_id(self.id)
        _text(self.name, "name", MAX_NAME)
        try:
            object.__setattr__(self, "kind", FormKind(self.kind))
        except ValueError:
            raise Invalid(f"kind: one of {[k.value for k in FormKind]}") from None
        if not isinstance(self.fields, tuple | list) or not 1 <= len(self.fields) <= MAX_FIELDS:
            raise Invalid(f"fields: 1-{MAX_FIELDS} fields")
        object.__setattr__(self, "fields", tuple(self.fields))
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise Invalid("fields: each field name once")
        for target in ("company", "amount"):
            if sum(f.maps_to == target for f in self.fields) > 1:
                raise Invalid(f"fields: at most one field maps to {target}")
        custom = [f.custom_field for f in self.fields if f.custom_field is not None]
        if len(set(custom)) != len(custom):
            raise Invalid("fields: at most one field maps to each custom field")
        if self.kind is FormKind.CALLBACK and not any(f.maps_to == "phones" for f in self.fields):
            raise Invalid("a callback form asks for a phone: give a field that maps to phones")
        for name in ("item_type", "pipeline_id"):
            check_id(getattr(self, name), name)
        if self.responsible_id is not None:
            check_id(self.responsible_id, "responsible_id")
        if not isinstance(self.dedupe, bool):
            raise Invalid("dedupe: true or false")
        if not isinstance(self.allowed_origins, tuple | list) or len(self.allowed_origins) > MAX_ORIGINS:
            raise Invalid(f"allowed_origins: at most {MAX_ORIGINS} origins")
        object.__setattr__(
            self, "allowed_origins", tuple(dict.fromkeys(map(check_origin, self.allowed_origins)))
        )
        if not isinstance(self.honeypot, str) or not FIELD_NAME_PATTERN.match(self.honeypot):
            raise Invalid("honeypot: a field name (lower-case letters, digits or '_', a letter first)")
        if self.honeypot in names:
            raise Invalid(f"honeypot: {self.honeypot!r} is one of the form's fields")
        if isinstance(self.rate_limit, bool) or not isinstance(self.rate_limit, int):
            raise Invalid("rate_limit: a whole number of submissions per minute")
        if not 1 <= self.rate_limit <= MAX_RATE:
            raise Invalid(f"rate_limit: 1-{MAX_RATE} submissions per minute")
        if self.thank_you_url is not None:
            object.__setattr__(self, "thank_you_url", web_address(self.thank_you_url, "thank_you_url"))

    @property
    def tenant_id(self) -> str:
        return tenant_of(self.id)

    @property
    def trigger_type(self) -> str:
        return self.kind.trigger_type

    def admits_origin(self, origin: str, own: str | None) -> bool:
        """A browser's Origin may post: the hosted page's own origin, or one the form allows."""
        try:
            origin = check_origin(origin)
        except Invalid:
            return False  # "null" (a sandboxed page, a file), or garbage
        return origin == own or origin in self.allowed_origins

    # ------------------------------------------------------------ submissions

    def read(self, submitted: Mapping[str, list[str]]) -> Submission:
        """The submission's values checked against the fields: InvalidSubmission naming every
        field that is missing or wrong. Names the form does not have are left out (a submit
        button's name, a site's tracking fields); a field sent twice takes its first value. A
        filled honeypot marks a bot, read like any other submission so that nothing it is
        answered differs from a person's answer."""
        first = {name: values[0] if values else "" for name, values in submitted.items()}
        bot = bool(first.get(self.honeypot, "").strip())
        nonce = first.get(NONCE_FIELD, "").strip() or None
        problems: dict[str, str] = {}
        if nonce is not None and not NONCE_PATTERN.match(nonce):
            problems[NONCE_FIELD] = "16-64 letters, digits, '_' or '-'"
        values: dict[str, Any] = {}
        for form_field in self.fields:
            raw = first.get(form_field.name, "")
            if not raw.strip():
                if form_field.required:
                    problems[form_field.name] = f"{form_field.label} is required"
                continue
            try:
                values[form_field.name] = form_field.read(raw)
            except Invalid as wrong:
                problems[form_field.name] = str(wrong)
        if problems:
            raise InvalidSubmission(problems)
        return Submission(values, nonce, bot)

    def contact(self, submission: Submission) -> Contact | None:
        """Who submitted: the first email given, else the first phone (None: the form asks for
        neither, or they were left empty)."""
        for target, kind in (("emails", ContactKind.EMAIL), ("phones", ContactKind.PHONE)):
            for form_field in self.fields:
                if form_field.maps_to == target and form_field.name in submission.values:
                    return Contact(kind, submission.values[form_field.name])
        return None

    def item_values(self, submission: Submission) -> dict[str, Any]:
        """What ``create_item`` takes for the submission's new item: fields mapped to the title are
        joined by spaces (first and last name); without one, the form's name and the contact."""
        values: dict[str, Any] = {"pipeline_id": self.pipeline_id, "emails": [], "phones": [], "fields": {}}
        title: list[str] = []
        for form_field in self.fields:
            if form_field.name not in submission.values:
                continue
            value = submission.values[form_field.name]
            if form_field.custom_field is not None:
                values["fields"][form_field.custom_field] = value
            elif form_field.maps_to == "title":
                title.append(value)
            elif form_field.maps_to in ("emails", "phones"):
                values[form_field.maps_to].append(value)
            else:
                values[form_field.maps_to] = value
        contact = self.contact(submission)
        fallback = f"{self.name}: {contact.value}" if contact is not None else self.name
        values["title"] = " ".join(title)[:MAX_TITLE] if title else fallback[:MAX_TITLE]
        if self.responsible_id is not None:
            values["responsible_id"] = self.responsible_id
        return values

    def event_id(self, submission: Submission, source_ip: str, at: datetime) -> str:
        """The submission's id as a trigger event: the page's nonce, else a digest of what was sent,
        from where, in which minute, so a double-click or a retry of the same post is one event."""
        if submission.nonce is not None:
            return f"{self.id}.n.{submission.nonce}"
        basis = {
            "form": self.id,
            "values": submission.values,
            "ip": source_ip,
            "minute": at.strftime("%Y-%m-%dT%H:%M"),
        }
        digest = hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()
        return f"{self.id}.d.{digest[:40]}"

    # ------------------------------------------------------------ JSON form

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "fields": [f.to_dict() for f in self.fields],
            "item_type": self.item_type,
            "pipeline_id": self.pipeline_id,
            "dedupe": self.dedupe,
            "allowed_origins": list(self.allowed_origins),
            "honeypot": self.honeypot,
            "rate_limit": self.rate_limit,
            "thank_you_url": self.thank_you_url,
            "responsible_id": self.responsible_id,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Form:
        """A form from its JSON form (stored, or a request's settings with ``id`` added): Invalid
        for anything else, never another error."""
        if not isinstance(data, Mapping):
            raise Invalid("a form is an object")
        known = set(cls.__dataclass_fields__)
        if unknown := set(data) - known:
            raise Invalid(f"a form has no {sorted(unknown)}")
        raw_fields = data.get("fields")
        if not isinstance(raw_fields, list) or not all(isinstance(f, Mapping) for f in raw_fields):
            raise Invalid("fields: a list of objects")
        try:
            fields = tuple(FormField(**f) for f in raw_fields)
            values = {"kind": FormKind.FORM} | {
                k: v for k, v in data.items() if k not in ("fields", "created_at", "updated_at")
            }
            return cls(
                **values,
                fields=fields,
                created_at=_time(data.get("created_at")),
                updated_at=_time(data.get("updated_at")),
            )
        except TypeError as wrong:
            raise Invalid(f"a form's settings: {wrong}") from None

    def replaced(self, settings: Mapping[str, Any], at: datetime) -> Form:
        """The form with new settings (its id and creation kept), at the next version."""
        changed = Form.from_dict({**settings, "id": self.id})
        return replace(changed, created_at=self.created_at, updated_at=at, version=self.version + 1)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid(f"{value!r} is not a date and time") from None
