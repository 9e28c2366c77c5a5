"""*App robot*: a robot an application registered runs through the application's handler: the request
signed as the CRM signs, the answer signed by the application with the same secret, its return
properties as outputs."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from crm.domain.app_robots import AppRobot
from crm.domain.errors import Invalid
from crm.domain.ports import HttpAnswer
from crm.domain.robots import RobotFailed
from tests.fakes import NOW, FakeAppRobots, FakeHttp, FakePorts, FakeSecrets
from tests.unit.builders import deal
from tests.unit.robots.running import ran

SECRET = "app-secret-7f3a9c1e5b"
SCORING = AppRobot(
    code="credit_check",
    name="Credit check",
    handler_url="https://scoring.example.com/crm/robots",
    secret_ref="scoring",
    properties=({"name": "note", "type": "string", "required": True}, {"name": "limit", "type": "number"}),
    returns=({"name": "score", "type": "number", "required": True}, {"name": "approved", "type": "boolean"}),
    created_at=NOW,
)
CLIENT = deal(emails=["buyer@client.test"])


def signed_answer(value: dict, secret: str = SECRET, at: int | None = None) -> HttpAnswer:
    """What the application answers: the JSON object, with the signature it computes (Stripe's scheme)."""
    body = json.dumps(value).encode()
    t = int(NOW.timestamp()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return HttpAnswer(200, {"Content-Type": "application/json", "X-Crm-Signature": f"t={t},v1={mac}"}, body)


def fakes(*answers: HttpAnswer) -> FakePorts:
    return FakePorts(
        http=FakeHttp(answers),
        secrets=FakeSecrets({("acme", "scoring"): SECRET}),
        app_robots=FakeAppRobots([SCORING]),
    )


PARAMS = {"code": "credit_check", "properties": {"note": "Check {{ item.title }}", "limit": 5000}}


def test_the_handler_gets_the_item_and_rendered_properties_and_its_signed_answer_gives_the_outputs():
    ports = fakes(
        signed_answer(
            {"run_id": "run-r1", "score": 712, "approved": True, "internal": "not a return property"}
        )
    )
    outputs, _ = ran(CLIENT, "app_robot", PARAMS, fakes=ports)
    assert outputs == {"score": 712, "approved": True}
    (request,) = ports.http.requests
    sent = json.loads(request.body)
    assert sent["robot"] == "credit_check" and sent["item"]["title"] == "Ten laptops"
    assert sent["properties"] == {"note": "Check Ten laptops", "limit": 5000}
    t, v1 = (part.split("=", 1)[1] for part in request.headers["X-Crm-Signature"].split(","))
    assert hmac.compare_digest(
        v1, hmac.new(SECRET.encode(), f"{t}.".encode() + request.body, "sha256").hexdigest()
    )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (HttpAnswer(200, {}, b'{"score": 1}'), "no X-Crm-Signature"),
        (signed_answer({"run_id": "run-r1", "score": 1}, secret="another-secret-entirely"), "does not match"),
        (signed_answer({"run_id": "run-r1", "score": 1}, at=int(NOW.timestamp()) - 3600), "300 s from now"),
        (signed_answer({"run_id": "run-r1", "approved": True}), "lacks 'score'"),
        (signed_answer({"run_id": "run-r1", "score": "high"}), "'score' is not a number"),
        (signed_answer({"run_id": "run-of-another-item", "score": 1}), "does not name this run"),
    ],
)
def test_an_answer_that_is_not_signed_or_not_what_the_robot_returns_fails_the_run_for_good(answer, reason):
    with pytest.raises(RobotFailed, match=reason) as failed:
        ran(CLIENT, "app_robot", PARAMS, fakes=fakes(answer))
    assert not failed.value.retryable


def test_a_robot_no_longer_registered_fails_for_good():
    ports = FakePorts(http=FakeHttp(), secrets=FakeSecrets({("acme", "scoring"): SECRET}))
    with pytest.raises(RobotFailed, match="not registered") as failed:
        ran(CLIENT, "app_robot", PARAMS, fakes=ports)
    assert not failed.value.retryable and ports.http.requests == []


def test_a_handler_that_is_down_is_tried_again():
    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "app_robot", PARAMS, fakes=fakes(HttpAnswer(503, {"Retry-After": "30"}, b"")))
    assert failed.value.retryable and failed.value.retry_after == 30


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({}, "properties.note: required by credit_check"),
        ({"note": "x", "color": "red"}, "credit_check takes no color"),
        ({"note": "x", "limit": "many"}, "properties.limit: a number"),
    ],
)
def test_properties_the_registration_does_not_take_are_invalid(properties, reason):
    with pytest.raises(Invalid, match=reason):
        SCORING.checked(properties)


def test_a_registration_needs_an_https_handler_and_well_named_properties():
    with pytest.raises(Invalid, match="https"):
        AppRobot("x_check", "X", "http://scoring.example.com/", "s", (), (), NOW)
    with pytest.raises(Invalid, match="named once"):
        AppRobot(
            "x_check", "X", "https://a.example.com/", "s", ({"name": "a", "type": "string"},) * 2, (), NOW
        )
