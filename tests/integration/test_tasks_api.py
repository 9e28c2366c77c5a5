"""Tasks robots make, stored with their run (``crm.adapters.work.add_records`` in one transaction),
then listed per assignee and per item and completed through the API, completion on the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.domain.errors import StaleWrite
from crm.domain.model import Employee
from crm.domain.work import Turn
from tests.fakes import NOW, FakeEmployees, FakePorts
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales
from tests.unit.robots.running import ran

ANNA = {"id": "anna", "name": "Anna Petrova", "email": "anna@acme.test"}


def stored(records, item_ref=("deal", "1"), tenant="acme"):
    """``records`` written as the runner writes a run's: in one transaction."""
    from crm.adapters import items
    from crm.adapters.along import transact
    from crm.adapters.work import add_records

    item = items.get(tenant, *item_ref)
    transact(lambda actions: add_records(actions, tenant, item, records), None, StaleWrite("stale"))


def robot_tasks(api, deal_id: str, *params: dict, rule_id: str = "r1") -> list[str]:
    """Runs create_task with each of ``params`` on the deal and stores each run's task."""
    from crm.adapters import items

    item = items.get("acme", "deal", deal_id)
    employees = FakeEmployees([Employee(**e) for e in call(api, "GET", "/employees").body])
    ids = []
    for n, values in enumerate(params):
        outputs, ctx = ran(
            item, "create_task", values, fakes=FakePorts(employees=employees), rule_id=f"{rule_id}-{n}"
        )
        stored(ctx.effects.records, ("deal", deal_id))
        ids.append(outputs["task_id"])
    return ids


@pytest.fixture
def stopped():
    """The application's clock stands at the fakes' NOW, when the robots run."""
    from crm.domain import clock

    stopped = clock.FixedClock(NOW)
    clock.use_clock(stopped)
    yield stopped
    clock.use_clock(clock.SystemClock())


@pytest.fixture
def deal(api, sales, stopped):
    return new_deal(api, responsible_id="anna")


def test_a_robots_task_is_listed_for_its_assignee_and_on_its_item(api, deal):
    (task_id,) = robot_tasks(
        api, deal["id"], {"title": "Send the offer for {{ item.title }}", "priority": "high"}
    )

    (mine,) = call(api, "GET", "/tasks?assignee=anna").body["tasks"]
    assert mine["id"] == task_id and mine["title"] == "Send the offer for Forklift"
    assert (mine["status"], mine["priority"], mine["kind"], mine["overdue"]) == (
        "open",
        "high",
        "task",
        False,
    )
    assert mine["item"] == {"type": "deal", "id": deal["id"]} and mine["created_by"] == "robot:r1-0"
    assert call(api, "GET", f"/items/deal/{deal['id']}/tasks").body["tasks"] == [mine]
    assert call(api, "GET", "/tasks?assignee=anna&status=done").body["tasks"] == []


def test_lists_run_earliest_deadline_first_page_by_page(api, deal):
    ids = robot_tasks(
        api,
        deal["id"],
        {"title": "Later", "deadline": {"offset": 3, "unit": "days"}},
        {"title": "Soon", "deadline": {"offset": 2, "unit": "hours"}},
        {"title": "Tomorrow"},
    )
    first = call(api, "GET", "/tasks?assignee=anna&limit=2").body
    assert [t["title"] for t in first["tasks"]] == ["Soon", "Tomorrow"] and first["cursor"]
    rest = call(api, "GET", f"/tasks?assignee=anna&limit=2&cursor={first['cursor']}").body
    assert [t["id"] for t in rest["tasks"]] == [ids[0]]
    other_list = call(api, "GET", f"/items/deal/{deal['id']}/tasks?limit=2&cursor={first['cursor']}")
    assert other_list.status == 422


def test_completing_a_task_moves_it_to_done_and_puts_it_on_the_items_timeline_once(api, deal):
    (task_id,) = robot_tasks(api, deal["id"], {"title": "Call back"})

    answer = call(api, "POST", f"/tasks/{task_id}/complete", {"by": "anna"})
    again = call(api, "POST", f"/tasks/{task_id}/complete", {})

    assert answer.status == 200 and again.status == 200 and again.body == answer.body
    assert answer.body["status"] == "done" and answer.body["completed_by"] == "anna"
    assert call(api, "GET", "/tasks?assignee=anna").body["tasks"] == []
    assert [t["id"] for t in call(api, "GET", "/tasks?assignee=anna&status=done").body["tasks"]] == [task_id]
    assert [
        t["status"] for t in call(api, "GET", f"/items/deal/{deal['id']}/tasks?status=done").body["tasks"]
    ] == ["done"]
    entries = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"]
    completed = [e for e in entries if e["kind"] == "task_completed"]
    assert len(completed) == 1 and completed[0]["by"] == "anna"
    assert completed[0]["data"] | {"deadline": None} == {
        "task_id": task_id,
        "kind": "task",
        "title": "Call back",
        "assignee_id": "anna",
        "deadline": None,
        "overdue": False,
    }


def test_a_task_done_late_is_overdue(api, deal, stopped):
    (task_id,) = robot_tasks(
        api, deal["id"], {"title": "Quick", "deadline": {"offset": 5, "unit": "minutes"}}
    )
    stopped.advance(timedelta(hours=1))
    assert call(api, "GET", "/tasks?assignee=anna").body["tasks"][0]["overdue"]
    done = call(api, "POST", f"/tasks/{task_id}/complete").body
    assert done["overdue"] and done["completed_at"].startswith("2026-03-02T10:00:00")
    entry = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"][0]
    assert entry["kind"] == "task_completed" and entry["data"]["overdue"]


def test_a_task_of_a_deleted_item_can_still_be_completed(api, deal):
    (task_id,) = robot_tasks(api, deal["id"], {"title": "Tidy up"})
    assert call(api, "DELETE", f"/items/deal/{deal['id']}").status == 204
    answer = call(api, "POST", f"/tasks/{task_id}/complete")
    assert answer.status == 200 and answer.body["status"] == "done"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/tasks", None, 422),  # no assignee
        ("GET", "/tasks?assignee=ghost", None, 422),
        ("GET", "/tasks?assignee=anna&status=later", None, 422),
        ("GET", "/items/deal/999/tasks", None, 404),
        ("POST", "/tasks/nope/complete", None, 404),
        ("POST", "/tasks/{task}/complete", {"by": "ghost"}, 422),
        ("POST", "/tasks/{task}/complete", {"by": "anna", "note": "x"}, 422),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(api, deal, method, path, body, status):
    (task_id,) = robot_tasks(api, deal["id"], {"title": "Stay open"})
    answer = call(api, method, path.format(task=task_id), body)
    assert answer.status == status, answer.body
    assert [t["status"] for t in call(api, "GET", "/tasks?assignee=anna").body["tasks"]] == ["open"]


def test_another_tenants_tasks_are_out_of_reach(api, deal):
    (task_id,) = robot_tasks(api, deal["id"], {"title": "Ours"})
    assert api.call("POST", f"/tasks/{task_id}/complete", None, api.other_key).status == 404
    assert api.call("GET", f"/items/deal/{deal['id']}/tasks", None, api.other_key).status == 404
    assert call(api, "GET", "/tasks?assignee=anna").body["tasks"][0]["status"] == "open"


def test_a_turn_is_stored_once_per_count_so_two_runs_cannot_take_the_same_turn(api, deal):
    from crm.adapters.work import Turns

    stored([Turn("sales", "rr", 0, 1)], ("deal", deal["id"]))
    with pytest.raises(StaleWrite):
        stored([Turn("sales", "rr", 0, 1)], ("deal", deal["id"]))  # the other run, from the same count
    stored([Turn("sales", "rr", 1, 3)], ("deal", deal["id"]))
    with pytest.raises(StaleWrite):
        stored([Turn("sales", "rr", 1, 2)], ("deal", deal["id"]))
    assert Turns().taken("acme", "sales", "rr") == 3 and Turns().taken("globex", "sales", "rr") == 0


def test_a_refused_turn_takes_the_runs_other_records_with_it(api, deal):
    from crm.adapters import items
    from crm.adapters.along import transact
    from crm.adapters.work import add_records

    item = items.get("acme", "deal", deal["id"])
    _, ctx = ran(
        item,
        "create_task",
        {"title": "Lost with the turn"},
        fakes=FakePorts(employees=FakeEmployees([Employee(**ANNA)])),
    )
    stored([Turn("sales", "rr", 0, 1)], ("deal", deal["id"]))
    with pytest.raises(StaleWrite):
        transact(
            lambda actions: add_records(
                actions, "acme", item, [*ctx.effects.records, Turn("sales", "rr", 0, 1)]
            ),
            None,
            StaleWrite("stale"),
        )
    assert call(api, "GET", "/tasks?assignee=anna").body["tasks"] == []


def test_records_of_another_item_are_refused(api, deal):
    other = new_deal(api, responsible_id="anna")
    from crm.adapters import items

    item = items.get("acme", "deal", other["id"])
    _, ctx = ran(
        item,
        "create_task",
        {"title": "Elsewhere"},
        fakes=FakePorts(employees=FakeEmployees([Employee(**ANNA)])),
    )
    with pytest.raises(ValueError, match="asked for a record on"):
        stored(ctx.effects.records, ("deal", deal["id"]))
