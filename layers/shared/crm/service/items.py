"""Use-cases on items: create, read, update, delete, list, find by contact, move stage, timeline."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from crm.adapters import automation, items
from crm.domain import clock
from crm.domain.contacts import normal_email, normal_phone
from crm.domain.errors import Invalid, MoveRefused, StaleWrite
from crm.domain.model import Cause, CauseKind, Item, TimelineEntry, TimelineKind
from crm.domain.rules import PipelineConfig
from crm.domain.transitions import MoveRequest, TransitionPolicy, moved
from crm.service.configuration import default_pipeline, item_type

POLICY = TransitionPolicy()


def _entry_id() -> str:
    return secrets.token_hex(8)


def _contacts(values: dict[str, Any]) -> dict[str, Any]:
    """Emails lower-cased and phones in E.164, without duplicates, as the contact index keys them."""
    out = dict(values)
    if values.get("emails") is not None:
        out["emails"] = list(dict.fromkeys(normal_email(e) for e in values["emails"]))
    if values.get("phones") is not None:
        out["phones"] = list(dict.fromkeys(normal_phone(p) for p in values["phones"]))
    return out


def _check_responsible(tenant_id: str, employee_id: str | None) -> None:
    if employee_id is not None:
        automation.get_employee(tenant_id, employee_id)


def _on_current_pipeline[T](
    tenant_id: str, pipeline_id: str, stage_id: str | None, write: Callable[[PipelineConfig, bool], T]
) -> T:
    """``write(config, retry)``, decided on the warm container's copy of the pipeline and checked by
    its version in the write itself; when the pipeline (or the item) changed meanwhile, once more on
    a fresh copy. A stage the copy does not know may have been added since: that reloads at once."""
    for retry in (False, True):
        config = automation.load(tenant_id, pipeline_id, fresh=retry)
        if not retry and stage_id and not config.pipeline.has_stage(stage_id):
            config = automation.load(tenant_id, pipeline_id, fresh=True)
        try:
            return write(config, retry)
        except StaleWrite:
            automation.forget(tenant_id, pipeline_id)
            if retry:
                raise
    raise AssertionError("unreachable")


def create_item(tenant_id: str, type_code: str, values: dict[str, Any], by: str | None = None) -> Item:
    definition = item_type(tenant_id, type_code)
    pipeline_id = values.get("pipeline_id") or default_pipeline(tenant_id, type_code).id
    _check_responsible(tenant_id, values.get("responsible_id"))
    values = _contacts(values)
    fields = definition.coerce_fields(values.get("fields") or {}, complete=True)
    # Allocated once the stage is known to be valid, and kept if the write is retried.
    item_id = cache(lambda: items.next_id(tenant_id, type_code))

    def write(config: PipelineConfig, retry: bool) -> Item:
        pipeline = config.pipeline
        if pipeline.item_type != type_code:
            raise Invalid(
                f"pipeline {pipeline_id!r} is a {pipeline.item_type} pipeline, not a {type_code} one"
            )
        stage = pipeline.stage(values["stage_id"]) if values.get("stage_id") else pipeline.first_stage
        now = clock.now()
        item = Item(
            type=type_code,
            id=item_id(),
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
        )
        entry = TimelineEntry(
            _entry_id(), TimelineKind.CREATED, now, by, {"stage": stage.id, "pipeline": pipeline.id}
        )
        items.create(tenant_id, item, entry, pipeline_version=config.version)
        return item

    return _on_current_pipeline(tenant_id, pipeline_id, values.get("stage_id"), write)


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
    changes = _contacts(changes)
    if "responsible_id" in changes:
        _check_responsible(tenant_id, changes["responsible_id"])
    fields = dict(before.fields)
    if "fields" in changes:
        coerced = item_type(tenant_id, type_code).coerce_fields(changes.pop("fields") or {}, complete=False)
        fields.update(coerced)
        fields = {k: v for k, v in fields.items() if v is not None}
    simple = {k: v for k, v in changes.items() if k in Item.EDITABLE}
    if "title" in simple and not simple["title"]:
        raise Invalid("title must not be empty")
    candidate = replace(before, **simple, fields=fields)
    diff = before.changes_to(candidate)
    if not diff:
        return before
    now = clock.now()
    after = replace(candidate, version=before.version + 1, updated_at=now)
    entry = TimelineEntry(
        _entry_id(),
        TimelineKind.FIELDS_CHANGED,
        now,
        by,
        {"changes": {name: {"old": old, "new": new} for name, (old, new) in diff.items()}},
    )
    items.replace_item(tenant_id, before, after, entry)
    return after


def move_stage(tenant_id: str, type_code: str, item_id: str, request: MoveRequest) -> tuple[Item, bool]:
    """The item after the move, and whether it moved (False: it was in that stage already)."""
    item = items.get(tenant_id, type_code, item_id)

    def write(config: PipelineConfig, retry: bool) -> tuple[Item, bool]:
        current = items.get(tenant_id, type_code, item_id) if retry else item
        try:
            target = POLICY.decide(current, config.pipeline, request)
        except MoveRefused as refusal:
            if request.cause.kind is not CauseKind.API:
                _journal_refusal(tenant_id, current, request, refusal)
            raise
        if target is None:
            return current, False
        after, entry = moved(current, target, request, clock.now(), _entry_id())
        after = replace(after, version=current.version + 1)
        items.replace_item(tenant_id, current, after, entry, pipeline_version=config.version)
        return after, True

    return _on_current_pipeline(tenant_id, item.pipeline_id, request.to_stage, write)


def _journal_refusal(tenant_id: str, item: Item, request: MoveRequest, refusal: MoveRefused) -> None:
    entry = TimelineEntry(
        _entry_id(),
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
    if by is not None:
        automation.get_employee(tenant_id, by)
    request = MoveRequest(to_stage, Cause(CauseKind.API, ref=by), by=by, allow_backwards=allow_backwards)
    return move_stage(tenant_id, type_code, item_id, request)


def delete_item(tenant_id: str, type_code: str, item_id: str) -> None:
    items.delete(tenant_id, items.get(tenant_id, type_code, item_id))


def add_comment(tenant_id: str, type_code: str, item_id: str, text: str, by: str | None) -> TimelineEntry:
    item = items.get(tenant_id, type_code, item_id)
    if by is not None:
        automation.get_employee(tenant_id, by)
    entry = TimelineEntry(_entry_id(), TimelineKind.COMMENT, clock.now(), by, {"text": text})
    items.add_entry(tenant_id, item, entry)
    return entry


def find_by_contact(tenant_id: str, email: str | None, phone: str | None) -> list[Item]:
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
) -> tuple[list[Item], str | None]:
    item_type(tenant_id, type_code)
    pipeline = (
        automation.load(tenant_id, pipeline_id).pipeline
        if pipeline_id
        else default_pipeline(tenant_id, type_code)
    )
    if pipeline.item_type != type_code:
        raise Invalid(f"pipeline {pipeline.id!r} is a {pipeline.item_type} pipeline")
    if stage_id is not None:
        pipeline.stage(stage_id)
    return items.list_in_pipeline(tenant_id, type_code, pipeline.id, stage_id, limit, cursor)


def timeline(tenant_id: str, type_code: str, item_id: str, limit: int, cursor: str | None):
    return items.timeline(tenant_id, items.get(tenant_id, type_code, item_id), limit, cursor)
