"""Site visits through API Gateway's shapes: a site made through the management API, its pages'
beacons (text/plain JSON, as navigator.sendBeacon sends) and a fetch's CORS preflight to
IngestHooksFunction. A known contact's visit fires *site visit*; coming back after half an hour,
*client returned to site*; the answer tells the public nothing; bad origins, keys and visits change
nothing."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales

SAMPLE = load_event("ingest_hooks/site_visit_beacon.json")
SHOP = "https://shop.acme.example"


def beacon(
    key: str, visit, origin: str | None = SHOP, method: str = "POST", content_type="text/plain"
) -> dict:
    event = copy.deepcopy(SAMPLE)
    path = f"/site/{key}/events"
    headers = {k: v for k, v in event["headers"].items() if k not in ("Origin", "Content-Type")}
    if origin is not None:
        headers["Origin"] = origin
    if content_type is not None:
        headers["Content-Type"] = content_type
    event.update(
        httpMethod=method,
        path=path,
        pathParameters={"site_key": key},
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        body=None if visit is None else visit if isinstance(visit, str) else json.dumps(visit),
    )
    event["requestContext"].update(httpMethod=method, path=f"/dev{path}")
    return load_handler("ingest_hooks").lambda_handler(event, lambda_context())


@pytest.fixture
def site(api, sales):
    """The shop site, and triggers on "Preparing documents" (a visit to the pricing page) and on
    "Awaiting payment" (the client came back)."""
    rules = [
        {
            "type_code": "visit",
            "stage_id": "preparing_documents",
            "name": "Saw the prices",
            "params": {"url": f"{SHOP}/pricing", "url_match": "prefix"},
        },
        {"type_code": "returned_to_site", "stage_id": "awaiting_payment", "name": "Came back"},
    ]
    ids = {}
    for rule in rules:
        answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
        assert answer.status == 201, answer.body
        ids[rule["name"]] = answer.body["id"]
    made = call(api, "POST", "/automation/sites", {"name": "Shop", "origins": [SHOP + "/"]})
    assert made.status == 201, made.body
    return ids, made.body


def stage(api, deal) -> str:
    return call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"]


def test_sites_are_made_listed_and_deleted_with_their_key_and_snippet(api, site):
    _, made = site
    assert made["origins"] == [SHOP] and made["key"] == f"crmsite_acme_{made['id']}"
    assert made["events_url"].endswith(f"/dev/site/{made['key']}/events")
    assert json.dumps(made["events_url"]) in made["snippet"] and "sendBeacon" in made["snippet"]
    assert call(api, "GET", "/automation/sites").body == [made]
    assert call(api, "GET", f"/automation/sites/{made['id']}").body == made
    assert api.call("GET", "/automation/sites", key=api.other_key).body == []
    assert call(api, "POST", "/automation/sites", {"name": "x", "origins": ["shop.example"]}).status == 422
    assert call(api, "POST", "/automation/sites", {"name": "x", "origins": []}).status == 422
    assert call(api, "DELETE", f"/automation/sites/{made['id']}").status == 204
    assert call(api, "DELETE", f"/automation/sites/{made['id']}").status == 404
    from crm.adapters import warm

    warm.clear()  # a container that has not read the site in the last minute
    assert beacon(made["key"], {"url": f"{SHOP}/", "visitor_id": "v1"})["statusCode"] == 404


def test_a_known_contacts_visit_moves_the_deal_and_the_answer_tells_nothing(api, site):
    rules, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    visit = {"url": f"{SHOP}/pricing/pro", "visitor_id": "v-maria", "email": "Maria@Client.example"}

    answer = beacon(made["key"], visit)

    assert answer["statusCode"] == 204 and answer["body"] == ""
    assert answer["headers"]["Access-Control-Allow-Origin"] == SHOP
    assert stage(api, deal) == "preparing_documents"
    (entry,) = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert entry["event"]["source"] == "site" and entry["event"]["data"] == {"url": visit["url"]}
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(rules["Saw the prices"], "moved")]
    # An unknown email is answered the same: the key is public
    stranger = beacon(made["key"], {**visit, "email": "who@else.example", "visitor_id": "v-2"})
    assert (stranger["statusCode"], stranger["body"]) == (204, "")


def test_a_visitor_coming_back_after_half_an_hour_has_returned(api, site, monkeypatch):
    from crm.domain import clock

    rules, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    start = clock.now()
    # The first visit names the contact; later ones only the visitor id, as pages after a sign-in do
    assert (
        beacon(made["key"], {"url": f"{SHOP}/", "visitor_id": "v-maria", "email": "maria@client.example"})[
            "statusCode"
        ]
        == 204
    )
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=10))
    assert beacon(made["key"], {"url": f"{SHOP}/about", "visitor_id": "v-maria"})["statusCode"] == 204
    assert stage(api, deal) == "new"  # the same session: no return, and no pricing page

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=45))
    assert beacon(made["key"], {"url": f"{SHOP}/", "visitor_id": "v-maria"})["statusCode"] == 204

    assert stage(api, deal) == "awaiting_payment"
    entries = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    # The last visit's two events happened at the same moment: their journal order is either
    assert sorted((e["event"]["type"], e["outcome"]) for e in entries) == [
        ("returned_to_site", "moved"),
        ("visit", "not_moved"),
        ("visit", "not_moved"),
        ("visit", "not_moved"),
    ]
    timeline = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"]
    (move,) = [e for e in timeline if e["kind"] == "stage_changed"]
    assert move["data"]["trigger"] == {"id": rules["Came back"], "name": "Came back"}


def test_a_resent_beacon_is_one_event(api, site):
    _, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    visit = {
        "url": f"{SHOP}/pricing",
        "visitor_id": "v-maria",
        "email": "maria@client.example",
        "event_id": "pv-1",
    }
    assert beacon(made["key"], visit)["statusCode"] == beacon(made["key"], visit)["statusCode"] == 204
    assert len(call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]) == 1


def test_a_visit_that_fails_to_apply_leaves_the_visitor_as_it_was(api, site, monkeypatch):
    from crm.domain import clock
    from crm.domain.errors import Throttled
    from crm.service import sites

    _, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    start = clock.now()
    visit = {"url": f"{SHOP}/", "visitor_id": "v-maria", "email": "maria@client.example"}
    assert beacon(made["key"], visit)["statusCode"] == 204
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=2))

    def busy(event, **kwargs):
        raise Throttled("the CRM's storage is busy: retry in a moment")

    with monkeypatch.context() as patched:
        patched.setattr(sites, "apply_trigger_event", busy)
        failed = beacon(made["key"], {**visit, "event_id": "pv-2"})
    retried = beacon(made["key"], {**visit, "event_id": "pv-2"})

    assert failed["statusCode"] == 503 and retried["statusCode"] == 204
    assert stage(api, deal) == "awaiting_payment"  # the retry still saw a return


def test_a_preflight_is_answered_for_the_sites_origins_only(api, site):
    _, made = site
    allowed = beacon(made["key"], None, method="OPTIONS", content_type=None)
    assert allowed["statusCode"] == 204
    assert allowed["headers"]["Access-Control-Allow-Origin"] == SHOP
    assert allowed["headers"]["Access-Control-Allow-Methods"] == "POST"
    refused = beacon(made["key"], None, origin="https://evil.example", method="OPTIONS", content_type=None)
    assert refused["statusCode"] == 403 and "Access-Control-Allow-Origin" not in refused["headers"]


@pytest.mark.parametrize(
    ("key", "visit", "origin", "content_type", "status"),
    [
        ("crmsite_acme_0a1b2c3d4e5f", {"url": f"{SHOP}/", "visitor_id": "v"}, SHOP, "text/plain", 404),
        ("nonsense", {"url": f"{SHOP}/", "visitor_id": "v"}, SHOP, "text/plain", 404),
        (None, {"url": f"{SHOP}/", "visitor_id": "v"}, "https://evil.example", "text/plain", 403),
        (None, {"url": f"{SHOP}/", "visitor_id": "v"}, None, "text/plain", 403),
        (None, {"url": "https://evil.example/", "visitor_id": "v"}, SHOP, "text/plain", 400),
        (None, {"url": f"{SHOP}/", "visitor_id": "v", "item": "DEAL_1"}, SHOP, "application/json", 400),
        (None, "{not json", SHOP, "text/plain", 400),
        (None, "", SHOP, "text/plain", 400),
        (None, {"url": f"{SHOP}/", "visitor_id": "v"}, SHOP, "application/xml", 415),
        (None, {"url": f"{SHOP}/" + "x" * 17000, "visitor_id": "v"}, SHOP, "text/plain", 413),
    ],
)
def test_bad_keys_origins_and_visits_are_refused_and_change_nothing(
    api, site, key, visit, origin, content_type, status
):
    _, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    if isinstance(visit, dict):
        visit = {**visit, "email": "maria@client.example"}
    answer = beacon(key or made["key"], visit, origin=origin, content_type=content_type)
    assert answer["statusCode"] == status, answer
    assert json.loads(answer["body"])["message"]
    if status == 400:  # the site's own page may read why
        assert answer["headers"]["Access-Control-Allow-Origin"] == SHOP
    assert call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"] == []
    assert call(api, "GET", "/journal?source=site").body["entries"] == []


def test_dynamodb_calls_per_visit(api, site, dynamodb):
    _, made = site
    new_deal(api, emails=["maria@client.example"])
    visit = {"url": f"{SHOP}/", "visitor_id": "v-maria", "email": "maria@client.example"}
    assert beacon(made["key"], {**visit, "event_id": "pv-0"})["statusCode"] == 204  # the site cached
    dynamodb.calls.clear()

    assert beacon(made["key"], {**visit, "event_id": "pv-1"})["statusCode"] == 204

    # The visitor's record written and its previous visit read (whom it is, whether a return) in one
    # call, which the engine's by-contact calls depend on
    assert [operation for operation, _ in dynamodb.calls] == [
        "UpdateItem",
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
    ]
