"""Webforms in storage: their definitions as tenant configuration, and what their submissions leave.

Automation table
    form        pk={tenant}#FORMS                 sk={form id}     (the form's JSON form, version)
Items table (runtime data, with the table's TTL)
    rate        pk={tenant}#FORM#{form id}        sk=RATE#{minute}  (submissions taken that minute)
    submission  pk={tenant}#FORM#{form id}        sk=SUB#{at}#{hash of the event id}  (the values sent)

A submission's count and log entry are written with the trigger engine's first write for it, once
per event (``crm.adapters.along``): a duplicate changes neither, and one over the form's limit leaves
nothing behind. The warm container keeps the forms it served for ``CACHED_FOR``: a changed form
reaches every container within that time.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from crm.adapters import warm
from crm.adapters.along import Write
from crm.adapters.items import MAX_PAGE, decode_cursor, encode_cursor
from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord, ItemsTableRecord
from crm.adapters.transactions import condition_failed, refused_as
from crm.domain.errors import Conflict, NotFound, StaleWrite
from crm.domain.forms import Form, TooManySubmissions, tenant_of

CACHED_FOR = 60.0  # seconds


class FormRecord(AutomationRecord):
    form = JSONAttribute()
    version = NumberAttribute()


class FormRateRecord(ItemsTableRecord):
    taken = NumberAttribute()
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL attribute


class FormSubmissionRecord(ItemsTableRecord):
    at = UnicodeAttribute()
    event_id = UnicodeAttribute()
    submission = JSONAttribute()  # the values as read, and where they came from
    expires_at = NumberAttribute()


# form id -> (monotonic time read, form)
_forms: dict[str, tuple[float, Form]] = warm.cache(1000)


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#FORMS"


def _form_pk(form_id: str) -> str:
    return f"{tenant_of(form_id)}#FORM#{form_id}"


def _hash(event_id: str) -> str:
    return hashlib.sha256(event_id.encode()).hexdigest()


def _form(record: FormRecord) -> Form:
    return Form.from_dict({**record.form, "version": int(record.version)})


def _record(form: Form) -> FormRecord:
    data = form.to_dict()
    data.pop("version")
    return FormRecord(pk=_pk(form.tenant_id), sk=form.id, form=data, version=form.version)


# ---------------------------------------------------------------- definitions


def create(form: Form) -> None:
    with refused_as(lambda: Conflict(f"form {form.id!r} exists already")):
        _record(form).save(condition=FormRecord.pk.does_not_exist())
    _forms.pop(form.id, None)


def replace(form: Form) -> None:
    """``form`` stored in place of its previous version (StaleWrite if that changed meanwhile,
    NotFound if it was deleted)."""
    try:
        _record(form).save(condition=FormRecord.version == form.version - 1)
    except PutError as error:
        if condition_failed(error):
            get(form.tenant_id, form.id, cached=False)
            raise StaleWrite(f"form {form.id!r} changed meanwhile; read it and retry") from None
        raise
    _forms.pop(form.id, None)


def get(tenant_id: str, form_id: str, *, cached: bool = True) -> Form:
    """The form (NotFound for none of the tenant's); ``cached``: as this container read it within
    the last minute."""
    kept = _forms.get(form_id)
    if cached and kept is not None and time.monotonic() - kept[0] < CACHED_FOR:
        return kept[1]
    try:
        form = _form(FormRecord.get(_pk(tenant_id), form_id, consistent_read=not cached))
    except DoesNotExist:
        _forms.pop(form_id, None)
        raise NotFound(f"there is no form {form_id!r}") from None
    _forms[form_id] = (time.monotonic(), form)
    return form


def list_all(tenant_id: str) -> list[Form]:
    return readable(FormRecord.query(_pk(tenant_id)), _form, "form")


def delete(tenant_id: str, form_id: str) -> None:
    try:
        FormRecord(pk=_pk(tenant_id), sk=form_id).delete(condition=FormRecord.pk.exists())
    except DeleteError as error:
        if condition_failed(error):
            raise NotFound(f"there is no form {form_id!r}") from None
        raise
    finally:
        _forms.pop(form_id, None)


# ---------------------------------------------------------------- submissions


def _minute(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def _retry_after(at: datetime) -> int:
    return 60 - at.second


def _rate(form: Form, at: datetime) -> tuple[FormRateRecord, list[Action], Condition]:
    """The minute's counter of the form, the update that counts one more, and its limit."""
    record = FormRateRecord(pk=_form_pk(form.id), sk=f"RATE#{_minute(at)}")
    actions = [
        FormRateRecord.taken.add(1),
        FormRateRecord.kind.set("form_rate"),
        FormRateRecord.tenant_id.set(form.tenant_id),
        FormRateRecord.expires_at.set(int(at.timestamp()) + 180),
    ]
    return record, actions, FormRateRecord.taken.does_not_exist() | (FormRateRecord.taken < form.rate_limit)


def _too_many(form: Form, at: datetime) -> TooManySubmissions:
    return TooManySubmissions(
        f"this form takes {form.rate_limit} submissions a minute: retry in a minute", _retry_after(at)
    )


def submitted(
    form: Form, event_id: str, submission: dict[str, Any], at: datetime, kept: timedelta
) -> tuple[Write, ...]:
    """What a submission leaves, written with the trigger engine's first write for it
    (``crm.adapters.along``): its log entry, and its count against the form's limit, which refuses
    the write with TooManySubmissions past the limit of the minute."""
    entry = FormSubmissionRecord(
        pk=_form_pk(form.id),
        sk=f"SUB#{at.isoformat()}#{_hash(event_id)[:16]}",
        kind="form_submission",
        tenant_id=form.tenant_id,
        at=at.isoformat(),
        event_id=event_id,
        submission=submission,
        expires_at=int((at + kept).timestamp()),
    )
    return (Write(entry), *counted(form, at))


def counted(form: Form, at: datetime) -> tuple[Write, ...]:
    """A submission counted against the form's limit and kept nowhere (a bot's), as ``submitted``."""
    record, actions, within = _rate(form, at)
    return (Write(record, actions, within, _too_many(form, at)),)


def submissions(form_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The form's logged submissions, newest first."""
    pk = _form_pk(form_id)
    results = FormSubmissionRecord.query(
        pk,
        FormSubmissionRecord.sk.startswith("SUB#"),
        scan_index_forward=False,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, {"pk": pk}, {"sk": "SUB#"}),
    )
    found = readable(
        results,
        lambda r: {"event_id": r.event_id, "at": r.at, **dict(r.submission)},
        "form submission",
    )
    return found, encode_cursor(results.last_evaluated_key)
