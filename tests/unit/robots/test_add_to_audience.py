"""*Add the contact to an ad audience*: the client's emails and phones leave the CRM only as
SHA-256 of the normal form each provider matches by, in a signed POST answered as webhooks are."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from crm.domain.ports import HttpAnswer
from crm.domain.robots import RobotFailed
from tests.fakes import FakeHttp, FakePorts, FakeSecrets
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

SECRET = "audience-feed-secret-7d41"
URL = "https://ads-feed.example.com/audiences/members"
CLIENT = deal(emails=[" Buyer@Client.TEST ", "ops@client.test"], phones=["+4930123456"])


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fakes(*answers: HttpAnswer) -> FakePorts:
    return FakePorts(http=FakeHttp(answers), secrets=FakeSecrets({("acme", "ads"): SECRET}))


def params(**changes: object) -> dict[str, object]:
    return {"url": URL, "secret_ref": "ads", "audience_id": "23851234", "provider": "google"} | changes


@pytest.mark.parametrize(("provider", "phone"), [("google", "+4930123456"), ("meta", "4930123456")])
def test_the_contact_is_sent_hashed_as_the_provider_matches_it(provider, phone):
    ports = fakes(HttpAnswer(200, {}, b'{"received": 3, "matched": 1}'))

    outputs, _ = ran(
        CLIENT, "add_to_audience", params(provider=provider, fields_from_answer=["matched"]), fakes=ports
    )

    (request,) = ports.http.requests
    assert json.loads(request.body) == {
        "audience_id": "23851234",
        "provider": provider,
        "contact": {
            "email_sha256": [sha256("buyer@client.test"), sha256("ops@client.test")],
            "phone_sha256": [sha256(phone)],
        },
    }
    assert b"client.test" not in request.body and b"30123456" not in request.body
    t, v1 = (part.split("=", 1)[1] for part in request.headers["X-Crm-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)
    assert request.headers["X-Idempotency-Key"] == "robot-run:acme:run-r1"
    assert outputs == {"status": 200, "matched": 1}


def test_a_contact_with_only_a_phone_is_sent_with_no_emails():
    ports = fakes()

    ran(deal(phones=["+4930123456"]), "add_to_audience", params(), fakes=ports)

    assert json.loads(ports.http.requests[0].body)["contact"] == {
        "email_sha256": [],
        "phone_sha256": [sha256("+4930123456")],
    }


def test_a_client_without_email_or_phone_fails_for_good_and_sends_nothing():
    ports = fakes()

    with pytest.raises(RobotFailed) as failed:
        ran(deal(), "add_to_audience", params(), fakes=ports)

    assert not failed.value.retryable and "deal/d-1 has no email or phone" in str(failed.value)
    assert ports.http.requests == []


def test_the_providers_answers_are_read_as_a_webhooks():
    with pytest.raises(RobotFailed) as busy:
        ran(CLIENT, "add_to_audience", params(), fakes=fakes(HttpAnswer(429, {"retry-after": "60"}, b"")))
    with pytest.raises(RobotFailed) as refused_audience:
        ran(CLIENT, "add_to_audience", params(), fakes=fakes(HttpAnswer(404, {}, b"no such audience")))

    assert busy.value.retryable and busy.value.retry_after == 60
    assert not refused_audience.value.retryable
    assert str(refused_audience.value) == "ads-feed.example.com answered 404: no such audience"


def test_the_same_run_twice_sends_the_same_request_under_the_same_key():
    ports = fakes()

    ran(CLIENT, "add_to_audience", params(), fakes=ports)
    ran(CLIENT, "add_to_audience", params(), fakes=ports)

    first, again = ports.http.requests
    assert first == again


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"audience_id": ""}, "audience_id: String should have at least 1 character"),
        ({"audience_id": "a b"}, "audience_id: String should match pattern"),
        ({"provider": "vk"}, "provider: Input should be 'google' or 'meta'"),
        ({"url": "http://ads-feed.example.com/"}, "an https:// address"),
        ({"secret_ref": "Has Spaces"}, "secret_ref: String should match pattern"),
        ({"emails": ["x@y.test"]}, "emails: Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(changes, message):
    assert message in refused("add_to_audience", params(**changes))


def test_the_provider_must_be_chosen():
    without = {name: value for name, value in params().items() if name != "provider"}
    assert "provider: Field required" in refused("add_to_audience", without)
