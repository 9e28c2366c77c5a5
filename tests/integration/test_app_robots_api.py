"""App robots through the management API: an application registers a robot, the tenant puts *app
robot* robots naming it on stages; a robot naming an unregistered code or properties the
registration does not take is refused; a registration in use cannot be removed."""

from __future__ import annotations

from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call
from tests.integration.test_management_api import sales as sales

SCORING = {
    "code": "credit_check",
    "name": "Credit check",
    "handler_url": "https://scoring.example.com/crm/robots",
    "secret_ref": "scoring",
    "properties": [{"name": "note", "type": "string", "required": True}],
    "returns": [{"name": "score", "type": "number", "required": True}],
}
ROBOTS = "/automation/deal/sales/robots"


def robot(properties: dict, code: str = "credit_check") -> dict:
    return {"type_code": "app_robot", "stage_id": "new", "params": {"code": code, "properties": properties}}


def test_an_application_registers_a_robot_that_robots_then_name(api, sales):
    registered = call(api, "POST", "/automation/app-robots", SCORING)
    assert registered.status == 201, registered.body
    assert registered.body["properties"] == [{"name": "note", "type": "string", "required": True}]
    assert call(api, "POST", "/automation/app-robots", SCORING).status == 409
    assert [r["code"] for r in call(api, "GET", "/automation/app-robots").body] == ["credit_check"]
    assert (
        call(api, "GET", "/automation/app-robots/credit_check").body["handler_url"] == SCORING["handler_url"]
    )
    created = call(api, "POST", ROBOTS, robot({"note": "Check {{ item.title }}"}))
    assert created.status == 201, created.body
    # In use: removing the registration would leave a robot that can never run.
    assert call(api, "DELETE", "/automation/app-robots/credit_check").status == 409
    assert call(api, "DELETE", f"{ROBOTS}/{created.body['id']}").status == 204
    assert call(api, "DELETE", "/automation/app-robots/credit_check").status == 204
    assert call(api, "GET", "/automation/app-robots/credit_check").status == 404


def test_a_robot_naming_what_is_not_registered_or_not_taken_is_refused(api, sales):
    assert call(api, "POST", "/automation/app-robots", SCORING).status == 201
    for params, reason in (
        (robot({"note": "x"}, code="nothing_here"), "app robot 'nothing_here' is not registered"),
        (robot({}), "required by credit_check"),
        (robot({"note": "x", "color": "red"}), "credit_check takes no color"),
    ):
        refused = call(api, "POST", ROBOTS, params)
        assert refused.status == 422 and reason in refused.body["message"], refused.body


def test_a_registration_that_cannot_work_is_refused(api):
    for change, reason in (
        ({"handler_url": "http://scoring.example.com/"}, "https"),
        ({"properties": [{"name": "a", "type": "string"}] * 2}, "named once"),
        ({"code": "Bad Code"}, ""),
    ):
        refused = call(api, "POST", "/automation/app-robots", SCORING | change)
        assert refused.status == 422 and reason in refused.body["message"], refused.body
    assert call(api, "GET", "/automation/app-robots").body == []
