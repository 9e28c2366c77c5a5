"""The public ingest edge: a REST proxy event read into a Request as the client sent it, and every
refusal answered with its one status and the CRM's error shape; never a 5xx for bad input."""

from __future__ import annotations

import base64
import json

import pytest

from crm.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    StaleWrite,
    Throttled,
    TooLarge,
    Unauthorized,
)
from crm.ingest.http import Request, Response, json_response, serve
from tests.conftest import lambda_context


def proxy_event(body: str | bytes | None = None, *, encoded: bool = False, **extra) -> dict:
    if isinstance(body, bytes):
        body, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/forms/{form_id}",
        "path": "/forms/f_acme_1",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": "api.test"},
        "multiValueHeaders": {},
        "queryStringParameters": {"code": "b"},
        "multiValueQueryStringParameters": {"code": ["a", "b"]},
        "pathParameters": {"form_id": "f_acme_1"},
        "requestContext": {"requestId": "req-1", "stage": "dev", "identity": {"sourceIp": "203.0.113.9"}},
        "body": body,
        "isBase64Encoded": encoded,
    } | extra


def test_a_request_is_read_as_the_client_sent_it():
    request = Request.of(proxy_event("name=Ann&name=Bo&email=ann%40x.test"))
    assert (request.method, request.path, request.resource) == ("POST", "/forms/f_acme_1", "/forms/{form_id}")
    assert request.path_params == {"form_id": "f_acme_1"} and request.query == {"code": ["a", "b"]}
    assert request.param("code") == "a" and request.param("missing") is None
    assert request.media_type == "application/x-www-form-urlencoded" and request.host == "api.test"
    assert (request.source_ip, request.request_id, request.stage) == ("203.0.113.9", "req-1", "dev")
    assert request.form() == {"name": ["Ann", "Bo"], "email": ["ann@x.test"]}


def test_a_binary_body_arrives_base64_encoded_and_is_decoded():
    assert Request.of(proxy_event(b"\x00\xffraw")).body == b"\x00\xffraw"


def test_a_form_that_is_not_utf8_is_a_400():
    handler = serve(lambda request: json_response(200, request.form()))
    answer = handler(proxy_event(b"name=\xff\xfe"), lambda_context())
    assert answer["statusCode"] == 400 and "UTF-8" in json.loads(answer["body"])["message"]


def test_a_json_body_that_does_not_parse_is_a_400_with_the_request_id():
    handler = serve(lambda request: json_response(200, request.json()))
    answer = handler(proxy_event('{"a": '), lambda_context())
    assert answer["statusCode"] == 400
    body = json.loads(answer["body"])
    assert body["message"].startswith("the body is not JSON") and body["request_id"] == "req-1"


def test_an_oversize_body_is_a_413_and_never_reaches_the_source():
    reached = []
    handler = serve(lambda request: reached.append(request) or Response(200), limit=10)
    answer = handler(proxy_event("x" * 11), lambda_context())
    assert answer["statusCode"] == 413 and reached == []


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (Invalid("bad"), 400),
        (Unauthorized("who"), 401),
        (Forbidden("no"), 403),
        (NotFound("none"), 404),
        (Conflict("taken"), 409),
        (TooLarge("big"), 413),
        (Throttled("busy"), 503),
        (StaleWrite("changed twice meanwhile"), 503),
    ],
)
def test_each_refusal_has_its_one_status(failure, status):
    def handle(request):
        raise failure

    answer = serve(handle)(proxy_event(""), lambda_context())
    assert answer["statusCode"] == status
    assert json.loads(answer["body"])["message"] == str(failure)
    assert ("Retry-After" in answer["headers"]) == (status == 503)


def test_a_form_of_more_fields_than_any_form_has_is_a_413_not_a_crash():
    handler = serve(lambda request: json_response(200, request.form()))
    answer = handler(proxy_event("&".join(f"f{n}=x" for n in range(1001))), lambda_context())
    assert answer["statusCode"] == 413 and "more than 1000 fields" in json.loads(answer["body"])["message"]


def test_an_unexpected_failure_is_a_500_that_names_no_internals():
    def handle(request):
        raise KeyError("secret detail")

    answer = serve(handle)(proxy_event(""), lambda_context())
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"]) == {"message": "internal error", "request_id": "req-1"}


def test_binary_answers_go_base64_and_text_answers_as_text():
    gif = Response(200, b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff", {"Content-Type": "image/gif"}).to_proxy()
    assert gif["isBase64Encoded"] and base64.b64decode(gif["body"]).startswith(b"GIF89a")
    text = Response(200, "<p>thanks</p>").to_proxy()
    assert text == {"statusCode": 200, "headers": {}, "body": "<p>thanks</p>", "isBase64Encoded": False}
