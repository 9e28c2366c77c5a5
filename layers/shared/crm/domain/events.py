"""The item events the bus carries, derived from an item before and after one write.

Only the items table's stream feeds this (the stream is the outbox): no code path publishes these
events by hand after a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm.domain.errors import Invalid
from crm.domain.model import CauseKind, Item
from crm.domain.trigger_events import ItemRef

SOURCE = "crm.items"
AUTOMATION = (CauseKind.TRIGGER, CauseKind.ROBOT)


@dataclass(frozen=True)
class ItemEvent:
    detail_type: str  # ItemCreated | ItemUpdated | StageChanged | ItemDeleted
    detail: dict[str, Any]


def _head(tenant_id: str, item: Item, event_id: str) -> dict[str, Any]:
    return {
        # The stream record's id: consumers deduplicate on it (a record can be published twice).
        "event_id": event_id,
        "tenant_id": tenant_id,
        "item_type": item.type,
        "item_id": item.id,
        "pipeline_id": item.pipeline_id,
        "stage_id": item.stage_id,
        "version": item.version,
    }


def item_events(tenant_id: str, before: Item | None, after: Item | None, event_id: str) -> list[ItemEvent]:
    if before is None and after is not None:
        cause = after.last_change  # automation that created it (a robot copying an item), if any
        detail = _head(tenant_id, after, event_id) | {
            "title": after.title,
            "cause": None if cause is None else cause.kind.value,
            "cause_ref": None if cause is None else cause.ref,
            "chain": [] if cause is None else list(cause.chain),
            "at": after.created_at.isoformat(),
        }
        return [ItemEvent("ItemCreated", detail)]
    if after is None and before is not None:
        return [ItemEvent("ItemDeleted", _head(tenant_id, before, event_id))]
    assert before is not None and after is not None
    events = []
    changes = before.changes_to(after)
    if changes:
        cause = after.last_change
        detail = _head(tenant_id, after, f"{event_id}:fields") | {
            "changes": {name: {"old": old, "new": new} for name, (old, new) in changes.items()},
            "cause": None if cause is None else cause.kind.value,
            "cause_ref": None if cause is None else cause.ref,
            "chain": [] if cause is None else list(cause.chain),
            "at": after.updated_at.isoformat(),
        }
        events.append(ItemEvent("ItemUpdated", detail))
    if before.stage_id != after.stage_id and after.last_move is not None:
        move = after.last_move
        detail = _head(tenant_id, after, f"{event_id}:stage") | {
            "from_stage": before.stage_id,
            "to_stage": after.stage_id,
            "by": move.by,
            "cause": move.cause.kind.value,
            "cause_ref": move.cause.ref,
            "chain": list(move.cause.chain),
            "at": move.at.isoformat(),
        }
        events.append(ItemEvent("StageChanged", detail))
    return events


def continued_chain(cause: Any, ref: Any, chain: Any) -> tuple[str, ...]:
    """The chain that what an event causes continues, from the event's ``cause``, ``cause_ref`` and
    ``chain``: a change made by automation (a trigger or a robot) passes its chain on, one cause
    longer, so that automation firing itself stops at the transition policy's bound; a person's
    change starts none. Invalid for values the fan-out could not have published."""
    if not isinstance(chain, list) or not all(isinstance(link, str) for link in chain):
        raise Invalid("detail.chain: a list of texts")
    if ref is not None and not isinstance(ref, str):
        raise Invalid("detail.cause_ref: a text or null")
    if cause is None:  # published before events carried their cause
        return ()
    try:
        kind = CauseKind(cause)
    except ValueError:
        raise Invalid(f"detail.cause: one of {[k.value for k in CauseKind]} or null") from None
    if kind not in AUTOMATION:
        return ()
    return (*chain, kind.value if ref is None else f"{kind.value}:{ref}")


@dataclass(frozen=True)
class Published:
    """An item event as a bus rule delivers it (the EventBridge envelope), checked: its kind, its
    detail, the item, when, and the chain what it causes continues."""

    kind: str
    detail: dict[str, Any]
    tenant_id: str
    item: ItemRef
    pipeline_id: str
    at: datetime
    chain: tuple[str, ...]


def published(envelope: Any, kinds: tuple[str, ...], texts: tuple[str, ...] = ()) -> Published:
    """``envelope`` as one of the ``kinds`` of item event this module makes, with the detail's
    ``texts`` (beyond those every event has) present; Invalid, saying what is wrong, otherwise."""
    if not isinstance(envelope, dict):
        raise Invalid("an EventBridge event is an object")
    kind = (envelope.get("source"), envelope.get("detail-type"))
    if kind[0] != SOURCE or kind[1] not in kinds:
        article = "an" if kinds[0][0] in "AEIOU" else "a"
        raise Invalid(
            f"not {article} {' or '.join(kinds)} event of {SOURCE}: source and detail-type are {kind}"
        )
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise Invalid("detail: an object")
    for name in ("event_id", "tenant_id", "item_type", "item_id", "pipeline_id", *texts, "at"):
        if not isinstance(detail.get(name), str):
            raise Invalid(f"detail.{name}: a text")
    try:
        at = datetime.fromisoformat(detail["at"])
    except ValueError:
        raise Invalid("detail.at: an ISO 8601 date-time") from None
    return Published(
        kind=kind[1],
        detail=detail,
        tenant_id=detail["tenant_id"],
        item=ItemRef(detail["item_type"], detail["item_id"]),
        pipeline_id=detail["pipeline_id"],
        at=at,
        chain=continued_chain(detail.get("cause"), detail.get("cause_ref"), detail.get("chain", [])),
    )
