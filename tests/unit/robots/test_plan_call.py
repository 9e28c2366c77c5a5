"""*Plan call*: a call task starting at an offset, due when its time is up."""

from __future__ import annotations

from datetime import timedelta

from crm.domain.model import Employee
from crm.domain.work import TaskKind
from tests.fakes import NOW, FakeEmployees, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_a_call_in_an_hour_for_half_an_hour_by_default():
    ports = FakePorts(employees=FakeEmployees([Employee("anna", "Anna", "anna@acme.test")]))
    outputs, ctx = ran(deal(responsible_id="anna", phones=["+4930123456"]), "plan_call", {}, fakes=ports)

    (task,) = ctx.effects.records
    assert outputs == {"task_id": task.id}
    assert (task.kind, task.title, task.assignee_id) == (TaskKind.CALL, "Call about Ten laptops", "anna")
    assert task.starts_at == NOW + timedelta(hours=1)
    assert task.deadline == NOW + timedelta(hours=1, minutes=30)
    assert task.place is None


def test_a_call_has_no_place_and_a_bounded_length():
    assert "place: Extra inputs are not permitted" in refused("plan_call", {"place": "Room 1"})
    assert "duration_minutes" in refused("plan_call", {"duration_minutes": 0})
