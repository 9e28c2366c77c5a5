"""*Plan meeting*: a meeting task with a start, a length and a place (a template)."""

from __future__ import annotations

from datetime import UTC, datetime

from crm.domain.model import Employee
from crm.domain.work import TaskKind
from tests.fakes import FakeEmployees, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran


def test_a_meeting_at_the_clients_office_from_a_date_field():
    ports = FakePorts(
        employees=FakeEmployees([Employee("ivan", "Ivan", "ivan@acme.test", time_zone="Europe/Moscow")])
    )
    item = deal(responsible_id="anna", company="Horns and Hooves", fields={"visit_on": "2026-03-05"})
    params = {
        "assignee": "ivan",
        "start": {"field": "visit_on", "offset": 11, "unit": "hours"},
        "duration_minutes": 90,
        "place": "{{ item.company }} office",
    }
    outputs, ctx = ran(item, "plan_meeting", params, fakes=ports)

    (task,) = ctx.effects.records
    assert outputs == {"task_id": task.id}
    assert (task.kind, task.title, task.place) == (
        TaskKind.MEETING,
        "Meeting about Ten laptops",
        "Horns and Hooves office",
    )
    assert task.starts_at == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)  # 11:00 in Moscow (UTC+3)
    assert task.deadline == datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
