"""Use-cases on items: create, read, update, delete, list, find by contact, move stage, timeline."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

from crm.adapters import automation, items, warm
from crm.adapters.along import Companions
from crm.adapters.items import Basis, Once
from crm.domain import clock
from crm.domain.contacts import normal_email, normal_phone
from crm.domain.errors import (
    AlreadyRecorded,
    CrmError,
    Invalid,
    MoveRefused,
    NotFound,
    StaleWrite,
    Throttled,
)
from crm.domain.model import (
    Cause,
    CauseKind,
    Employee,
    Item,
    ItemSummary,
    TimelineEntry,
    TimelineKind,
    entry_id,
)
from crm.domain.rules import PipelineConfig
from crm.domain.transitions import MoveRequest, TransitionPolicy, moved
from crm.service.configuration import (
    default_pipeline_id,
    item_type,
    referenced_employee,
    referenced_pipeline,
)

POLICY = TransitionPolicy()


def _contacts(values: dict[str, Any]) -> dict[str, Any]:
    """Emails lower-cased and phones in E.164, without duplicates, as the contact index keys them."""
    out = dict(values)
    for kind, normal in (("emails", normal_email), ("phones", normal_phone)):
        if values.get(kind) is not None:
            if len(values[kind]) > Item.MAX_CONTACTS:
                raise Invalid(f"{kind}: an item has at most {Item.MAX_CONTACTS} {kind}")
            out[kind] = list(dict.fromkeys(normal(v) for v in values[kind]))
    return out


def _check_actor(tenant_id: str, employee_id: str | None, field: str) -> None:
    """An employee named as responsible or as the one acting exists and is active."""
    if employee_id is not None:
        referenced_employee(tenant_id, employee_id, field, acting=True)


# The employees creates named, as this container last found them active. A create naming one again
# (a form's or the mail source's responsible, on every submission) takes the copy and its write checks
# that the record is still that copy (``Basis.employees``), instead of reading it first.
_active_employees: dict[tuple[str, str], Employee] = warm.cache(limit=4096)


def _actors(tenant_id: str, named: dict[str, str | None], fresh: bool) -> tuple[Employee, ...]:
    """The copies of the employees ``named`` (field: id, or None) to check in the write; each one not
    kept (or every one, ``fresh``) is read now and must exist and be active (Invalid otherwise)."""
    copies, handled = [], set()
    for field, employee_id in named.items():
        if employee_id is None or employee_id in handled:  # one check per record, whatever its roles
            continue
        handled.add(employee_id)
        key = (tenant_id, employee_id)
        if not fresh and (kept := _active_employees.get(key)) is not None:
            copies.append(kept)
            continue
        _active_employees.pop(key, None)
        _active_employees[key] = referenced_employee(tenant_id, employee_id, field, acting=True)
    return tuple(copies)


def on_current_pipeline[T](
    tenant_id: str,
    pipeline_of: Callable[[bool], str],
    stage_id: str | None,
    write: Callable[[PipelineConfig, bool], T],
) -> T:
    """``write(config, retry)``, decided on the warm container's copy of the pipeline
    ``pipeline_of(retry)`` names (and of whatever else ``write`` reads with ``fresh=retry``) and
    checked by version in the write itself; when something changed meanwhile, once more on fresh
    copies. A stage the copy does not know may have been added since: that reloads at once."""
    for retry in (False, True):
        pipeline_id = pipeline_of(retry)
        config = automation.load(tenant_id, pipeline_id, fresh=retry)
        if not retry and stage_id and not config.pipeline.has_stage(stage_id):
            config = automation.load(tenant_id, pipeline_id, fresh=True)
        try:
            return write(config, retry)
        except StaleWrite:
            automation.forget(tenant_id, pipeline_id)
            if retry:
                raise
        except (MoveRefused, Invalid, NotFound):
            # Refused on the container's copy: a change made elsewhere (stages reordered, a stage
            # reopened or added) may be why, and the write never saw it. Only a fresh copy refuses.
            if retry:
                raise
            automation.forget(tenant_id, pipeline_id)
    raise AssertionError("unreachable")


# How long a retry with the same Idempotency-Key gets the first answer (the record then expires).
IDEMPOTENCY_KEPT = timedelta(hours=24)


def request_digest(value: Any) -> str:
    """A request's fingerprint for its once-record: the same request, the same digest."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def create_item(
    tenant_id: str,
    type_code: str,
    values: dict[str, Any],
    by: str | None = None,
    idempotency_key: str | None = None,
    along: Companions | None = None,
    cause: Cause | None = None,
) -> Item:
    """An item in the first stage of its pipeline, or in ``stage_id``: a final stage (created won or
    lost) only with ``allow_final``, so that a typo in a stage id does not close a new item.

    With an ``idempotency_key``, once per key within a day: a retry with the same key and request
    gets the item the first one created, as it was then, and creates nothing (its id number is
    skipped); the same key with another request is Invalid. ``along``: a trigger source's records,
    written with the item (``crm.adapters.along``). ``cause``: automation that creates it (a robot,
    with its chain), which its ``ItemCreated`` carries on."""
    if idempotency_key is None:
        return _create(tenant_id, type_code, values, by, None, along, cause)
    once = Once(
        f"create-item:{request_digest(idempotency_key)}",
        request_digest({"type": type_code, "values": values, "by": by}),
        clock.now(),
        IDEMPOTENCY_KEPT,
    )
    for _ in range(2):
        try:
            return _create(tenant_id, type_code, values, by, once, along, cause)
        except AlreadyRecorded:
            if (done := items.done_once(tenant_id, once.source)) is None:
                continue  # expired between the refused write and this read: create it now
        except Throttled:
            raise
        except CrmError:
            # The retry of a create that succeeded may be refused today (its responsible deactivated,
            # its stage deleted, a field made required since): the stored answer comes first, or the
            # client would take the refusal for "not created" and create the item again.
            if (done := items.done_once(tenant_id, once.source)) is None:
                raise
        request_hash, created = done
        if request_hash != once.request_hash:
            raise Invalid("this Idempotency-Key was used with another request") from None
        return created
    raise StaleWrite("the Idempotency-Key's record changed twice meanwhile; retry the request")


def _create(
    tenant_id: str,
    type_code: str,
    values: dict[str, Any],
    by: str | None,
    once: Once | None,
    along: Companions | None = None,
    cause: Cause | None = None,
) -> Item:
    # The type, the default pipeline and the pipeline come from the warm container's cache; the
    # write checks all three (``Basis``), and a retry reads them afresh.
    item_type(tenant_id, type_code, fresh=False)
    named = values.get("pipeline_id")
    if named:
        named = referenced_pipeline(tenant_id, named, "pipeline_id").pipeline.id
    actors = {"responsible_id": values.get("responsible_id"), "by": by}
    copies = _actors(tenant_id, actors, fresh=False)
    values = _contacts(values)
    # Allocated once the stage is known to be valid, and kept if the write is retried.
    item_id = cache(lambda: items.next_id(tenant_id, type_code))

    def pipeline_of(retry: bool) -> str:
        return named or default_pipeline_id(tenant_id, type_code, fresh=retry)

    def write(config: PipelineConfig, retry: bool) -> Item:
        # A refusal here on the container's copy of the type (a field added since) is decided again
        # on the stored one by ``on_current_pipeline``; so is a write whose copy of an employee changed
        # since, on the employee as stored (read then, and checked no more: as a read before a write is).
        definition = item_type(tenant_id, type_code, fresh=retry)
        checked = _actors(tenant_id, actors, fresh=True) if retry else copies
        fields = definition.coerce_fields(values.get("fields") or {}, complete=True)
        pipeline = config.pipeline
        if pipeline.item_type != type_code:
            raise Invalid(
                f"pipeline {pipeline.id!r} is a {pipeline.item_type} pipeline, not a {type_code} one"
            )
        stage = pipeline.stage(values["stage_id"]) if values.get("stage_id") else pipeline.first_stage
        if stage.is_final and not values.get("allow_final"):
            raise Invalid(
                f"stage_id: {stage.id!r} is a final stage; creating an item there needs allow_final"
            )
        now = clock.now()
        # Judged as a draft first: a refused item must not use up an id number (ids are what users see).
        draft = Item(
            type=type_code,
            id="0",
            pipeline_id=pipeline.id,
            stage_id=stage.id,
            title=values["title"],
            created_at=now,
            updated_at=now,
            amount=values.get("amount"),
            currency=values.get("currency"),
            responsible_id=values.get("responsible_id"),
            emails=values.get("emails") or [],
            phones=values.get("phones") or [],
            company=values.get("company"),
            fields=fields,
            stage_entered_at=now,
            last_change=cause,
        )
        draft.check_limits()  # its size does not depend on the id
        item = replace(draft, id=item_id())
        entry = TimelineEntry(
            entry_id(), TimelineKind.CREATED, now, by, {"stage": stage.id, "pipeline": pipeline.id}
        )
        basis = Basis(config.version, definition.version, default_pipeline=not named, employees=checked)
        items.create(tenant_id, item, entry, basis, once, along)
        return item

    return on_current_pipeline(tenant_id, pipeline_of, values.get("stage_id"), write)


def get_item(tenant_id: str, type_code: str, item_id: str) -> Item:
    return items.get(tenant_id, type_code, item_id)


def update_item(
    tenant_id: str,
    type_code: str,
    item_id: str,
    changes: dict[str, Any],
    by: str | None = None,
    expected_version: int | None = None,
) -> Item:
    """Changes editable fields; custom fields merge (a null value clears one)."""
    before = items.get(tenant_id, type_code, item_id)
    if expected_version is not None and expected_version != before.version:
        raise StaleWrite(f"{before.ref} is at version {before.version}, not {expected_version}")
    _check_actor(tenant_id, by, "by")
    edit = edited(tenant_id, before, changes, Cause(CauseKind.API, ref=by), by)
    if edit is None:
        return before
    after, entry = edit
    items.replace_item(tenant_id, before, after, entry)
    return after


def edited(
    tenant_id: str, before: Item, changes: dict[str, Any], cause: Cause, by: str | None
) -> tuple[Item, TimelineEntry] | None:
    """The item after ``changes`` (editable values; custom fields merge, a null clears one) made for
    ``cause``, and the timeline entry recording them; None when nothing changes. Invalid for values
    its type refuses or a responsible who cannot be one. Writes nothing."""
    changes = _contacts(changes)
    if "responsible_id" in changes:
        _check_actor(tenant_id, changes["responsible_id"], "responsible_id")
    fields = dict(before.fields)
    if "fields" in changes:
        coerced = item_type(tenant_id, before.type).coerce_fields(changes.pop("fields") or {}, complete=False)
        fields.update(coerced)
        fields = {k: v for k, v in fields.items() if v is not None}
    simple = {k: v for k, v in changes.items() if k in Item.EDITABLE}
    if "title" in simple and not simple["title"]:
        raise Invalid("title must not be empty")
    candidate = replace(before, **simple, fields=fields)
    candidate.check_limits()
    diff = before.changes_to(candidate)
    if not diff:
        return None
    now = clock.now()
    after = replace(candidate, version=before.version + 1, updated_at=now, last_change=cause)
    entry = TimelineEntry(
        entry_id(),
        TimelineKind.FIELDS_CHANGED,
        now,
        by,
        {"changes": {name: {"old": old, "new": new} for name, (old, new) in diff.items()}},
    )
    return after, entry


def move_stage(tenant_id: str, type_code: str, item_id: str, request: MoveRequest) -> tuple[Item, bool]:
    """The item after the move, and whether it moved (False: it was in that stage already)."""
    item = items.get(tenant_id, type_code, item_id)

    def write(config: PipelineConfig, retry: bool) -> tuple[Item, bool]:
        current = items.get(tenant_id, type_code, item_id) if retry else item
        try:
            target = POLICY.decide(current, config.pipeline, request)
        except MoveRefused as refusal:
            # Journaled once: the refusal on the fresh copy is the one that stands.
            if retry and request.cause.kind is not CauseKind.API:
                _journal_refusal(tenant_id, current, request, refusal)
            raise
        if target is None:
            return current, False
        after, entry = moved(current, target, request, clock.now(), entry_id())
        after = replace(after, version=current.version + 1)
        items.replace_item(tenant_id, current, after, entry, Basis(config.version))
        return after, True

    return on_current_pipeline(tenant_id, lambda retry: item.pipeline_id, request.to_stage, write)


def _journal_refusal(tenant_id: str, item: Item, request: MoveRequest, refusal: MoveRefused) -> None:
    entry = TimelineEntry(
        entry_id(),
        TimelineKind.MOVE_REFUSED,
        clock.now(),
        request.by,
        {
            "to": request.to_stage,
            "reason": refusal.reason,
            "message": str(refusal),
            "cause": request.cause.to_dict(),
        },
    )
    items.add_entry(tenant_id, item, entry)


def manual_move(
    tenant_id: str, type_code: str, item_id: str, to_stage: str, by: str | None, allow_backwards: bool
):
    _check_actor(tenant_id, by, "by")
    request = MoveRequest(to_stage, Cause(CauseKind.API, ref=by), by=by, allow_backwards=allow_backwards)
    return move_stage(tenant_id, type_code, item_id, request)


def delete_item(tenant_id: str, type_code: str, item_id: str) -> None:
    items.delete(tenant_id, items.get(tenant_id, type_code, item_id))


def add_comment(tenant_id: str, type_code: str, item_id: str, text: str, by: str | None) -> TimelineEntry:
    item = items.get(tenant_id, type_code, item_id)
    _check_actor(tenant_id, by, "by")
    entry = TimelineEntry(entry_id(), TimelineKind.COMMENT, clock.now(), by, {"text": text})
    items.add_entry(tenant_id, item, entry)
    return entry


def find_by_contact(tenant_id: str, email: str | None, phone: str | None) -> list[ItemSummary]:
    if (email is None) == (phone is None):
        raise Invalid("give exactly one of email or phone")
    key = f"email:{normal_email(email)}" if email is not None else f"phone:{normal_phone(phone)}"
    return items.find_by_contact(tenant_id, key)


def list_items(
    tenant_id: str,
    type_code: str,
    pipeline_id: str | None,
    stage_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Item], str | None, str | None]:
    """A page of the items in a pipeline (the type's default one unless named), and the pipeline
    listed; a type without pipelines has no items: an empty page, and no pipeline."""
    item_type(tenant_id, type_code)
    if pipeline_id:
        pipeline = referenced_pipeline(tenant_id, pipeline_id, "pipeline_id").pipeline
        if pipeline.item_type != type_code:
            raise Invalid(f"pipeline_id: {pipeline.id!r} is a {pipeline.item_type} pipeline")
    elif (default_id := automation.default_pipeline_id(tenant_id, type_code)) is not None:
        pipeline = automation.load(tenant_id, default_id).pipeline
    else:
        return [], None, None
    if stage_id is not None and not pipeline.has_stage(stage_id):
        # The container's copy may predate a stage added elsewhere: only a fresh copy says "no stage".
        automation.load(tenant_id, pipeline.id, fresh=True).pipeline.stage(stage_id)
    found, next_cursor = items.list_in_pipeline(tenant_id, type_code, pipeline.id, stage_id, limit, cursor)
    return found, next_cursor, pipeline.id


def timeline(tenant_id: str, type_code: str, item_id: str, limit: int, cursor: str | None):
    return items.timeline(tenant_id, items.get(tenant_id, type_code, item_id), limit, cursor)
