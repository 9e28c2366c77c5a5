"""Webhook triggers through API Gateway's shapes: hooks made, listed, rotated and revoked through the
management API; their secret URLs called as Bitrix24's crm.automation.trigger is (GET, POST form,
POST JSON) with real REST proxy events to IngestHooksFunction. The deal moves once; a bad secret,
a malformed call and an unknown deal change nothing."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales

SAMPLE = load_event("ingest_hooks/hook_trigger_get.json")


def hook_call(secret: str, query: dict | None = None, method: str = "GET", body=None, headers=None) -> tuple:
    """(status, body as JSON) of the hook function for one call of the secret URL."""
    event = copy.deepcopy(SAMPLE)
    path = f"/hooks/{secret}/trigger"
    all_headers = {**event["headers"], **(headers or {})}
    if body is not None and not isinstance(body, str):
        all_headers.setdefault("Content-Type", "application/json")
        body = json.dumps(body)
    event.update(
        httpMethod=method,
        path=path,
        pathParameters={"secret": secret},
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters=None if query is None else {k: [v] for k, v in query.items()},
        body=body,
    )
    event["requestContext"].update(httpMethod=method, path=f"/dev{path}")
    answer = load_handler("ingest_hooks").lambda_handler(event, lambda_context())
    return answer["statusCode"], json.loads(answer["body"])


@pytest.fixture
def paid(api, sales):
    """A webhook trigger for code payment_received on "Awaiting payment", one for any code on
    "Preparing documents" only for deals over 5,000, and a hook."""
    rules = [
        {
            "type_code": "webhook",
            "stage_id": "awaiting_payment",
            "name": "Payment received",
            "params": {"code": "payment_received"},
        },
        {
            "type_code": "webhook",
            "stage_id": "preparing_documents",
            "name": "Big order",
            "condition": {"field": "amount", "op": ">", "value": 5000},
        },
    ]
    ids = {}
    for rule in rules:
        answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
        assert answer.status == 201, answer.body
        ids[rule["name"]] = answer.body["id"]
    hook = api.call("POST", "/automation/hooks", {"name": "ERP"}, api.key, {"X-Forwarded-Proto": "https"})
    assert hook.status == 201, hook.body
    return ids, hook.body


def secret_of(url: str) -> str:
    return urlsplit(url).path.split("/")[-2]


def test_a_hook_is_shown_once_listed_without_its_secret_and_its_url_fires_it(api, paid):
    rules, hook = paid
    assert (
        hook["url"]
        == f"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/hooks/{hook['secret']}/trigger"
    )
    assert hook["secret"].startswith("crmhook_acme_")
    listed = call(api, "GET", "/automation/hooks").body
    assert listed == [
        {k: hook[k] for k in ("id", "name", "created_at", "rotated_at", "previous_valid_until")}
    ]
    assert call(api, "GET", f"/automation/hooks/{hook['id']}").body == listed[0]
    assert api.call("GET", "/automation/hooks", key=api.other_key).body == []
    deal = new_deal(api, amount=900)

    status, fired = hook_call(
        secret_of(hook["url"]), {"target": f"DEAL_{deal['id']}", "code": "payment_received"}
    )

    assert status == 200, fired
    assert (fired["outcome"], fired["from_stage"], fired["stage_id"]) == ("moved", "new", "awaiting_payment")
    assert fired["rule_id"] == rules["Payment received"] and fired["item"] == {
        "type": "deal",
        "id": deal["id"],
    }
    timeline = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"]
    (move,) = [e for e in timeline if e["kind"] == "stage_changed"]
    assert move["data"]["trigger"] == {"id": rules["Payment received"], "name": "Payment received"}
    assert move["data"]["event"]["source"] == "webhook"
    (entry,) = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [
        (rules["Big order"], "condition_false"),
        (rules["Payment received"], "moved"),
    ]


def test_a_retried_call_is_one_event_and_gets_the_first_answer(api, paid):
    _, hook = paid
    deal = new_deal(api)
    query = {"target": f"DEAL_{deal['id']}", "code": "payment_received"}

    first = hook_call(hook["secret"], query)
    again = hook_call(hook["secret"], query)  # no request_id: the same minute makes it the same call
    with_id = hook_call(hook["secret"], query, headers={"Idempotency-Key": "erp-1"})
    with_id_again = hook_call(hook["secret"], {**query, "request_id": "erp-1"})

    assert first[0] == again[0] == 200 and again[1] == first[1]
    assert with_id[1]["outcome"] == "not_moved" and with_id_again[1] == with_id[1]
    assert len(call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]) == 2


def test_post_carries_the_parameters_as_a_form_or_json(api, paid):
    _, hook = paid
    form_deal, json_deal = new_deal(api), new_deal(api)
    form = urlencode({"target": f"DEAL_{form_deal['id']}", "code": "payment_received", "auth": "ignored"})
    by_form = hook_call(
        hook["secret"],
        method="POST",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    by_json = hook_call(
        hook["secret"], {"code": "payment_received"}, "POST", {"target": f"DEAL_{json_deal['id']}"}
    )
    assert by_form[0] == by_json[0] == 200
    assert by_form[1]["stage_id"] == by_json[1]["stage_id"] == "awaiting_payment"


@pytest.mark.parametrize(
    "secret",
    [
        "nonsense",
        "crmhook_acme_0a1b2c3d_" + "0" * 48,  # well formed, never issued
        "crm_acme_0a1b2c3d_" + "0" * 48,
    ],
)
def test_a_secret_that_opens_no_hook_is_401_and_changes_nothing(api, paid, secret):
    deal = new_deal(api)
    status, answer = hook_call(secret, {"target": f"DEAL_{deal['id']}", "code": "payment_received"})
    assert status == 401 and "not valid" in answer["message"]
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"
    assert call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"] == []


def test_another_tenants_secret_reaches_only_that_tenants_items(api, paid):
    deal = new_deal(api)
    theirs = api.call("POST", "/automation/hooks", {"name": "Globex ERP"}, key=api.other_key).body
    status, answer = hook_call(theirs["secret"], {"target": f"DEAL_{deal['id']}", "code": "payment_received"})
    assert status == 404 and "does not exist" in answer["message"]
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ({"code": "payment_received"}, 400, "target"),
        ({"target": "DEAL", "code": "payment_received"}, 400, "TYPE_ID"),
        ({"target": "DEAL_$1", "code": "payment_received"}, 400, "item id"),
        ({"target": "DEAL_{deal}", "code": "not a code"}, 400, "code"),
        ({"target": "DEAL_{deal}", "request_id": "with space"}, 400, "request_id"),
        ({"target": "DEAL_999999", "code": "payment_received"}, 404, "does not exist"),
    ],
)
def test_a_malformed_call_or_unknown_deal_is_refused_and_nothing_is_written(api, paid, query, status, says):
    _, hook = paid
    deal = new_deal(api)
    query = {k: v.replace("{deal}", deal["id"]) for k, v in query.items()}
    got, answer = hook_call(hook["secret"], query)
    assert (got, says in answer["message"]) == (status, True), answer
    assert call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"] == []
    assert call(api, "GET", "/journal?source=webhook").body["entries"] == []


def test_parameters_given_twice_must_agree_and_bodies_are_json_or_forms(api, paid):
    _, hook = paid
    deal = new_deal(api)
    target = f"DEAL_{deal['id']}"
    assert hook_call(hook["secret"], {"target": target}, "POST", {"target": "DEAL_999"})[0] == 400
    assert hook_call(hook["secret"], {"target": target}, "POST", ["not", "an", "object"])[0] == 400
    assert hook_call(hook["secret"], {"target": target}, "POST", {"target": 25})[0] == 400
    xml = hook_call(hook["secret"], {"target": target}, "POST", "<x/>", {"Content-Type": "text/xml"})
    assert xml[0] == 415
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"


def test_rotation_keeps_two_secrets_valid_until_the_old_one_is_revoked(api, paid, monkeypatch):
    from crm.domain import clock
    from crm.service import hooks

    _, hook = paid
    old = hook["secret"]
    first, second, third = new_deal(api), new_deal(api), new_deal(api)
    fire = {"code": "payment_received"}
    assert hook_call(old, {**fire, "target": f"DEAL_{first['id']}"})[0] == 200  # checked, and remembered

    rotated = call(api, "POST", f"/automation/hooks/{hook['id']}/rotate", {"grace_hours": 2})
    assert rotated.status == 200, rotated.body
    new = rotated.body["secret"]
    assert new != old and rotated.body["id"] == hook["id"] and rotated.body["previous_valid_until"]

    # During the rotation both open the hook
    assert hook_call(new, {**fire, "target": f"DEAL_{first['id']}"})[0] == 200
    assert hook_call(old, {**fire, "target": f"DEAL_{second['id']}"})[1]["stage_id"] == "awaiting_payment"

    # The previous secret revoked: it stops once a container's check of it lapses (60 s)
    assert call(api, "DELETE", f"/automation/hooks/{hook['id']}/previous").status == 204
    assert call(api, "GET", f"/automation/hooks/{hook['id']}").body["previous_valid_until"] is None
    later = clock.now() + hooks.CHECKED_FOR + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert hook_call(old, {**fire, "target": f"DEAL_{third['id']}"})[0] == 401
    assert hook_call(new, {**fire, "target": f"DEAL_{third['id']}"})[0] == 200
    assert call(api, "DELETE", f"/automation/hooks/{hook['id']}/previous").status == 404

    # The hook revoked: no secret opens it (a container that never checked it: at once)
    assert call(api, "DELETE", f"/automation/hooks/{hook['id']}").status == 204
    hooks._checked.clear()
    assert hook_call(new, {**fire, "target": f"DEAL_{third['id']}"})[0] == 401
    assert call(api, "GET", "/automation/hooks").body == []
    assert call(api, "DELETE", f"/automation/hooks/{hook['id']}").status == 404


def test_a_rotation_without_grace_stops_the_old_secret_at_once_in_a_new_container(api, paid):
    from crm.service import hooks

    _, hook = paid
    deal = new_deal(api)
    rotated = call(api, "POST", f"/automation/hooks/{hook['id']}/rotate", {"grace_hours": 0}).body
    hooks._checked.clear()
    assert hook_call(hook["secret"], {"target": f"DEAL_{deal['id']}"})[0] == 401
    assert hook_call(rotated["secret"], {"target": f"DEAL_{deal['id']}"})[0] == 200
    assert call(api, "POST", f"/automation/hooks/{hook['id']}/rotate", {"grace_hours": 721}).status == 422
    assert call(api, "POST", "/automation/hooks/ffffffff/rotate", {}).status == 404
