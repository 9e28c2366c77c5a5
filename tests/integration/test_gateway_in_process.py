"""The local runtime's gateway driven in-process, without a server: the template's routes and
authorizer in front of the real handlers, against moto (what tests/gateway.py can switch to)."""

from __future__ import annotations

import json

from infra.api import Gateway, Request
from infra.functions import Function
from infra.template import Stack
from tests.conftest import ROOT, load_handler


def gateway() -> Gateway:
    stack = Stack.load(ROOT / "template.yaml")
    functions = {
        "ApiFunction": Function(stack, "ApiFunction"),
        "AuthorizerFunction": Function(stack, "AuthorizerFunction"),
    }
    functions["ApiFunction"].use(load_handler("api").lambda_handler)
    functions["AuthorizerFunction"].use(load_handler("authorizer").lambda_handler)
    return Gateway.from_stack(stack, functions)


def test_a_request_passes_the_authorizer_and_reaches_the_api_function(aws):
    from crm.service.tenants import create_tenant

    key = create_tenant("Acme", "acme").api_key
    body = {"item_type": "deal", "name": "Sales", "stages": [{"name": "New"}, {"name": "Won"}]}
    headers = [("Authorization", f"Bearer {key}"), ("Content-Type", "application/json")]
    api = gateway()

    created = api.handle(Request("POST", "/pipelines", headers=headers, body=json.dumps(body).encode()))
    listed = api.handle(Request("GET", "/pipelines", query=[("item_type", "deal")], headers=headers))

    assert created.status == 201, created.body
    assert listed.status == 200
    assert [pipeline["name"] for pipeline in json.loads(listed.body)] == ["Sales"]


def test_the_gateway_answers_for_itself_without_a_key_or_a_route(aws):
    api = gateway()

    assert api.handle(Request("GET", "/pipelines")).status == 401
    assert api.handle(Request("GET", "/openapi.json")).status == 200
    missing = api.handle(Request("DELETE", "/openapi.json"))
    assert (missing.status, json.loads(missing.body)) == (403, {"message": "Missing Authentication Token"})
