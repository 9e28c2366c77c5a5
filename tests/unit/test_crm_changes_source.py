"""The CRM-changes source: an ``ItemUpdated`` event from the bus, as the fan-out publishes it (the
domain's ``item_events`` on an item before and after a write), into *field value changed* and
*responsible changed* trigger events."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from crm.domain.errors import Invalid
from crm.domain.events import item_events
from crm.domain.model import Cause, CauseKind
from crm.domain.rules import CATALOGUE, RuleKind
from crm.domain.trigger_events import MAX_DATA_BYTES, ItemRef
from crm.ingest.crm_changes import ItemUpdate, trigger_events
from tests.unit.builders import deal, edited

RECORD = "c81e728d9d4c2f636f067f89cc14862c"  # the stream record's eventID
ABOVE_10K = {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]}


def saved(before, cause=Cause(CauseKind.API, "anna"), **changes):
    """The item after an update of ``changes`` (one version later, a minute later)."""
    at = before.updated_at + timedelta(minutes=1)
    return edited(before, version=before.version + 1, updated_at=at, last_change=cause, **changes)


def on_the_bus(before, after, record: str = RECORD) -> list[dict]:
    """The EventBridge events the fan-out publishes for the write, as a bus rule delivers them."""
    return [
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": event.detail_type,
            "source": "crm.items",
            "account": "123456789012",
            "time": "2026-03-02T09:01:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": json.loads(json.dumps(event.detail)),
        }
        for event in item_events("acme", before, after, record)
    ]


def events_of(before, after, watched=lambda: pytest.fail("narrowed without need")):
    (envelope,) = on_the_bus(before, after)
    return trigger_events(ItemUpdate.of(envelope), watched)


def fires(event, params) -> bool:
    stored = CATALOGUE.validated_params(RuleKind.TRIGGER, event.type, params)
    return CATALOGUE.get(RuleKind.TRIGGER, event.type).matches(event, stored)


def test_the_amount_going_above_10000_fires_once_on_the_crossing():
    first = deal(amount=9_000.0)
    crossed = saved(first, amount=12_000.0)
    later = saved(crossed, amount=12_500.0)

    (crossing,) = events_of(first, crossed)
    (after_it,) = events_of(crossed, later)

    assert crossing.type == "field_changed" and crossing.item == ItemRef("deal", "d-1")
    assert crossing.data == {"changes": {"amount": {"old": 9_000, "new": 12_000}}}
    assert fires(crossing, ABOVE_10K)
    assert not fires(after_it, ABOVE_10K)


def test_saving_again_with_the_same_value_fires_nothing():
    item = deal(amount=12_000.0)
    # A save that changes nothing a user edits is no event on the bus at all ...
    assert on_the_bus(item, saved(item, amount=12_000.0)) == []
    # ... and one that changes another value does not fire a watch on the amount.
    (renamed,) = events_of(item, saved(item, title="Twelve laptops"))
    assert not fires(renamed, ABOVE_10K)


def test_a_new_responsible_is_a_responsible_changed_event_only():
    before = deal(responsible_id="anna")
    (event,) = events_of(before, saved(before, responsible_id="boris"))
    assert event.type == "responsible_changed"
    assert event.data == {"old": "anna", "new": "boris"}
    assert fires(event, {"to_employee": "boris"})
    assert not fires(event, {"from_employee": "carl"})


def test_one_update_of_values_and_responsible_is_two_events_with_ids_of_their_own():
    before = deal(responsible_id="anna")
    fields, responsible = events_of(before, saved(before, amount=20_000.0, responsible_id="boris"))
    assert (fields.type, responsible.type) == ("field_changed", "responsible_changed")
    assert "responsible_id" not in fields.data["changes"]
    assert fields.event_id == f"{RECORD}:fields:field_changed"
    assert responsible.event_id == f"{RECORD}:fields:responsible_changed"


def test_custom_fields_are_named_by_their_codes_as_conditions_name_them():
    before = deal(fields={"budget_code": "B-6"})
    (event,) = events_of(before, saved(before, fields={"budget_code": "B-7"}))
    assert event.data == {"changes": {"budget_code": {"old": "B-6", "new": "B-7"}}}
    assert fires(event, {"fields": [{"field": "budget_code", "new": {"op": "=", "value": "B-7"}}]})


def test_the_event_id_is_the_updates_own_so_a_second_publishing_is_the_same_event():
    before = deal(amount=9_000.0)
    after = saved(before, amount=12_000.0)
    (first,), (again,) = on_the_bus(before, after), on_the_bus(before, after)
    assert first["id"] != again["id"]  # EventBridge gives each publishing an id of its own
    assert trigger_events(ItemUpdate.of(first), set) == trigger_events(ItemUpdate.of(again), set)


@pytest.mark.parametrize(
    ("cause", "chain"),
    [
        (Cause(CauseKind.API, "anna"), ()),  # a person's change starts no chain
        (Cause(CauseKind.ROBOT, "rob-1", ("trigger:trg-1",)), ("trigger:trg-1", "robot:rob-1")),
        (Cause(CauseKind.TRIGGER, "trg-2"), ("trigger:trg-2",)),
        (None, ()),  # an item last changed before changes carried their cause
    ],
)
def test_a_change_made_by_automation_passes_its_chain_on(cause, chain):
    before = deal(amount=9_000.0)
    (event,) = events_of(before, saved(before, cause=cause, amount=12_000.0))
    assert event.chain == chain


def test_changes_too_big_for_one_event_are_narrowed_to_the_watched_fields():
    before = deal(fields={"notes": "", "budget_code": "B-6"})
    after = saved(before, fields={"notes": "x" * MAX_DATA_BYTES, "budget_code": "B-7"})
    (event,) = events_of(before, after, watched=lambda: {"budget_code", "amount"})
    assert event.data == {"changes": {"budget_code": {"old": "B-6", "new": "B-7"}}}
    # None of them watched: no event of that type at all.
    assert events_of(before, after, watched=set) == []


def good_envelope() -> dict:
    before = deal(amount=9_000.0)
    (envelope,) = on_the_bus(before, saved(before, amount=12_000.0))
    return envelope


def broken(path: str, value) -> dict:
    envelope = good_envelope()
    *parents, last = path.split(".")
    place = envelope
    for name in parents:
        place = place[name]
    place[last] = value
    return envelope


@pytest.mark.parametrize(
    ("envelope", "problem"),
    [
        ([], "an EventBridge event is an object"),
        (broken("detail-type", "StageChanged"), "not an ItemUpdated event of crm.items"),
        (broken("source", "my.app"), "not an ItemUpdated event of crm.items"),
        (broken("detail", "amount"), "detail: an object"),
        (broken("detail.tenant_id", None), "detail.tenant_id: a text"),
        (broken("detail.tenant_id", "Not A Tenant"), "is not a tenant id"),
        (broken("detail.item_id", "a b"), "item id 'a b' must be"),
        (broken("detail.at", "yesterday"), "detail.at: an ISO 8601 date-time"),
        (broken("detail.at", "2026-03-02T09:00:00"), "occurred_at: a date-time with a time zone"),
        (broken("detail.changes", {}), "detail.changes: an object naming at least one change"),
        (broken("detail.changes", {"amount": 5}), "detail.changes.amount: an object with old and new"),
        (broken("detail.changes", {"stage_id": {"old": "a", "new": "b"}}), "'stage_id' is not watched"),
        (broken("detail.cause", "cron"), "detail.cause: one of"),
        (broken("detail.chain", "trigger:x"), "detail.chain: a list of texts"),
        (broken("detail.changes", {"responsible_id": {"old": "a", "new": "Anna P"}}), "new: String should"),
    ],
)
def test_what_the_fan_out_cannot_have_published_is_refused_with_its_reason(envelope, problem):
    with pytest.raises(Invalid) as refused:
        trigger_events(ItemUpdate.of(envelope), set)
    assert problem in str(refused.value)
