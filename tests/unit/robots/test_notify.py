"""*Notify*: in-app notifications to the responsible, their supervisor and named employees (gone or
inactive ones skipped and listed), and their emails once each whatever the attempts."""

from __future__ import annotations

import pytest

from crm.domain.model import Employee
from crm.domain.robots import RobotFailed
from crm.domain.work import Notification
from tests.fakes import NOW, FakeEmployees, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

BOSS = Employee("boss", "Olga Boss", "olga@acme.test")
ANNA = Employee("anna", "Anna Petrova", "anna@acme.test", supervisor_id="boss")
GONE = Employee("gone", "Ex Employee", "ex@acme.test", active=False)


def fakes() -> FakePorts:
    return FakePorts(employees=FakeEmployees([BOSS, ANNA, GONE]))


def test_the_responsible_gets_the_rendered_notification():
    outputs, ctx = ran(
        deal(responsible_id="anna"), "notify", {"text": "Check {{ item.title }}"}, fakes=fakes()
    )

    assert outputs == {"notified": ["anna"], "skipped": []}
    (notification,) = ctx.effects.records
    assert isinstance(notification, Notification)
    assert (notification.employee_id, notification.text) == ("anna", "Check Ten laptops")
    assert (notification.item.type, notification.item.id) == ("deal", "d-1")
    assert notification.created_at == NOW and notification.created_by == "robot:r1" and notification.unread


def test_supervisor_and_named_employees_get_mail_once_each_whatever_the_attempts():
    ports = fakes()
    params = {"text": "Big deal: {{ item.amount }}", "supervisor": True, "employees": ["boss"], "email": True}
    ports.mailer.fail_next(1)  # the first attempt fails at its first mail

    with pytest.raises(RobotFailed) as failed:
        ran(deal(responsible_id="anna"), "notify", params, fakes=ports)
    assert failed.value.retryable
    outputs, ctx = ran(deal(responsible_id="anna"), "notify", params, fakes=ports)
    again, _ = ran(deal(responsible_id="anna"), "notify", params, fakes=ports)  # a redelivered run

    assert outputs == again == {"notified": ["anna", "boss"], "skipped": []}  # boss named twice: once
    assert sorted(mail.to for mail in ports.mailer.sent) == ["anna@acme.test", "olga@acme.test"]
    assert {mail.draft.subject for mail in ports.mailer.sent} == {"Ten laptops"}
    assert {mail.draft.text for mail in ports.mailer.sent} == {"Big deal: 12000.0"}
    assert len({n.id for n in ctx.effects.records}) == 2


def test_gone_and_inactive_employees_are_skipped_and_listed():
    params = {"text": "Hello", "employees": ["gone", "ghost", "boss"]}
    outputs, ctx = ran(deal(responsible_id="anna"), "notify", params, fakes=fakes())
    assert outputs == {"notified": ["anna", "boss"], "skipped": ["gone", "ghost"]}
    assert [n.employee_id for n in ctx.effects.records] == ["anna", "boss"]


def test_nobody_left_to_notify_fails_for_good_and_asks_nothing():
    params = {"text": "Hello", "responsible": True, "employees": ["gone"]}
    with pytest.raises(RobotFailed) as failed:
        ran(deal(responsible_id="ghost"), "notify", params, fakes=fakes())
    assert not failed.value.retryable and "ghost" in str(failed.value) and "gone" in str(failed.value)


def test_a_supervisor_of_an_inactive_responsible_is_still_told():
    ports = FakePorts(
        employees=FakeEmployees([BOSS, Employee("ex", "Ex", "ex@a.test", supervisor_id="boss", active=False)])
    )
    outputs, _ = ran(deal(responsible_id="ex"), "notify", {"text": "Hi", "supervisor": True}, fakes=ports)
    assert outputs == {"notified": ["boss"], "skipped": ["ex"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"text": "Hi", "responsible": False}, "notify someone"),
        ({"text": "{{ item.title"}, "not a valid template"),
        ({"text": ""}, "at least 1 character"),
        ({"text": "Hi", "employees": ["not an id"]}, "employees.0"),
        ({"text": "Hi", "cc": ["boss"]}, "cc: Extra inputs are not permitted"),
        ({"text": "Hi", "email": "yes"}, "email"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("notify", params)
