"""The local runtime's API Gateway, on a throwaway template: routing, the REST proxy event, the
REQUEST authorizer and its cache, CORS preflight, binary bodies, the gateway's own answers, the
HTTP server's refusals, and functions invoked concurrently up to their concurrency."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra.runtime import Options
from tests.e2e.harness import Answer, http, recorded, running, write_app

pytestmark = pytest.mark.e2e

TEMPLATE = """
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      Stage: {Type: String, Default: test}
    Globals:
      Function:
        Runtime: python3.13
        Handler: app.lambda_handler
        Environment:
          Variables:
            RECORD_DIR: "{record_dir}"
    Resources:
      Api:
        Type: AWS::Serverless::Api
        Properties:
          StageName: !Ref Stage
          BinaryMediaTypes: ["image~1png"]
          Cors:
            AllowOrigin: "'https://app.example'"
            AllowHeaders: "'Content-Type,Authorization'"
            MaxAge: "'600'"
          Auth:
            DefaultAuthorizer: KeyAuthorizer
            AddDefaultAuthorizerToCorsPreflight: false
            Authorizers:
              KeyAuthorizer:
                FunctionArn: !GetAtt AuthorizerFunction.Arn
                FunctionPayloadType: REQUEST
                Identity: {Headers: [Authorization], ReauthorizeEvery: 300}
      EchoFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: echo/
          Events:
            Item: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/items/{id}", Method: GET}}
            Special: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items/special, Method: GET}}
            Files: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/files/{proxy+}", Method: ANY}}
            Public:
              Type: Api
              Properties: {RestApiId: !Ref Api, Path: /public, Method: GET, Auth: {Authorizer: NONE}}
      AuthorizerFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: authorizer/
      SlowFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: slow/
          ReservedConcurrentExecutions: 2
          Events:
            Slow:
              Type: Api
              Properties: {RestApiId: !Ref Api, Path: /slow, Method: GET, Auth: {Authorizer: NONE}}
      ResolverFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: resolver/
          Events:
            Resolved:
              Type: Api
              Properties: {RestApiId: !Ref Api, Path: "/resolved/{id}", Method: GET, Auth: {Authorizer: NONE}}
"""

# Counts the invocations running at once (the sandboxes share this module in-process).
CONCURRENCY_PROBE = """
    import threading
    import time

    _lock = threading.Lock()
    _running = [0]
    _peak = [0]


    def busy(seconds):
        with _lock:
            _running[0] += 1
            _peak[0] = max(_peak[0], _running[0])
        time.sleep(seconds)
        with _lock:
            _running[0] -= 1
        return _peak[0]
"""

SLOW = (
    CONCURRENCY_PROBE
    + """
    def behave(event, context):
        return {"statusCode": 200, "body": json.dumps({"peak": busy(0.3)})}
"""
)

RESOLVER = (
    CONCURRENCY_PROBE
    + """
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver()


    @app.get("/resolved/<item>")
    def resolved(item):
        peak = busy(0.1)
        return {"route": item, "event": app.current_event.path_parameters["id"], "peak": peak}


    def behave(event, context):
        return app.resolve(event, context)
"""
)

ECHO = """
    import base64


    def behave(event, context):
        path = event["path"]
        if path == "/files/malformed":
            return {"body": "no status code"}
        if path == "/files/crash":
            raise RuntimeError("boom")
        if path == "/files/logo.png":
            png = base64.b64encode(b"\\x89PNG\\r\\n\\x1a\\n").decode()
            headers = {"Content-Type": "image/png"}
            return {"statusCode": 200, "headers": headers, "body": png, "isBase64Encoded": True}
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json", "X-Single": "one"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps(event),
        }

    import json
"""

AUTHORIZER = """
    def behave(event, context):
        token = event["headers"].get("Authorization", "")
        api = event["methodArn"].split("/")[0]
        if token == "Bearer allow":
            effect, resource = "Allow", f"{api}/*"
        elif token == "Bearer deny":
            effect, resource = "Deny", f"{api}/*"
        elif token == "Bearer items-only":
            effect, resource = "Allow", f"{api}/*/GET/items/*"
        else:
            raise Exception("Unauthorized")
        return {
            "principalId": "user-1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
            },
            "context": {"tenant_id": "t1", "admin": True, "level": 3},
        }
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    template = write_app(
        tmp_path_factory.mktemp("gateway"),
        TEMPLATE,
        {"echo": ECHO, "authorizer": AUTHORIZER, "slow": SLOW, "resolver": RESOLVER},
    )
    options = Options(template=template, api_port=0, smtp_port=0, demo=False, demo_file=None)
    with running(options) as runtime:
        yield runtime.api_url, template


def call(app: tuple[str, Path], method: str, path: str, token: str | None = "allow", **kwargs) -> Answer:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http(method, f"{app[0]}{path}", headers=headers, **kwargs)


def test_a_literal_path_wins_over_a_parameter(app) -> None:
    assert call(app, "GET", "/items/special").body["resource"] == "/items/special"

    event = call(app, "GET", "/items/42").body

    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "42"}


def test_a_greedy_path_takes_the_rest_for_any_method(app) -> None:
    event = call(app, "DELETE", "/files/a/b/c.txt").body

    assert event["resource"] == "/files/{proxy+}"
    assert event["httpMethod"] == "DELETE"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_the_proxy_event_has_api_gateways_shape(app) -> None:
    answer = call(app, "GET", "/items/7?tag=a&tag=b&q=x", headers={"X-Trace": "t"})
    event = answer.body

    assert event["path"] == "/items/7"
    assert event["queryStringParameters"] == {"tag": "b", "q": "x"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x"]}
    assert event["headers"]["X-Trace"] == "t"
    assert event["multiValueHeaders"]["X-Trace"] == ["t"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "test"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["accountId"] == "123456789012"
    assert context["requestId"]
    # The authorizer's context, as REST APIs pass it: values as strings, plus the principal.
    assert context["authorizer"]["tenant_id"] == "t1"
    assert context["authorizer"]["admin"] == "true"
    assert context["authorizer"]["level"] == "3"
    assert context["authorizer"]["principalId"] == "user-1"
    # The response's headers and multi-value headers both reach the client.
    assert answer.headers["X-Single"] == "one"


def test_a_missing_identity_header_is_refused_without_calling_the_authorizer(app) -> None:
    calls = len(recorded(app[1], "AuthorizerFunction"))

    answer = call(app, "GET", "/items/1", token=None)

    assert (answer.status, answer.body) == (401, {"message": "Unauthorized"})
    assert len(recorded(app[1], "AuthorizerFunction")) == calls


def test_the_authorizer_refusing_gives_401_and_a_deny_policy_gives_403(app) -> None:
    refused = call(app, "GET", "/items/1", token="wrong")
    denied = call(app, "GET", "/items/1", token="deny")

    assert (refused.status, refused.body) == (401, {"message": "Unauthorized"})
    assert denied.status == 403
    assert denied.body == {"Message": "User is not authorized to access this resource with an explicit deny"}


def test_a_cached_policy_is_evaluated_against_each_method(app) -> None:
    # Given a policy that allows GET /items/* only, cached for the token after the first call
    assert call(app, "GET", "/items/1", token="items-only").status == 200
    calls = len(recorded(app[1], "AuthorizerFunction"))

    # When the same token calls another route
    other = call(app, "GET", "/files/x", token="items-only")

    # Then the cached policy refuses it without a second authorizer call
    assert other.status == 403
    assert len(recorded(app[1], "AuthorizerFunction")) == calls


def test_a_route_without_authorizer_is_public(app) -> None:
    assert call(app, "GET", "/public", token=None).status == 200


def test_unknown_routes_and_methods_get_missing_authentication_token(app) -> None:
    for method, path in (("GET", "/nowhere"), ("POST", "/items/1"), ("GET", "/")):
        answer = call(app, method, path)
        assert (answer.status, answer.body) == (403, {"message": "Missing Authentication Token"}), path


def test_cors_preflight_is_answered_by_the_gateway(app) -> None:
    answer = call(app, "OPTIONS", "/items/1", token=None, headers={"Origin": "https://app.example"})

    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"
    assert answer.headers["Access-Control-Allow-Headers"] == "Content-Type,Authorization"
    assert answer.headers["Access-Control-Max-Age"] == "600"


def test_binary_media_types_travel_in_base64(app) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x01"

    event = call(app, "PUT", "/files/up.png", body=png, headers={"Content-Type": "image/png"}).body
    text = call(app, "PUT", "/files/up.txt", body=b"plain", headers={"Content-Type": "text/plain"}).body
    image = call(app, "GET", "/files/logo.png", headers={"Accept": "image/png"})

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png
    assert (text["isBase64Encoded"], text["body"]) == (False, "plain")
    assert image.body == b"\x89PNG\r\n\x1a\n"


def test_a_failing_function_or_a_malformed_response_gives_502(app) -> None:
    for path in ("/files/crash", "/files/malformed"):
        answer = call(app, "GET", path)
        assert (answer.status, answer.body) == (502, {"message": "Internal server error"}), path


def test_a_body_over_10_mb_is_refused(app) -> None:
    answer = call(app, "POST", "/files/big", body=b"x" * (10 * 1024 * 1024 + 1))

    assert answer.status == 413
    assert json.dumps(answer.body)


def raw(app, request: bytes) -> bytes:
    """Send bytes as they are and read until the server closes the connection."""
    url = urlsplit(app[0])
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("lengths", [["-1"], ["ten"], ["5", "7"]])
def test_a_content_length_that_is_not_one_number_gets_400_and_the_connection_closed(app, lengths) -> None:
    head = "".join(f"Content-Length: {value}\r\n" for value in lengths)

    received = raw(app, f"POST /files/x HTTP/1.1\r\nHost: local\r\n{head}\r\nhello".encode())

    status_line, _, rest = received.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request", received
    assert json.loads(rest.partition(b"\r\n\r\n")[2]) == {
        "message": "Content-Length must be one non-negative integer"
    }


def test_a_function_runs_concurrently_up_to_its_reserved_concurrency(app) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: call(app, "GET", "/slow", token=None), range(6)))

    assert {answer.status for answer in answers} == {200}
    assert max(answer.body["peak"] for answer in answers) == 2


def test_functions_resolving_with_powertools_take_turns_and_each_request_gets_its_own_event(app) -> None:
    # powertools keeps the event being resolved in process-wide state: at once, they would mix up.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda n: call(app, "GET", f"/resolved/{n}", token=None), range(8)))

    assert [(a.body["route"], a.body["event"]) for a in answers] == [(str(n), str(n)) for n in range(8)]
    assert max(answer.body["peak"] for answer in answers) == 1
