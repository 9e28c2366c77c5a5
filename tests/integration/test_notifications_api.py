"""Notifications robots send, stored with their run (``crm.adapters.work.add_records``), listed per
employee (newest first, unread first, or unread only) and marked read through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.domain.model import Employee
from tests.fakes import NOW, FakeEmployees, FakePorts
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales
from tests.integration.test_tasks_api import stopped as stopped
from tests.integration.test_tasks_api import stored
from tests.unit.robots.running import ran


@pytest.fixture
def deal(api, sales, stopped):
    boss = {"id": "boss", "name": "Olga Boss", "email": "olga@acme.test"}
    assert call(api, "POST", "/employees", boss).status == 201
    assert call(api, "PATCH", "/employees/anna", {"supervisor_id": "boss"}).status == 200
    return new_deal(api, responsible_id="anna")


def notified(api, deal, params, minutes_later=0, rule_id="r1") -> list[str]:
    """Runs the notify robot on the deal and stores its notifications; the ones made."""
    from crm.adapters import items

    item = items.get("acme", "deal", deal["id"])
    employees = FakeEmployees([Employee(**e) for e in call(api, "GET", "/employees").body])
    _, ctx = ran(
        item,
        "notify",
        params,
        fakes=FakePorts(employees=employees),
        now=NOW + timedelta(minutes=minutes_later),
        rule_id=rule_id,
    )
    stored(ctx.effects.records, ("deal", deal["id"]))
    return [n.id for n in ctx.effects.records]


def listed(api, query: str) -> list[dict]:
    answer = call(api, "GET", f"/notifications?{query}")
    assert answer.status == 200, answer.body
    return answer.body["notifications"]


def test_each_recipient_gets_the_notification_in_their_list(api, deal):
    notified(api, deal, {"text": "{{ item.title }} is yours", "supervisor": True})

    (anna,) = listed(api, "employee_id=anna")
    (boss,) = listed(api, "employee_id=boss")
    assert anna["text"] == boss["text"] == "Forklift is yours"
    assert anna["unread"] and anna["read_at"] is None and anna["created_by"] == "robot:r1"
    assert anna["item"] == {"type": "deal", "id": deal["id"]} and anna["id"] != boss["id"]


def test_reading_moves_a_notification_behind_the_unread_ones_once(api, deal, stopped):
    (first,) = notified(api, deal, {"text": "First"}, rule_id="r1")
    (second,) = notified(api, deal, {"text": "Second"}, minutes_later=5, rule_id="r2")
    assert [n["text"] for n in listed(api, "employee_id=anna")] == ["Second", "First"]

    stopped.advance(timedelta(minutes=10))
    read = call(api, "POST", f"/notifications/{second}/read")
    stopped.advance(timedelta(minutes=10))
    again = call(api, "POST", f"/notifications/{second}/read")

    assert read.status == again.status == 200 and again.body == read.body
    assert not read.body["unread"] and read.body["read_at"].startswith("2026-03-02T09:10:00")
    assert [n["id"] for n in listed(api, "employee_id=anna&unread=true")] == [first]
    assert [(n["text"], n["unread"]) for n in listed(api, "employee_id=anna")] == [
        ("First", True),
        ("Second", False),
    ]


def test_pages_follow_each_other(api, deal):
    for n in range(3):
        notified(api, deal, {"text": f"Note {n}"}, minutes_later=n, rule_id=f"r{n}")
    first = call(api, "GET", "/notifications?employee_id=anna&limit=2").body
    rest = call(api, "GET", f"/notifications?employee_id=anna&limit=2&cursor={first['cursor']}").body
    assert [n["text"] for n in first["notifications"] + rest["notifications"]] == [
        "Note 2",
        "Note 1",
        "Note 0",
    ]
    assert call(api, "GET", f"/notifications?employee_id=boss&cursor={first['cursor']}").status == 422


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/notifications", 422),
        ("GET", "/notifications?employee_id=ghost", 422),
        ("GET", "/notifications?employee_id=anna&unread=maybe", 422),
        ("POST", "/notifications/nope/read", 404),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(api, deal, method, path, status):
    notified(api, deal, {"text": "Stay unread"})
    assert call(api, method, path).status == status
    assert [n["unread"] for n in listed(api, "employee_id=anna")] == [True]


def test_another_tenants_notifications_are_out_of_reach(api, deal):
    (notification,) = notified(api, deal, {"text": "Ours"})
    assert api.call("POST", f"/notifications/{notification}/read", None, api.other_key).status == 404
    assert api.call("GET", "/notifications?employee_id=anna", None, api.other_key).status == 422
    assert listed(api, "employee_id=anna")[0]["unread"]
