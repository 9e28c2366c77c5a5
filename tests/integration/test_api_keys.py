"""API keys: scopes (admin, items), who may mint and revoke which key, the operator's key, and
revocation inside API Gateway's authorizer cache window.

Most tests go through the local runtime's API Gateway, in this process: it evaluates the
authorizer's policy and caches its answer per key for the template's ReauthorizeEvery, as API
Gateway does."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from infra.api import Gateway as LocalGateway
from infra.api import Request
from infra.functions import Function
from infra.template import Stack
from tests.conftest import ROOT
from tests.gateway import Gateway

NOT_AUTHORIZED = {"Message": "User is not authorized to access this resource"}


class Api:
    def __init__(self, gateway: LocalGateway) -> None:
        self.gateway = gateway

    def call(self, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
        headers = [("Host", "127.0.0.1:3000"), ("Authorization", f"Bearer {key}")]
        data = b""
        if body is not None:
            headers.append(("Content-Type", "application/json"))
            data = json.dumps(body).encode()
        path, _, query = path.partition("?")
        params = [tuple(pair.split("=", 1)) for pair in query.split("&") if pair]
        response = self.gateway.handle(Request(method, path, params, headers, data, "127.0.0.1", 3000))
        return response.status, json.loads(response.body) if response.body else None


@pytest.fixture(scope="module")
def loaded() -> tuple[Stack, dict[str, Function]]:
    stack = Stack.load(ROOT / "template.yaml")
    # The two functions a management API request meets (the others need resources made in AWS).
    functions = {name: Function(stack, name) for name in ("ApiFunction", "AuthorizerFunction")}
    for function in functions.values():
        function.load()
    return stack, functions


@pytest.fixture
def api(aws, loaded):
    # A gateway of its own per test: its authorizer cache starts empty.
    return Api(LocalGateway.from_stack(*loaded))


@pytest.fixture
def operator(aws):
    from crm.service.tenants import create_tenant

    return create_tenant("Acme", "acme")


def refusal(answer: tuple[int, Any]) -> tuple[int, str]:
    status, body = answer
    return status, body["message"]


def mint(api: Api, key: str, name: str, scope: str | None = None) -> dict:
    status, body = api.call("POST", "/api-keys", key, {"name": name, **({"scope": scope} if scope else {})})
    assert status == 201, body
    return body


def test_an_items_key_reaches_items_only_and_api_gateway_refuses_the_rest(api, operator):
    webform = mint(api, operator.api_key, "webform", "items")
    assert (webform["scope"], webform["operator"]) == ("items", False)
    assert api.call("GET", "/items?email=anna@acme.test", webform["key"]) == (200, [])
    assert api.call("GET", "/pipelines", webform["key"]) == (403, NOT_AUTHORIZED)
    assert api.call("POST", "/api-keys", webform["key"], {"name": "mine"}) == (403, NOT_AUTHORIZED)
    assert api.call("DELETE", f"/api-keys/{operator.key_id}", webform["key"]) == (403, NOT_AUTHORIZED)
    # The cached answer of an admin key still opens everything.
    assert api.call("GET", "/pipelines", operator.api_key)[0] == 200
    assert api.call("GET", "/items?email=anna@acme.test", operator.api_key) == (200, [])


def test_the_api_refuses_a_route_outside_the_keys_scope_even_past_the_policy(aws, operator):
    from crm.domain.keys import Scope
    from crm.service.tenants import issue_key

    # tests.gateway lets any Allow policy through, as a too-wide policy would: the API checks again.
    gateway = Gateway()
    items_key = issue_key("acme", operator.key_id, "webform", Scope.ITEMS).api_key
    refused = gateway.call("GET", "/pipelines", key=items_key)
    assert refused.status == 403
    assert refused.body["message"] == "an API key of scope items cannot reach /pipelines"
    assert gateway.call("POST", "/api-keys", {"name": "x"}, key=items_key).status == 403
    assert gateway.call("GET", "/items?email=anna@acme.test", key=items_key).status == 200
    assert len(gateway.call("GET", "/api-keys", key=operator.api_key).body) == 2


def test_a_key_cannot_mint_or_revoke_a_key_of_wider_scope(aws, operator):
    from crm.adapters import tenants as store
    from crm.domain.errors import Forbidden
    from crm.domain.keys import Scope
    from crm.service.tenants import issue_key, list_keys, revoke_key

    items_key = issue_key("acme", operator.key_id, "webform", Scope.ITEMS)
    with pytest.raises(Forbidden, match="cannot create a key of the wider scope admin"):
        issue_key("acme", items_key.key_id, "escalate", Scope.ADMIN)
    admin_key = issue_key("acme", operator.key_id, "integration", Scope.ADMIN)
    with pytest.raises(Forbidden, match=f"cannot revoke API key '{admin_key.key_id}' of the wider scope"):
        revoke_key("acme", items_key.key_id, admin_key.key_id)
    assert not store.get_key("acme", admin_key.key_id).revoked
    assert len(list_keys("acme", operator.key_id)) == 3
    # Within its own scope an items key may do both.
    sibling = issue_key("acme", items_key.key_id, "second form")
    assert sibling.scope is Scope.ITEMS
    revoke_key("acme", items_key.key_id, sibling.key_id)
    assert store.get_key("acme", sibling.key_id).revoked


def test_a_new_key_has_the_scope_of_the_key_that_mints_it_unless_told(api, operator):
    assert mint(api, operator.api_key, "integration")["scope"] == "admin"
    status, body = api.call("POST", "/api-keys", operator.api_key, {"name": "x", "scope": "everything"})
    assert status == 422 and "scope" in json.dumps(body)
    assert len(api.call("GET", "/api-keys", operator.api_key)[1]) == 2


def test_the_operator_key_cannot_be_revoked_by_another_key(api, operator):
    other = mint(api, operator.api_key, "integration")
    assert refusal(api.call("DELETE", f"/api-keys/{operator.key_id}", other["key"])) == (
        403,
        f"API key '{operator.key_id}' is the operator's: only an operator key can revoke it",
    )
    listed = {key["id"]: key for key in api.call("GET", "/api-keys", operator.api_key)[1]}
    assert (listed[operator.key_id]["operator"], listed[other["id"]]["operator"]) == (True, False)
    assert api.call("DELETE", f"/api-keys/{other['id']}", operator.api_key) == (204, None)


def test_a_revoked_key_cannot_mint_or_revoke_keys_inside_the_cache_window(api, operator, monkeypatch):
    from crm.adapters import tenants as store

    a = mint(api, operator.api_key, "laptop")
    b = mint(api, operator.api_key, "server")
    assert api.call("GET", "/api-keys", a["key"])[0] == 200  # A's authorization is now cached
    assert api.call("DELETE", f"/api-keys/{a['id']}", b["key"]) == (204, None)

    # Inside ReauthorizeEvery API Gateway still lets A through: the rest of the API serves it...
    assert api.call("GET", "/pipelines", a["key"])[0] == 200
    # ...but the key routes read A's record and refuse it.
    revoked = (401, "this API key has been revoked")
    assert refusal(api.call("POST", "/api-keys", a["key"], {"name": "backdoor"})) == revoked
    assert refusal(api.call("DELETE", f"/api-keys/{b['id']}", a["key"])) == revoked
    assert refusal(api.call("GET", "/api-keys", a["key"])) == revoked
    assert {key["id"] for key in api.call("GET", "/api-keys", b["key"])[1]} == {operator.key_id, b["id"]}

    # The revocation is kept as an audit trail; revoking again finds no key in use.
    record = store.get_key("acme", a["id"])
    assert record.revoked_by == b["id"] and record.revoked_at is not None
    status, body = api.call("DELETE", f"/api-keys/{a['id']}", b["key"])
    assert status == 404 and a["id"] in body["message"]

    # Once the cached answer expires (60 s, the template's ReauthorizeEvery), API Gateway refuses A.
    started = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: started + 61)
    assert api.call("GET", "/pipelines", a["key"]) == (401, {"message": "Unauthorized"})
    assert api.call("GET", "/pipelines", b["key"])[0] == 200
