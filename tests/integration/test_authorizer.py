"""The REQUEST authorizer, with the event API Gateway sends it."""

from __future__ import annotations

import copy

import pytest

from tests.conftest import lambda_context, load_event, load_handler


def authorize(header: str | None):
    event = copy.deepcopy(load_event("authorizer/request.json"))
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "Authorization"}
    if header is not None:
        event["headers"]["Authorization"] = header
    return load_handler("authorizer").lambda_handler(event, lambda_context())


def test_a_valid_key_yields_its_tenant_in_the_context(aws):
    from crm.service.tenants import create_tenant

    issued = create_tenant("Acme", "acme")
    policy = authorize(f"Bearer {issued.api_key}")
    assert policy["principalId"] == f"acme/{issued.key_id}"
    assert policy["context"] == {"tenant_id": "acme", "key_id": issued.key_id}
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/dev/*/*"]


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
