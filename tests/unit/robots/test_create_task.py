"""*Create task*: a task for the responsible or a named employee, due at an offset from now or from a
date field (in the assignee's time zone, days on the wall clock), the same task on every attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.domain.model import Employee
from crm.domain.robots import RobotFailed
from crm.domain.work import Priority, Task, TaskKind, TaskStatus
from tests.fakes import NOW, FakeEmployees, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

ANNA = Employee("anna", "Anna Petrova", "anna@acme.test", time_zone="Europe/Berlin")
IVAN = Employee("ivan", "Ivan", "ivan@acme.test")
GONE = Employee("gone", "Ex", "ex@acme.test", active=False)


def fakes() -> FakePorts:
    return FakePorts(employees=FakeEmployees([ANNA, IVAN, GONE]))


def test_a_task_for_the_responsible_due_in_a_day_by_default():
    params = {"title": "Send the offer for {{ item.title }}", "description": "Amount {{ item.amount }}"}
    outputs, ctx = ran(deal(responsible_id="anna"), "create_task", params, fakes=fakes())

    (task,) = ctx.effects.records
    assert isinstance(task, Task) and outputs == {"task_id": task.id}
    assert (task.kind, task.status, task.priority) == (TaskKind.TASK, TaskStatus.OPEN, Priority.NORMAL)
    assert (task.assignee_id, task.title) == ("anna", "Send the offer for Ten laptops")
    assert task.description == "Amount 12000.0"
    assert task.deadline == NOW + timedelta(days=1) and task.starts_at is None
    assert (task.item.type, task.item.id, task.created_by) == ("deal", "d-1", "robot:r1")


def test_a_retried_run_makes_the_same_task():
    params = {"title": "Call back", "assignee": "ivan", "priority": "high"}
    first, _ = ran(deal(responsible_id="anna"), "create_task", params, fakes=fakes())
    again, ctx = ran(deal(responsible_id="anna"), "create_task", params, fakes=fakes(), attempt=2)
    assert first == again and ctx.effects.records[0].assignee_id == "ivan"


def test_a_deadline_from_a_date_field_is_counted_in_the_assignees_time_zone():
    item = deal(responsible_id="anna", fields={"close_date": "2026-03-10"})
    params = {"title": "Close", "deadline": {"field": "close_date", "offset": -6, "unit": "hours"}}
    _, ctx = ran(item, "create_task", params, fakes=fakes())
    # Midnight in Berlin (UTC+1) is 23:00 UTC the day before; six hours earlier is 17:00 UTC.
    assert ctx.effects.records[0].deadline == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)


def test_days_keep_the_time_of_day_across_a_dst_change():
    before_dst = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, UTC+1
    params = {"title": "Follow up", "deadline": {"offset": 1, "unit": "days"}}
    _, ctx = ran(deal(responsible_id="anna"), "create_task", params, fakes=fakes(), now=before_dst)
    assert ctx.effects.records[0].deadline == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00, UTC+2


def test_a_date_time_field_is_used_as_it_is():
    item = deal(responsible_id="ivan", fields={"demo_at": "2026-04-01T15:30:00+03:00"})
    params = {"title": "Demo", "deadline": {"field": "demo_at", "offset": 30, "unit": "minutes"}}
    _, ctx = ran(item, "create_task", params, fakes=fakes())
    assert ctx.effects.records[0].deadline == datetime(2026, 4, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("item", "params", "message"),
    [
        (deal(responsible_id=None), {"title": "T"}, "no responsible"),
        (deal(responsible_id="gone"), {"title": "T"}, "inactive"),
        (deal(responsible_id="anna"), {"title": "T", "assignee": "ghost"}, "does not exist"),
        (deal(responsible_id="anna"), {"title": "T", "deadline": {"field": "close_date"}}, "is empty"),
        (
            deal(responsible_id="anna", fields={"close_date": "soon"}),
            {"title": "T", "deadline": {"field": "close_date"}},
            "holds no date",
        ),
        (deal(responsible_id="anna"), {"title": "{{ contact.email }}"}, "rendered empty"),
    ],
)
def test_what_no_attempt_can_mend_fails_for_good_and_makes_no_task(item, params, message):
    with pytest.raises(RobotFailed) as failed:
        ran(item, "create_task", params, fakes=fakes())
    assert not failed.value.retryable and message in str(failed.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "title: Field required"),
        ({"title": "T", "deadline": {"offset": -1}}, "negative offset counts back from a field"),
        ({"title": "T", "deadline": {"offset": 400, "unit": "days"}}, "at most a year"),
        ({"title": "T", "priority": "urgent"}, "priority"),
        ({"title": "T", "place": "Room 1"}, "place: Extra inputs are not permitted"),
        ({"title": "{% for %}"}, "not a valid template"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("create_task", params)
