"""The template's protections of the management API: authorizer cache short enough for revocation,
per-tenant usage plan fed by the authorizer, per-IP WAF limits (stricter on public ingest routes)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import template

RESOURCES = template()["Resources"]
API = RESOURCES["CrmApi"]["Properties"]


def rate_rules() -> dict[str, dict]:
    rules = RESOURCES["ApiWebAcl"]["Properties"]["Rules"]
    return {rule["Name"]: rule for rule in rules if "RateBasedStatement" in rule["Statement"]}


def ingest_pattern(stage: str) -> re.Pattern:
    statement = rate_rules()["public-ingest-per-ip"]["Statement"]["RateBasedStatement"]
    regex = statement["ScopeDownStatement"]["RegexMatchStatement"]["RegexString"]
    # !Sub "${Stage}": the loader keeps the intrinsic as {"Fn::Sub": text}.
    text = regex["Fn::Sub"] if isinstance(regex, dict) else regex
    return re.compile(text.replace("${Stage}", stage))


def test_a_revoked_key_passes_on_a_cached_authorization_for_at_most_a_minute():
    identity = API["Auth"]["Authorizers"]["TenantKeyAuthorizer"]["Identity"]
    assert identity["Headers"] == ["Authorization"]
    assert 0 < identity["ReauthorizeEvery"] <= 60


def test_each_tenant_is_throttled_by_a_usage_plan_that_the_authorizer_feeds():
    assert API["ApiKeySourceType"] == "AUTHORIZER"
    assert API["Auth"]["ApiKeyRequired"] is True
    plan = RESOURCES["TenantUsagePlan"]
    assert plan["Type"] == "AWS::ApiGateway::UsagePlan"
    (stage,) = plan["Properties"]["ApiStages"]
    assert stage == {"ApiId": {"Ref": "CrmApi"}, "Stage": {"Ref": "CrmApi.Stage"}}
    (stage_limits,) = API["MethodSettings"]
    # A tenant's limits are below the stage's, so one tenant alone cannot use up the whole API.
    assert plan["Properties"]["Throttle"]["RateLimit"] < stage_limits["ThrottlingRateLimit"]
    assert plan["Properties"]["Throttle"]["BurstLimit"] < stage_limits["ThrottlingBurstLimit"]
    assert template()["Outputs"]["TenantUsagePlanId"]["Value"] == {"Ref": "TenantUsagePlan"}


def test_public_routes_need_no_usage_key():
    # With ApiKeyRequired on the API, a method without an authorizer would have no key: 403.
    events = RESOURCES["ApiFunction"]["Properties"]["Events"]
    public = [
        event for event in events.values() if event["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    ]
    assert public
    assert all(event["Properties"]["Auth"]["ApiKeyRequired"] is False for event in public)


def test_every_source_ip_is_rate_limited_and_public_ingest_more_strictly():
    acl = RESOURCES["ApiWebAcl"]["Properties"]
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    association = RESOURCES["ApiWebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    assert "/restapis/${CrmApi}/stages/${CrmApi.Stage}" in association["ResourceArn"]["Fn::Sub"]
    rules = rate_rules()
    everything = rules["any-per-ip"]["Statement"]["RateBasedStatement"]
    ingest = rules["public-ingest-per-ip"]["Statement"]["RateBasedStatement"]
    assert everything["AggregateKeyType"] == ingest["AggregateKeyType"] == "IP"
    assert "ScopeDownStatement" not in everything
    assert ingest["Limit"] < everything["Limit"]
    for rule in rules.values():
        # Blocked with 429 and the API's error body (test_the_wafs_429_has_the_apis_error_shape).
        assert set(rule["Action"]) == {"Block"}
        assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429


@pytest.mark.parametrize("stage_prefix", ["", "/prod"])
@pytest.mark.parametrize(
    "path",
    [
        "/forms/contact",
        "/hooks/stripe",
        "/site/acme/widget.js",
        "/bookings",
        "/bookings/42",
        "/telephony/twilio/status",
        "/payments/stripe",
        "/chat/telegram",
    ],
)
def test_the_public_ingest_limit_covers_the_ingest_prefixes(stage_prefix, path):
    assert ingest_pattern("prod").search(stage_prefix + path)


@pytest.mark.parametrize(
    "path",
    [
        "/items/deal",
        "/items/t/1",
        "/pipelines",
        "/api-keys",
        "/prod/items/forms/1",
        "/bookingsx",
        "/dev/forms/x",
    ],
)
def test_the_public_ingest_limit_leaves_the_management_api_to_the_general_limit(path):
    assert not ingest_pattern("prod").search(path)


@pytest.mark.parametrize("path", ["/t/o/abc123", "/prod/t/c/abc123"])
def test_opens_and_clicks_are_held_to_the_general_limit_only(path):
    # Gmail's image proxy and mail gateways' link scanners fetch for many recipients from few
    # addresses: the strict per-IP limit would drop real opens and clicks.
    assert not ingest_pattern("prod").search(path)


# ---------------------------------------------------------------- API Gateway's own answers

ERROR_SHAPE = re.compile(
    r'^\{"message":(\$context\.error\.messageString|"[^"$]+"),"request_id":"\$context\.requestId"\}$'
)


def test_api_gateways_own_answers_have_the_apis_error_shape():
    responses = API["GatewayResponses"]
    # The defaults cover every answer API Gateway gives by itself; the named ones say more.
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED"} <= set(responses)
    for kind, response in responses.items():
        assert set(response["ResponseTemplates"]) == {"application/json"}, kind
        assert ERROR_SHAPE.match(response["ResponseTemplates"]["application/json"]), kind
    assert responses["UNAUTHORIZED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == "'Bearer'"
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
    # A path that no route serves is a 404 saying so, not API Gateway's 403 "Missing Authentication Token".
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == 404


def test_an_answer_of_api_gateway_is_a_valid_error_body_once_rendered():
    import json

    from crm.api.schemas import Error

    for response in API["GatewayResponses"].values():
        rendered = (
            response["ResponseTemplates"]["application/json"]
            .replace("$context.error.messageString", json.dumps('Say "when"'))
            .replace("$context.requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
        )
        Error.model_validate_json(rendered)


def test_the_wafs_429_has_the_apis_error_shape():
    import json

    from crm.api.schemas import Error

    acl = RESOURCES["ApiWebAcl"]["Properties"]
    bodies = acl["CustomResponseBodies"]
    for rule in rate_rules().values():
        response = rule["Action"]["Block"]["CustomResponse"]
        assert response["ResponseCode"] == 429
        body = bodies[response["CustomResponseBodyKey"]]
        assert body["ContentType"] == "APPLICATION_JSON"
        Error.model_validate(json.loads(body["Content"]))
        assert {"Name": "Retry-After", "Value": "60"} in response["ResponseHeaders"]
