"""*Change responsible*: to one employee, or in turn over a list, skipping inactive employees; each
turn is asked to be stored on condition of the count it was taken from."""

from __future__ import annotations

import pytest

from crm.domain.model import Employee
from crm.domain.robots import RobotFailed
from crm.domain.work import Turn
from tests.fakes import FakeEmployees, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

ANNA = Employee("anna", "Anna", "anna@acme.test")
BORIS = Employee("boris", "Boris", "boris@acme.test")
VERA = Employee("vera", "Vera", "vera@acme.test")
GONE = Employee("gone", "Ex", "ex@acme.test", active=False)


def fakes() -> FakePorts:
    return FakePorts(employees=FakeEmployees([ANNA, BORIS, VERA, GONE]))


def turns(ports: FakePorts, robots: list[str], runs: int) -> list[str]:
    """The responsibles ``runs`` runs choose, each run's turn stored as the runner stores it."""
    chosen = []
    for _ in range(runs):
        outputs, ctx = ran(deal(), "change_responsible", {"round_robin": robots}, fakes=ports)
        (turn,) = ctx.effects.records
        ports.turns.took(turn)
        chosen.append(outputs["responsible_id"])
        assert ctx.effects.changes == {"responsible_id": outputs["responsible_id"]}
    return chosen


def test_one_employee_becomes_responsible():
    outputs, ctx = ran(
        deal(responsible_id="anna"), "change_responsible", {"employee_id": "vera"}, fakes=fakes()
    )
    assert outputs == {"responsible_id": "vera"} and ctx.effects.changes == {"responsible_id": "vera"}
    assert ctx.effects.records == []


def test_round_robin_takes_turns_in_order():
    assert turns(fakes(), ["anna", "boris", "vera"], 4) == ["anna", "boris", "vera", "anna"]


def test_round_robin_skips_gone_and_inactive_employees_and_counts_the_turns_they_missed():
    ports = fakes()
    assert turns(ports, ["anna", "gone", "ghost", "vera"], 3) == ["anna", "vera", "anna"]
    assert ports.turns.taken("acme", "sales", "r1") == 5


def test_two_runs_at_once_ask_for_the_same_turn_so_storage_can_refuse_the_second():
    ports = fakes()
    _, first = ran(deal(), "change_responsible", {"round_robin": ["anna", "boris"]}, fakes=ports)
    _, second = ran(deal(), "change_responsible", {"round_robin": ["anna", "boris"]}, fakes=ports)
    assert first.effects.records == second.effects.records == [Turn("sales", "r1", 0, 1)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"employee_id": "gone"}, "inactive"),
        ({"employee_id": "ghost"}, "does not exist"),
        ({"round_robin": ["gone", "ghost"]}, "every employee of the round robin"),
    ],
)
def test_nobody_active_to_choose_fails_for_good(params, message):
    with pytest.raises(RobotFailed) as failed:
        ran(deal(responsible_id="anna"), "change_responsible", params, fakes=fakes())
    assert not failed.value.retryable and message in str(failed.value)


@pytest.mark.parametrize(
    "params", [{}, {"employee_id": "anna", "round_robin": ["boris"]}, {"round_robin": []}]
)
def test_exactly_one_way_of_choosing_is_accepted(params):
    refused("change_responsible", params)
