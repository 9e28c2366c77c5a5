"""Webforms: forms as tenant configuration, and a submission turned into a trigger event.

A submission becomes a *form filled* (or *callback form filled*) event with the form's id. With
de-duplication on and a contact given, the event goes to the contact's open items, and a contact the
CRM does not know gets a new item in the form's pipeline (``NewItem``); otherwise every submission
creates an item, once per event, and the event is applied to it. The submission is counted against
the form's rate limit and logged (``GET /automation/forms/{id}/submissions``: nothing sent is lost,
whatever the triggers do) in the engine's first write for the event (``along``), once per event. The
sender is answered the submission's id only, the same for a redelivery.

DynamoDB calls per submission, warm (the form and pipeline cached): a known contact's, the contact
index's Query, a BatchGetItem and a transaction per item; a new contact's, the Query, the item id's
UpdateItem, the item's transaction and the decision's. A duplicate of a known contact's: the Query,
the BatchGetItem, the refused transaction and one Query of the answers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from crm.adapters import automation
from crm.adapters import forms as stored
from crm.domain import clock, form_pages
from crm.domain.errors import Conflict, Invalid, NotFound
from crm.domain.forms import FieldType, Form, check_form_id, form_id_for, tenant_of
from crm.domain.model import FieldType as CustomType
from crm.domain.trigger_events import Contact, ContactKind, TriggerEvent
from crm.service.configuration import item_type, referenced_employee, referenced_pipeline
from crm.service.triggers import NewItem, apply_to_new_item, apply_trigger_event, journal_unapplied

SOURCE = "webform"
# Submissions are kept as long as the journal that says what they did.
KEPT = timedelta(days=int(os.environ.get("JOURNAL_KEPT_DAYS") or 90))
# Which custom fields a form field's values fit (enum and date values are checked when the item is made).
FITS = {
    CustomType.STRING: set(FieldType),
    CustomType.NUMBER: {FieldType.NUMBER},
    CustomType.ENUM: {FieldType.TEXT},
    CustomType.DATE: {FieldType.TEXT},
    CustomType.DATETIME: {FieldType.TEXT},
}


# ---------------------------------------------------------------- forms as configuration


def create_form(tenant_id: str, settings: Mapping[str, Any]) -> Form:
    now = clock.now()
    form = Form.from_dict(
        {**settings, "id": form_id_for(tenant_id, secrets.token_hex(6)), "created_at": now, "updated_at": now}
    )
    _check_references(tenant_id, form)
    stored.create(form)
    return form


def forms(tenant_id: str) -> list[Form]:
    return stored.list_all(tenant_id)


def get_form(tenant_id: str, form_id: str) -> Form:
    """The tenant's form; another tenant's id is NotFound, as an unknown one is."""
    if _tenant_of(form_id) != tenant_id:
        raise NotFound(f"there is no form {form_id!r}")
    return stored.get(tenant_id, form_id, cached=False)


def replace_form(tenant_id: str, form_id: str, settings: Mapping[str, Any]) -> Form:
    form = get_form(tenant_id, form_id).replaced(settings, clock.now())
    _check_references(tenant_id, form)
    stored.replace(form)
    return form


def delete_form(tenant_id: str, form_id: str) -> None:
    """Refused (Conflict) while triggers name the form: they could never fire again."""
    form = get_form(tenant_id, form_id)
    users = [
        f"{rule.name!r} in pipeline {pipeline.id!r}"
        for pipeline in automation.list_pipelines(tenant_id, None)
        for rule in automation.load(tenant_id, pipeline.id, fresh=True).triggers_of_type(form.trigger_type)
        if form_id in (rule.params.get("form_ids") or ())
    ]
    if users:
        raise Conflict(f"form {form_id!r} is named by the triggers {', '.join(users)}: change them first")
    stored.delete(tenant_id, form_id)


def snippet(tenant_id: str, form_id: str, url: str) -> str:
    """The HTML a site embeds: the form posting to ``url``, its public address."""
    return form_pages.snippet(get_form(tenant_id, form_id), url)


def submissions(tenant_id: str, form_id: str, limit: int, cursor: str | None):
    """What was sent through the form, newest first (kept as long as the journal)."""
    get_form(tenant_id, form_id)
    return stored.submissions(form_id, limit, cursor)


def _tenant_of(form_id: str) -> str:
    try:
        return tenant_of(form_id)
    except Invalid:
        raise NotFound(f"there is no form {form_id!r}") from None


def _check_references(tenant_id: str, form: Form) -> None:
    """The type, pipeline, custom fields and responsible the form names exist and fit; the type's
    required custom fields are asked for by required form fields, or no item could be made."""
    try:
        definition = item_type(tenant_id, form.item_type)
    except NotFound:
        raise Invalid(f"item_type: {form.item_type!r} does not exist") from None
    pipeline = referenced_pipeline(tenant_id, form.pipeline_id, "pipeline_id").pipeline
    if pipeline.item_type != form.item_type:
        raise Invalid(
            f"pipeline_id: {pipeline.id!r} is a {pipeline.item_type} pipeline, not a {form.item_type} one"
        )
    mapped = {f.custom_field: f for f in form.fields if f.custom_field is not None}
    for code, form_field in mapped.items():
        custom = definition.field(code)
        if custom.multiple or form_field.type not in FITS.get(custom.type, set()):
            raise Invalid(f"field {form_field.name!r}: a {form_field.type} field cannot fill {code!r}")
    for custom in definition.fields:
        if custom.required and not (custom.code in mapped and mapped[custom.code].required):
            raise Invalid(f"fields: {form.item_type} needs {custom.code!r}: map a required field to it")
    if form.responsible_id is not None:
        referenced_employee(tenant_id, form.responsible_id, "responsible_id", acting=True)


# ---------------------------------------------------------------- submissions


def public_form(form_id: str) -> Form:
    """The form a public request names (NotFound for anything that is not one)."""
    try:
        check_form_id(form_id)
    except Invalid:
        raise NotFound(f"there is no form {form_id!r}") from None
    return stored.get(tenant_of(form_id), form_id)


def submit(form: Form, submitted: Mapping[str, list[str]], source_ip: str) -> str:
    """A submission of ``form`` (its fields as sent, from ``source_ip``), taken: its id.
    InvalidSubmission and nothing stored for what the form refuses, TooManySubmissions (nothing
    stored) past its rate limit. What the submission did (the item it reached or created, the
    triggers' verdicts) is the tenant's to read, in the journal and the form's submissions, never
    the sender's: that would tell a known contact from a new one, and a bot that it was caught. So
    a filled honeypot is taken like any other (counted, its id made alike) but only journaled."""
    at = clock.now()
    submission = form.read(submitted)
    event_id = form.event_id(submission, source_ip, at)
    visitor = Contact(ContactKind.VISITOR, source_ip or "unknown")
    if submission.bot:
        event = _event(form, event_id, at, visitor)
        note = f"the honeypot field {form.honeypot!r} was filled: taken for a bot, nothing kept"
        journal_unapplied(event, note, now=at, along=stored.counted(form, at))
        return event_id
    along = stored.submitted(form, event_id, {"values": submission.values, "ip": source_ip}, at, KEPT)
    contact = form.contact(submission)
    new_item = NewItem(form.item_type, form.item_values(submission))
    if form.dedupe and contact is not None:
        apply_trigger_event(_event(form, event_id, at, contact), now=at, new_item=new_item, along=along)
    else:
        apply_to_new_item(_event(form, event_id, at, contact or visitor), new_item, now=at, along=along)
    return event_id


def _event(form: Form, event_id: str, at: datetime, contact: Contact) -> TriggerEvent:
    return TriggerEvent(
        type=form.trigger_type,
        source=SOURCE,
        event_id=event_id,
        tenant_id=form.tenant_id,
        occurred_at=at,
        contact=contact,
        data={"form_id": form.id},
    )
