"""*Control*: the responsible's supervisor is told the item needs attention; without an active
supervisor the responsible is, and the outputs say so."""

from __future__ import annotations

import pytest

from crm.domain.model import Employee
from crm.domain.robots import RobotFailed
from tests.fakes import FakeEmployees, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran

BOSS = Employee("boss", "Olga Boss", "olga@acme.test")
ANNA = Employee("anna", "Anna Petrova", "anna@acme.test", supervisor_id="boss")
SOLO = Employee("solo", "Sam Solo", "sam@acme.test")


def ports(*employees: Employee) -> FakePorts:
    return FakePorts(employees=FakeEmployees(employees))


def test_the_supervisor_is_told_with_the_default_text_and_by_mail_when_asked():
    fakes = ports(BOSS, ANNA)
    outputs, ctx = ran(deal(responsible_id="anna"), "control", {"email": True}, fakes=fakes)

    assert outputs == {"notified": ["boss"], "to_supervisor": True}
    (notification,) = ctx.effects.records
    assert notification.employee_id == "boss"
    assert notification.text == "Ten laptops (deal d-1) is still waiting in its stage: please check on it."
    assert [mail.to for mail in fakes.mailer.sent] == ["olga@acme.test"]


@pytest.mark.parametrize(
    "employees",
    [
        (SOLO,),
        (
            Employee("solo", "Sam", "s@a.test", supervisor_id="boss"),
            Employee("boss", "B", "b@a.test", active=False),
        ),
    ],
    ids=["no supervisor", "inactive supervisor"],
)
def test_without_an_active_supervisor_the_responsible_is_told_and_outputs_say_so(employees):
    outputs, ctx = ran(
        deal(responsible_id="solo"), "control", {"text": "Still here"}, fakes=ports(*employees)
    )
    assert outputs == {"notified": ["solo"], "to_supervisor": False}
    assert [n.employee_id for n in ctx.effects.records] == ["solo"]


def test_nobody_to_tell_fails_for_good():
    with pytest.raises(RobotFailed) as failed:
        ran(deal(responsible_id=None), "control", {}, fakes=ports(BOSS))
    assert not failed.value.retryable
