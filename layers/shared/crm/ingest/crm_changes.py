"""Source 7, the CRM's own changes: ``ItemUpdated`` events from the bus turned into trigger events.

The fan-out publishes each update of an item (the changed values, old and new, and the change's
cause) to the bus; ``ItemUpdatedRule`` sends it to ``CrmChangesQueue``, whose messages
``IngestCrmChangesFunction`` hands here in batches. One update yields up to two events for the
updated item, by reference: *field value changed* (every changed value but the responsible, custom
fields by their codes, as conditions name them) and *responsible changed*. A pipeline with no
trigger of a type is not asked (``crm.service.crm_changes`` says why).

The event id is the update's own (the stream record's, which stays the same when the fan-out
publishes a record twice, unlike EventBridge's envelope id) with the type, so each redelivery is
applied once. A change made by automation (a trigger or a robot) passes its chain on, one cause
longer, and a person's change starts none: automation that keeps firing itself stops at the
transition policy's chain bound, journaled as ``chain_too_deep``.

A message that is not an update the fan-out could have published can never be applied: it is
reported as a failure of its own, so SQS delivers it again and then keeps it in the dead-letter
queue (which alarms) for an operator, while the rest of the batch is applied.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError

from crm import batches
from crm.domain.errors import Invalid
from crm.domain.events import published
from crm.domain.trigger_events import MAX_DATA_BYTES, ItemRef, TriggerEvent
from crm.service import crm_changes
from crm.service.triggers import Applied, apply_trigger_event
from crm.triggers.field_changed import FIELD_CHANGED, FieldChangedData
from crm.triggers.responsible_changed import RESPONSIBLE_CHANGED, ResponsibleData

logger = Logger()

SOURCE = "crm_changes"
DETAIL_TYPE = "ItemUpdated"
RESPONSIBLE = "responsible_id"
CUSTOM_FIELD = "fields."  # how the fan-out names a custom field's change: fields.<code>


@dataclass(frozen=True)
class ItemUpdate:
    """One ``ItemUpdated`` event as the fan-out publishes it."""

    event_id: str
    tenant_id: str
    item: ItemRef
    pipeline_id: str
    at: datetime
    changes: Mapping[str, Mapping[str, Any]]  # {"old", "new"} by the names conditions use
    chain: tuple[str, ...]  # the chain that the triggers this update fires continue

    @classmethod
    def of(cls, envelope: Any) -> ItemUpdate:
        """From the EventBridge event (as the rule delivers it); Invalid for anything else."""
        update = published(envelope, (DETAIL_TYPE,))
        return cls(
            event_id=update.detail["event_id"],
            tenant_id=update.tenant_id,
            item=update.item,
            pipeline_id=update.pipeline_id,
            at=update.at,
            changes=_changes(update.detail.get("changes")),
            chain=update.chain,
        )

    def event(self, type_code: str, data: BaseModel) -> TriggerEvent:
        return TriggerEvent(
            type=type_code,
            source=SOURCE,
            event_id=f"{self.event_id}:{type_code}",
            tenant_id=self.tenant_id,
            occurred_at=self.at,
            item=self.item,
            data=data.model_dump(),
            chain=self.chain,
        )


def _changes(changes: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(changes, dict) or not changes:
        raise Invalid("detail.changes: an object naming at least one change")
    named = {}
    for name, change in changes.items():
        if not isinstance(change, dict) or set(change) != {"old", "new"}:
            raise Invalid(f"detail.changes.{name}: an object with old and new")
        named[name.removeprefix(CUSTOM_FIELD)] = change
    return named


def _data[T: BaseModel](model: type[T], values: dict[str, Any], what: str) -> T:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise Invalid(f"{what}: {problems}") from None


def _size(data: Mapping[str, Any]) -> int:
    return len(json.dumps(data, ensure_ascii=False).encode())


def trigger_events(update: ItemUpdate, watched: Callable[[], Collection[str]]) -> list[TriggerEvent]:
    """The update's *field value changed* and *responsible changed* events. Changes too big for an
    event together are narrowed to those ``watched()`` (the fields the item's pipeline watches):
    only those can fire a trigger."""
    events = []
    fields = {name: change for name, change in update.changes.items() if name != RESPONSIBLE}
    if fields and _size({"changes": fields}) > MAX_DATA_BYTES:
        keep = watched()
        fields = {name: change for name, change in fields.items() if name in keep}
    if fields:
        data = _data(FieldChangedData, {"changes": fields}, "detail.changes")
        events.append(update.event(FIELD_CHANGED.code, data))
    if RESPONSIBLE in update.changes:
        data = _data(ResponsibleData, dict(update.changes[RESPONSIBLE]), f"detail.changes.{RESPONSIBLE}")
        events.append(update.event(RESPONSIBLE_CHANGED.code, data))
    return events


def handle(body: str) -> list[Applied]:
    """One message of the queue: the update it carries, applied to its item by the triggers of the
    types its pipeline has."""
    try:
        envelope = json.loads(body)
    except (TypeError, ValueError):
        raise Invalid("the message body is not JSON") from None
    update = ItemUpdate.of(envelope)
    tenant_id, pipeline_id = update.tenant_id, update.pipeline_id
    events = list(trigger_events(update, lambda: crm_changes.watched_fields(tenant_id, pipeline_id)))
    present = (
        crm_changes.trigger_types(tenant_id, pipeline_id, {event.type for event in events})
        if events
        else set()
    )
    applied: list[Applied] = []
    for event in events:
        if event.type in present:
            applied += apply_trigger_event(event)
    return applied


def handle_batch(records: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """An SQS batch: each message applied on its own; those that fail are reported
    (``ReportBatchItemFailures``), so that SQS delivers only them again."""
    return batches.each(records, handle, logger, "an item update")
