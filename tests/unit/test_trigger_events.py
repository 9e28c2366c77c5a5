"""Trigger events: one normalised form for every source, checked, and kept by the journal as JSON
from which the same event is read back for a dry run or a replay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from crm.domain.errors import Invalid
from crm.domain.trigger_events import Contact, ContactKind, ItemRef, TriggerEvent
from tests.unit.builders import T0, trigger_event


def by_contact(kind: str, value: str) -> TriggerEvent:
    return trigger_event("form_filled", {"form_id": "contact_us"}, item=None, contact=Contact(kind, value))


def through_json(event: TriggerEvent) -> TriggerEvent:
    return TriggerEvent.from_dict(json.loads(json.dumps(event.to_dict())))


@pytest.mark.parametrize(
    "event",
    [
        trigger_event("webhook", {"code": "paid"}),
        by_contact("email", "Client@Example.COM"),
        by_contact("phone", "+49 30 1234567"),
        by_contact("visitor", "v_3f2a.9"),
        trigger_event(
            "field_changed",
            {"changes": {"amount": {"old": 9000, "new": 12000.5}, "tags": {"old": None, "new": ["a", "b"]}}},
            source="crm",
            chain=("run-1", "rule-7"),
            occurred_at=datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=3))),
        ),
    ],
    ids=["by-item", "by-email", "by-phone", "by-visitor", "field-changes"],
)
def test_an_event_reads_back_equal_from_its_json_form(event):
    assert through_json(event) == event
    assert through_json(event).to_dict() == event.to_dict()


def test_the_json_form_names_everything():
    event = trigger_event("webhook", {"code": "paid"}, event_id="hook-req-77")
    assert event.to_dict() == {
        "type": "webhook",
        "source": "webhook",
        "event_id": "hook-req-77",
        "tenant_id": "acme",
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "item": {"type": "deal", "id": "d-1"},
        "contact": None,
        "data": {"code": "paid"},
        "chain": [],
    }


def test_contacts_are_kept_in_their_normal_form():
    assert by_contact("email", " Client@Example.COM ").contact == Contact(
        ContactKind.EMAIL, "client@example.com"
    )
    assert by_contact("phone", "+49 (30) 123-4567").contact.value == "+49301234567"


def test_the_event_keeps_its_own_copy_of_the_data():
    data = {"changes": {"title": {"old": "a", "new": "b"}}}
    event = trigger_event("field_changed", data)
    data["changes"]["title"]["new"] = "changed afterwards"
    event.to_dict()["data"]["changes"]["title"]["new"] = "changed through the journal form"
    assert event.data == {"changes": {"title": {"old": "a", "new": "b"}}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"contact": Contact("email", "a@b.example")}, "either by item reference or by contact"),
        ({"item": None}, "either by item reference or by contact"),
        ({"occurred_at": datetime(2026, 3, 2, 9, 0)}, "occurred_at: a date-time with a time zone"),
        ({"occurred_at": "2026-03-02T09:00:00Z"}, "occurred_at: a date-time with a time zone"),
        ({"type": "Form Filled"}, "type 'Form Filled': 2-64 lower-case letters"),
        ({"source": ""}, "source '': 2-64 lower-case letters"),
        ({"event_id": "two words"}, "event_id: 1-256 printable characters without spaces"),
        ({"event_id": "x" * 257}, "event_id: 1-256 printable characters"),
        ({"event_id": 42}, "event_id: a text"),
        ({"tenant_id": "ACME"}, "tenant_id 'ACME' is not a tenant id"),
        ({"data": ["not", "an", "object"]}, "data: an object"),
        ({"data": {"amount": float("nan")}}, "data.amount: a finite number"),
        ({"data": {"when": T0}}, "data.when: datetime is not plain JSON"),
        ({"data": {1: "x"}}, "data: keys are texts"),
        ({"data": {"text": "x" * 16_001}}, "data: at most 16 KB"),
        ({"data": {"a": [[[[[[[[[1]]]]]]]]]}}, "nested deeper than 8"),
        ({"chain": tuple(str(n) for n in range(65))}, "chain: a list of at most 64 causes"),
        ({"chain": (1,)}, "chain: a text"),
    ],
)
def test_a_malformed_event_is_invalid(changes, message):
    with pytest.raises(Invalid) as error:
        trigger_event(**changes)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "not-an-address", "is not an email address"),
        ("phone", "030 1234567", "write it with its country code"),
        ("visitor", "has space", "visitor id: 1-128 letters"),
        ("fax", "+4930", "contact kind: one of ['email', 'phone', 'visitor']"),
    ],
)
def test_a_bad_contact_is_invalid(kind, value, message):
    with pytest.raises(Invalid, match=message.replace("(", r"\(").replace("[", r"\[")):
        Contact(kind, value)


@pytest.mark.parametrize(("type_", "id_"), [("deal", "has space"), ("", "25"), ("deal", "")])
def test_a_bad_item_reference_is_invalid(type_, id_):
    with pytest.raises(Invalid):
        ItemRef(type_, id_)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: ["a list"], "a trigger event is an object"),
        (lambda d: {k: v for k, v in d.items() if k != "event_id"}, "a trigger event needs ['event_id']"),
        (lambda d: d | {"priority": 1}, "a trigger event has no ['priority']"),
        (lambda d: d | {"occurred_at": "yesterday"}, "occurred_at: an ISO 8601 date-time"),
        (lambda d: d | {"occurred_at": 1700000000}, "occurred_at: a text"),
        (lambda d: d | {"item": {"type": "deal"}}, "ItemRef: an object with ['type', 'id']"),
        (lambda d: d | {"item": "deal/25"}, "ItemRef: an object with ['type', 'id']"),
        (
            lambda d: d | {"item": None, "contact": {"kind": "email"}},
            "Contact: an object with ['kind', 'value']",
        ),
        (lambda d: d | {"data": None}, "data: an object"),
    ],
)
def test_reading_a_malformed_json_form_is_invalid_never_another_error(mangle, message):
    with pytest.raises(Invalid) as error:
        TriggerEvent.from_dict(mangle(trigger_event().to_dict()))
    assert message in str(error.value)
