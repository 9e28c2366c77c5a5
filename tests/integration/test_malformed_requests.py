"""No request, however malformed, makes the API fail: every answer is a clear 2xx/4xx, never a 5xx
or an exception escaping the handler (schemathesis will extend this with the OpenAPI document)."""

from __future__ import annotations

import itertools

from tests.gateway import Gateway

BODIES = [
    None,
    {},
    [],
    "text",
    1,
    {"title": None},
    {"title": "x" * 300},
    {"stage_id": "../NEW"},
    {"name": ""},
    {"item_type": "deal", "name": "P", "stages": []},
    {"item_type": "../", "name": "P", "stages": [{"name": "!!"}]},
    {"fields": {"nested": {"object": 1}}},
    {"amount": "lots", "title": "t"},
    {"phones": ["+1"], "emails": ["a@b"], "title": "t"},
    {"type_code": "x", "stage_id": "NEW", "condition": {"join": "xor", "conditions": []}},
    {"code": "UPPER", "name": "n", "fields": [{"code": "a", "name": "a", "type": "enum"}]},
    {"stage_ids": ["NEW", "NEW"]},
    {"text": ""},
]
PATHS = [
    "/employees",
    "/employees/nobody",
    "/types",
    "/types/deal",
    "/pipelines",
    "/pipelines/sales",
    "/pipelines/sales/stages",
    "/pipelines/sales/stages/NEW",
    "/pipelines/sales/stage-order",
    "/items/deal",
    "/items/deal/1",
    "/items/deal/1/stage",
    "/items/deal/1/timeline?limit=1000",
    "/items/deal/1/comments",
    "/items?email=not-an-email",
    "/items/%2e%2e/1",
    "/items/deal?cursor=eyJwayI6eyJTIjoib3RoZXIjSVRFTSJ9fQ==",
    "/automation/deal/sales",
    "/automation/deal/sales/triggers",
    "/automation/deal/sales/robots/nothing",
    "/automation/deal/sales/widgets/nothing/copy",
    "/api-keys/nothing",
    "/mailbox",
]


def test_malformed_requests_get_client_errors_not_server_errors(aws):
    from crm.service.tenants import create_tenant

    gateway, key = Gateway(), create_tenant("Acme", "acme").api_key
    stages = [{"name": "New"}, {"name": "Won", "semantic": "success"}]
    gateway.call("POST", "/pipelines", {"item_type": "deal", "name": "Sales", "stages": stages}, key)
    gateway.call("POST", "/items/deal", {"title": "Forklift"}, key)
    failures = []
    for path, method, body in itertools.product(PATHS, ("GET", "POST", "PUT", "PATCH", "DELETE"), BODIES):
        try:
            answer = gateway.call(method, path, body, key)
        except Exception as error:  # the handler must not raise: API Gateway would answer 502
            failures.append((method, path, body, repr(error)[:200]))
            continue
        if answer.status >= 500:
            failures.append((method, path, body, answer.status, str(answer.body)[:200]))
    assert failures == []
