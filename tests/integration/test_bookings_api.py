"""Bookings through the management API: a booking system (a key of scope items) reports bookings;
resource booked triggers move the item named, or the contact's open items; the same booking sent
again changes nothing and gets the first answer; bad bookings and unknown items change nothing."""

from __future__ import annotations

import pytest

from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales

SLOT = {"starts_at": "2026-03-02T10:00:00+01:00", "ends_at": "2026-03-02T11:00:00+01:00"}


@pytest.fixture
def booked(api, sales):
    """A trigger on "Preparing documents" for bookings of the showroom or the van, and a key of
    scope items for the booking system."""
    rule = {
        "type_code": "resource_booked",
        "stage_id": "preparing_documents",
        "name": "Showroom booked",
        "params": {"resource_ids": ["showroom", "van"]},
    }
    answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
    assert answer.status == 201, answer.body
    key = call(api, "POST", "/api-keys", {"name": "booking system", "scope": "items"}).body["key"]
    return answer.body["id"], key


def book(api, key, body):
    return api.call("POST", "/bookings", body, key=key)


def test_a_booking_for_a_deal_moves_it_once(api, booked):
    rule_id, key = booked
    deal = new_deal(api)
    body = {"booking_id": "bk-1", "resource": "showroom", **SLOT, "item": {"type": "deal", "id": deal["id"]}}

    first = book(api, key, body)
    again = book(api, key, {**body, "resource": "meeting_room"})  # the same booking id: the first answer

    assert first.status == 200, first.body
    (applied,) = first.body["applied"]
    assert (applied["outcome"], applied["stage_id"], applied["rule_id"]) == (
        "moved",
        "preparing_documents",
        rule_id,
    )
    assert again.status == 200 and again.body == first.body
    (entry,) = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert entry["event"]["source"] == "booking" and entry["event"]["event_id"] == "bk-1"
    assert entry["event"]["data"] == {
        "resource_id": "showroom",
        "starts_at": "2026-03-02T10:00:00+01:00",
        "ends_at": "2026-03-02T11:00:00+01:00",
    }


def test_a_booking_by_contact_reaches_the_contacts_open_deals_and_filters_on_the_resource(api, booked):
    _, key = booked
    deal = new_deal(api, phones=["+44 7700 900123"])
    other = book(
        api,
        key,
        {"booking_id": "bk-2", "resource": "meeting_room", **SLOT, "contact": {"phone": "+447700900123"}},
    )
    assert other.status == 200 and other.body["applied"][0]["outcome"] == "not_moved"
    van = book(
        api, key, {"booking_id": "bk-3", "resource": "van", **SLOT, "contact": {"phone": "+44 7700 900123"}}
    )
    assert [a["item"]["id"] for a in van.body["applied"]] == [deal["id"]]
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "preparing_documents"
    nobody = book(
        api,
        key,
        {"booking_id": "bk-4", "resource": "van", **SLOT, "contact": {"email": "new@client.example"}},
    )
    assert nobody.status == 200 and nobody.body["applied"][0]["outcome"] == "no_item"
    assert [e["event"]["event_id"] for e in call(api, "GET", "/journal?source=booking").body["entries"]] == [
        "bk-4"
    ]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"ends_at": "2026-03-02T09:00:00+01:00"}, 422),
        ({"starts_at": "2026-03-02T10:00:00"}, 422),  # no time zone
        ({"resource": "show room"}, 422),
        ({"booking_id": "with space"}, 422),
        ({"contact": {"email": "maria@client.example"}}, 422),  # item and contact
        ({"item": None}, 422),  # neither
        ({"item": {"type": "deal", "id": "999"}}, 404),
        ({"contact": None, "item": {"type": "deal", "id": "1"}, "tenant_id": "globex"}, 422),
    ],
)
def test_a_bad_booking_or_unknown_deal_is_refused_and_nothing_is_written(api, booked, change, status):
    _, key = booked
    deal = new_deal(api)
    body = {
        "booking_id": "bk-9",
        "resource": "showroom",
        **SLOT,
        "item": {"type": "deal", "id": deal["id"]},
        **change,
    }
    answer = book(api, key, body)
    assert answer.status == status, answer.body
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"
    assert call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"] == []
    assert call(api, "GET", "/journal?source=booking").body["entries"] == []


def test_an_items_key_reaches_bookings_but_not_configuration(api, booked):
    _, key = booked
    assert api.call("GET", "/automation/hooks", key=key).status == 403
    assert (
        book(
            api, key, {"booking_id": "bk-5", "resource": "van", **SLOT, "item": {"type": "deal", "id": "1"}}
        ).status
        == 404
    )
