"""*Outgoing webhook*: a signed JSON POST (Stripe's signature scheme, checked here by a verifier
written from Stripe's documentation), the run's idempotency key, fields of a JSON answer as
outputs, and failures retried or not as the answer says."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from crm.domain.ports import HttpAnswer
from crm.domain.robots import RobotFailed
from crm.robots.web import retry_after
from tests.fakes import NOW, FakeHttp, FakePorts, FakeSecrets
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

SECRET = "whsec_5f1c0a9e3b7d4c2a8e6f"
URL = "https://erp.example.com/hooks/crm?source=robots"
CLIENT = deal(emails=["buyer@client.test"], phones=["+4930123456"], fields={"vat": "DE123"})


def fakes(*answers: HttpAnswer) -> FakePorts:
    return FakePorts(http=FakeHttp(answers), secrets=FakeSecrets({("acme", "erp"): SECRET}))


def json_answer(status: int, value: object, **headers: str) -> HttpAnswer:
    return HttpAnswer(status, {"content-type": "application/json", **headers}, json.dumps(value).encode())


def verified(header: str, body: bytes, secret: str) -> int:
    """Stripe's check of a signature header, written from its documentation: the HMAC-SHA256 of
    "<t>.<raw body>" under the secret, compared in constant time. Answers the signed time."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "the signature does not verify"
    return int(parts["t"])


def test_the_items_values_are_posted_signed_and_the_answers_fields_become_outputs():
    ports = fakes(json_answer(201, {"order_id": "A-17", "status": "queued", "lines": [1, 2], "other": 1}))
    params = {"url": URL, "secret_ref": "erp", "fields_from_answer": ["order_id", "lines", "absent"]}

    outputs, _ = ran(CLIENT, "outgoing_webhook", params, fakes=ports)

    (request,) = ports.http.requests
    assert (request.url, request.timeout) == (URL, 10.0)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Idempotency-Key"] == "robot-run:acme:run-r1"
    assert verified(request.headers["X-Crm-Signature"], request.body, SECRET) == int(NOW.timestamp())
    assert json.loads(request.body) == {
        "item": {
            "type": "deal",
            "id": "d-1",
            "pipeline_id": "sales",
            "stage_id": "NEW",
            "title": "Ten laptops",
            "amount": 12000.0,
            "currency": "EUR",
            "responsible_id": None,
            "emails": ["buyer@client.test"],
            "phones": ["+4930123456"],
            "company": None,
            "fields": {"vat": "DE123"},
        }
    }
    assert outputs == {"status": 201, "order_id": "A-17", "lines": [1, 2], "absent": None}


def test_a_body_and_headers_of_templates_with_an_earlier_robots_output():
    ports = fakes(HttpAnswer(204, {}, b""))
    params = {
        "url": URL,
        "secret_ref": "erp",
        "body": {"deal": "{{ item.id }}", "pay": "{{ robots.r0.payment_url }}", "note": "a\nb"},
        "headers": {"X-Source": "crm {{ item.title }}", "X-Deal": "{{ item.fields.vat }}\r\nX-Evil: 1"},
    }

    outputs, _ = ran(
        CLIENT,
        "outgoing_webhook",
        params,
        fakes=ports,
        earlier_outputs={"r0": {"payment_url": "https://p/1"}},
    )

    (request,) = ports.http.requests
    assert json.loads(request.body) == {"deal": "d-1", "pay": "https://p/1", "note": "a\nb"}
    assert request.headers["X-Source"] == "crm Ten laptops"
    assert request.headers["X-Deal"] == "DE123 X-Evil: 1"  # one line: it cannot add a header
    verified(request.headers["X-Crm-Signature"], request.body, SECRET)
    assert outputs == {"status": 204}


@pytest.mark.parametrize(
    "answer",
    [
        HttpAnswer(200, {"content-type": "text/plain"}, b"OK"),
        HttpAnswer(200, {}, b"\xff\xfe not utf-8"),
        json_answer(200, ["a", "list"]),
    ],
)
def test_an_answer_that_is_no_json_object_gives_just_the_status(answer):
    outputs, _ = ran(
        CLIENT,
        "outgoing_webhook",
        {"url": URL, "secret_ref": "erp", "fields_from_answer": ["a"]},
        fakes=fakes(answer),
    )

    assert outputs == {"status": 200}


def test_the_same_run_twice_sends_the_same_signed_request_under_the_same_key():
    ports = fakes()
    params = {"url": URL, "secret_ref": "erp"}

    ran(CLIENT, "outgoing_webhook", params, fakes=ports)
    ran(CLIENT, "outgoing_webhook", params, fakes=ports)  # a redelivered run

    first, again = ports.http.requests
    assert first == again  # the receiver sees one delivery twice, by its X-Idempotency-Key


@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        (HttpAnswer(503, {"retry-after": "120"}, b"busy"), 120),
        (HttpAnswer(429, {"Retry-After": "Mon, 02 Mar 2026 09:05:00 GMT"}, b""), 300),
        (HttpAnswer(500, {}, b"oops"), None),
        (HttpAnswer(408, {}, b""), None),
    ],
)
def test_throttles_and_server_errors_are_retried_after_what_the_answer_asks(answer, wait):
    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "outgoing_webhook", {"url": URL, "secret_ref": "erp"}, fakes=fakes(answer))

    assert failed.value.retryable and failed.value.retry_after == wait
    assert str(failed.value) == f"erp.example.com answered {answer.status}"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            json_answer(400, {"error": "no such deal"}),
            'erp.example.com answered 400: {"error": "no such deal"}',
        ),
        (HttpAnswer(404, {}, b""), "erp.example.com answered 404"),
        (HttpAnswer(301, {"location": "https://elsewhere.example/"}, b""), "erp.example.com answered 301"),
        (
            HttpAnswer(403, {}, b"denied\r\n" + b"x" * 500),
            "erp.example.com answered 403: denied  " + "x" * 192,
        ),
    ],
)
def test_other_answers_fail_for_good_quoting_the_answer(answer, message):
    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "outgoing_webhook", {"url": URL, "secret_ref": "erp"}, fakes=fakes(answer))

    assert not failed.value.retryable and str(failed.value) == message


def test_a_network_failure_is_retried():
    ports = fakes()
    ports.http.fail_next(1, RobotFailed("erp.example.com did not answer within 10 s"))

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "outgoing_webhook", {"url": URL, "secret_ref": "erp"}, fakes=ports)

    assert failed.value.retryable


def test_an_answer_field_too_long_to_keep_fails_for_good():
    ports = fakes(json_answer(200, {"blob": "x" * 5000}))

    with pytest.raises(RobotFailed) as failed:
        ran(
            CLIENT,
            "outgoing_webhook",
            {"url": URL, "secret_ref": "erp", "fields_from_answer": ["blob"]},
            fakes=ports,
        )

    assert not failed.value.retryable and "'blob' longer than 4000 characters" in str(failed.value)


@pytest.mark.parametrize("secrets", [FakeSecrets(), FakeSecrets({("other", "erp"): SECRET}), None])
def test_without_the_tenants_secret_nothing_is_sent_unsigned(secrets):
    ports = fakes()
    ports.secrets = secrets

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "outgoing_webhook", {"url": URL, "secret_ref": "erp"}, fakes=ports)

    assert not failed.value.retryable
    assert str(failed.value) == "secret_ref: the tenant has no secret named 'erp' to sign the request with"
    assert ports.http.requests == []


def test_retry_after_reads_seconds_and_http_dates_and_ignores_the_rest():
    assert retry_after("  30 ", NOW) == 30
    assert retry_after("Mon, 02 Mar 2026 08:00:00 GMT", NOW) == 0  # passed already: at once
    assert retry_after("Tue, 03 Mar 2026 09:00:01 GMT", NOW) == 86_400  # a day at most
    assert retry_after("soon", NOW) is None
    assert retry_after("-5", NOW) is None
    assert retry_after(None, NOW) is None


BASE = {"url": URL, "secret_ref": "erp"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": None}, "url: Field required"),
        ({"url": "http://erp.example.com/"}, "url: Value error, url: an https:// address"),
        ({"url": "https://127.0.0.1/x"}, "127.0.0.1 is not an address on the internet"),
        ({"url": "https://10.1.2.3/x"}, "10.1.2.3 is not an address on the internet"),
        ({"url": "https://[::1]/x"}, "::1 is not an address on the internet"),
        ({"url": "https://localhost:8443/"}, "localhost is not an address on the internet"),
        ({"url": "https://LocalHost./"}, "localhost. is not an address on the internet"),
        ({"url": "https://db.internal/"}, "db.internal is not an address on the internet"),
        ({"url": "https://u:p@erp.example.com/"}, "without a user name or password"),
        ({"url": "https://erp.example.com/a\r\nb"}, "no spaces, line breaks"),
        ({"secret_ref": None}, "secret_ref: Field required"),
        ({"secret_ref": "whsec_ABC!"}, "secret_ref: String should match pattern"),
        ({"secret": "whsec_x"}, "secret: Extra inputs are not permitted"),
        ({"fields_from_answer": ["status"]}, "not 'status', an output already"),
        ({"fields_from_answer": ["a-b"]}, "'a-b': a field name of letters"),
        ({"fields_from_answer": ["a", "a"]}, "each field is named once"),
        ({"headers": {"Authorization": "Bearer x"}}, "no credentials"),
        ({"headers": {"X-Crm-Signature": "t=1"}}, "only X-... headers"),
        ({"headers": {"X-Idempotency-Key": "k"}}, "only X-... headers"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "each header is named once"),
        ({"headers": {"X-A": "{{"}}, "not a valid template"),
        ({"body": {"a b": "x"}}, "'a b': a key of letters"),
        ({"body": {"a": {"nested": "x"}}}, "body.a: Input should be a valid string"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(changes, message):
    params = {name: value for name, value in (BASE | changes).items() if value is not None}
    assert message in refused("outgoing_webhook", params)
