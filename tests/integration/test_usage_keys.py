"""A tenant's usage key in the stack's API Gateway usage plan (moto's API Gateway): made with the
tenant, or nothing is made at all."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION


@pytest.fixture
def apigateway(aws):
    return boto3.client("apigateway", region_name=REGION)


@pytest.fixture
def plan(apigateway):
    from crm.adapters.usage_plans import ApiGatewayUsagePlan

    return ApiGatewayUsagePlan(apigateway, apigateway.create_usage_plan(name="tenants")["id"])


def api_keys(apigateway) -> list[dict]:
    return apigateway.get_api_keys(includeValues=True)["items"]


def refuse(operation: str, apigateway) -> None:
    """API Gateway refuses ``operation`` from now on (as it would a missing plan or a quota)."""

    def refused(**_):
        error = {"Error": {"Code": "LimitExceededException", "Message": "refused"}}
        raise ClientError(error, operation)

    apigateway.meta.events.register(f"before-call.api-gateway.{operation}", refused)


def test_a_new_tenant_gets_a_usage_key_in_the_plan(apigateway, plan):
    from crm.service.tenants import create_tenant, usage_key_id

    create_tenant("Acme", "acme", plan)
    (key,) = api_keys(apigateway)
    assert key["name"] == "crm-tenant-acme" and key["enabled"]
    (in_plan,) = apigateway.get_usage_plan_keys(usagePlanId=plan.plan_id)["items"]
    assert in_plan["id"] == key["id"] == usage_key_id("acme")


def test_when_the_plan_refuses_the_key_no_key_and_no_tenant_is_left(apigateway, plan):
    from crm.domain.errors import NotFound
    from crm.service.tenants import create_tenant, usage_key_id

    refuse("CreateUsagePlanKey", apigateway)
    with pytest.raises(ClientError, match="refused"):
        create_tenant("Acme", "acme", plan)
    assert api_keys(apigateway) == []
    with pytest.raises(NotFound):
        usage_key_id("acme")


def test_when_the_tenant_exists_its_new_usage_key_is_deleted_again(apigateway, plan):
    from crm.domain.errors import Conflict
    from crm.service.tenants import create_tenant

    create_tenant("Acme", "acme", plan)
    with pytest.raises(Conflict, match="exists already"):
        create_tenant("Acme again", "acme", plan)
    (kept,) = api_keys(apigateway)
    assert [key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=plan.plan_id)["items"]] == [
        kept["id"]
    ]


def test_an_existing_tenant_gets_its_usage_key_attached_once(apigateway, plan):
    from crm.domain.errors import Conflict, NotFound
    from crm.service.tenants import attach_usage_plan, create_tenant, usage_key_id

    create_tenant("Acme", "acme")
    assert usage_key_id("acme") is None
    attached = attach_usage_plan("acme", plan)
    assert usage_key_id("acme") == attached.id
    with pytest.raises(Conflict, match="has a usage key already"):
        attach_usage_plan("acme", plan)
    with pytest.raises(NotFound):
        attach_usage_plan("nobody", plan)
    assert [key["id"] for key in api_keys(apigateway)] == [attached.id]
