"""The REQUEST authorizer, with the event API Gateway sends it: the key's tenant, scope and usage key,
and a policy that API Gateway evaluates (here with the local runtime's evaluator)."""

from __future__ import annotations

import copy

import pytest

from infra.gateway.authorizers import evaluate
from tests.conftest import lambda_context, load_event, load_handler

ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev"


def authorize(header: str | None, method_arn: str = f"{ARN}/GET/pipelines"):
    event = copy.deepcopy(load_event("authorizer/request.json"))
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "Authorization"}
    event["methodArn"] = method_arn
    if header is not None:
        event["headers"]["Authorization"] = header
    return load_handler("authorizer").lambda_handler(event, lambda_context())


def admits(answer: dict, method: str, path: str) -> bool:
    """Whether API Gateway lets the cached answer through to ``method path`` of the same stage."""
    return evaluate(answer["policyDocument"], f"{ARN}/{method}{path}") == "Allow"


def test_a_valid_key_yields_its_tenant_and_scope_in_the_context(aws):
    from crm.service.tenants import create_tenant

    issued = create_tenant("Acme", "acme")
    answer = authorize(f"Bearer {issued.api_key}")
    assert answer["principalId"] == f"acme/{issued.key_id}"
    assert answer["context"] == {"tenant_id": "acme", "key_id": issued.key_id, "scope": "admin"}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [f"{ARN}/*/*"]
    # A tenant made without a usage plan (the local runtime) has no usage key to name.
    assert "usageIdentifierKey" not in answer


def test_an_items_key_is_allowed_items_only_by_the_policy(aws):
    from crm.domain.keys import Scope
    from crm.service.tenants import create_tenant, issue_key

    operator = create_tenant("Acme", "acme")
    items_key = issue_key("acme", operator.key_id, "webform", Scope.ITEMS)
    # The answer is cached per key and reused for other routes: the policy must hold for all of them.
    answer = authorize(f"Bearer {items_key.api_key}", f"{ARN}/POST/items/deal")
    assert answer["context"]["scope"] == "items"
    for method, path in [
        ("GET", "/items"),
        ("POST", "/items/deal"),
        ("POST", "/items/deal/7/stage"),
        ("GET", "/items/deal/7/timeline"),
    ]:
        assert admits(answer, method, path), (method, path)
    for method, path in [
        ("GET", "/pipelines"),
        ("POST", "/api-keys"),
        ("DELETE", "/api-keys/0a1b2c3d"),
        ("GET", "/itemsx"),
        ("GET", "/catalogue"),
        ("PUT", "/automation/deal/sales/triggers/t1"),
    ]:
        assert not admits(answer, method, path), (method, path)


def test_the_tenants_usage_key_is_named_for_api_gateways_usage_plan(aws):
    import boto3

    from crm.adapters.usage_plans import ApiGatewayUsagePlan
    from crm.service.tenants import create_tenant

    apigateway = boto3.client("apigateway")
    plan = apigateway.create_usage_plan(name="tenants")
    issued = create_tenant("Acme", "acme", ApiGatewayUsagePlan(apigateway, plan["id"]))
    (api_key,) = apigateway.get_api_keys(includeValues=True)["items"]
    assert authorize(f"Bearer {issued.api_key}")["usageIdentifierKey"] == api_key["value"]


def test_a_key_stored_before_scopes_existed_is_a_full_key(aws):
    from crm.adapters.tables import TenantsTableRecord
    from crm.service.tenants import create_tenant

    issued = create_tenant("Acme", "acme")
    TenantsTableRecord(pk="acme", sk=f"APIKEY#{issued.key_id}").update(
        actions=[TenantsTableRecord.scope.remove(), TenantsTableRecord.operator.remove()]
    )
    answer = authorize(f"Bearer {issued.api_key}")
    assert answer["context"]["scope"] == "admin"
    assert admits(answer, "DELETE", "/api-keys/0a1b2c3d")


def test_a_revoked_key_is_unauthorized(aws):
    from crm.service.tenants import create_tenant, issue_key, revoke_key

    operator = create_tenant("Acme", "acme")
    other = issue_key("acme", operator.key_id, "integration")
    revoke_key("acme", operator.key_id, other.key_id)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(f"Bearer {other.api_key}")
    assert authorize(f"Bearer {operator.api_key}")["context"]["tenant_id"] == "acme"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer crm_acme_00000000_" + "0" * 48,
        "Bearer crm_globex_{key_id}_{secret}",
        "Bearer crm_acme_{key_id}_" + "f" * 48,
        "Bearer crm_ACME_{key_id}_{secret}",
        "Bearer crm_acme_{key_id}_{secret}_extra",
    ],
)
def test_anything_but_a_valid_key_is_unauthorized(aws, header):
    from crm.service.tenants import create_tenant

    issued = create_tenant("Acme", "acme")
    create_tenant("Globex", "globex")
    secret = issued.api_key.rsplit("_", 1)[1]
    if header:
        header = header.format(key_id=issued.key_id, secret=secret)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(header)
