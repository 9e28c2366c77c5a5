"""The local runtime's API Gateway, on a throwaway template: routing, the REST proxy event, the
REQUEST authorizer and its cache, CORS preflight, binary bodies and the gateway's own answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

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
"""

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
        tmp_path_factory.mktemp("gateway"), TEMPLATE, {"echo": ECHO, "authorizer": AUTHORIZER}
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
