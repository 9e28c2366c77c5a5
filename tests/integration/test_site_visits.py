"""Site visits through API Gateway's shapes: a site made through the management API, its pages'
beacons (text/plain JSON, as navigator.sendBeacon sends) and a fetch's CORS preflight to
IngestHooksFunction. A visit whose contact the site's backend vouched for (a signed contact token)
fires *site visit*; coming back after half an hour, *client returned to site*; a contact named
without the site's signature moves and links nothing; the signing secret rotates with two valid at
once; the answer tells the public nothing; bad origins, keys and visits change nothing."""

from __future__ import annotations

import copy
import json
import textwrap
from datetime import timedelta

import pytest

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales
from tests.unit.test_site_visits import contact_token

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


def vouched(secret: str, visitor_id: str, email: str = "maria@client.example", minutes: int = 60) -> str:
    """The contact token the site's backend signs for a signed-in visitor, valid ``minutes`` more."""
    from crm.domain import clock

    expires = int((clock.now() + timedelta(minutes=minutes)).timestamp())
    return contact_token(secret, {"email": email, "visitor_id": visitor_id, "exp": expires})


def journal(api, deal) -> list:
    return call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]


def later(monkeypatch, start, **delta) -> None:
    """The clock moved on (past the minute a warm container keeps a site it read)."""
    from crm.domain import clock

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(**delta))


def test_sites_are_made_listed_and_deleted_with_their_key_snippet_and_secret_shown_once(api, site):
    _, made = site
    assert made["origins"] == [SHOP] and made["key"] == f"crmsite_acme_{made['id']}"
    assert made["secret"].startswith("crmsitesecret_") and len(made["secret"]) == 57
    assert made["events_url"].endswith(f"/dev/site/{made['key']}/events")
    assert json.dumps(made["events_url"]) in made["snippet"] and "sendBeacon" in made["snippet"]
    assert "crmContactToken" in made["snippet"] and "HMAC-SHA256" in made["contact_token_format"]
    shown = {k: v for k, v in made.items() if k != "secret"}
    assert call(api, "GET", "/automation/sites").body == [shown]
    assert call(api, "GET", f"/automation/sites/{made['id']}").body == shown
    assert made["secret"] not in json.dumps(call(api, "GET", "/automation/sites").body)
    assert api.call("GET", "/automation/sites", key=api.other_key).body == []
    assert call(api, "POST", "/automation/sites", {"name": "x", "origins": ["shop.example"]}).status == 422
    assert call(api, "POST", "/automation/sites", {"name": "x", "origins": []}).status == 422
    assert call(api, "DELETE", f"/automation/sites/{made['id']}").status == 204
    assert call(api, "DELETE", f"/automation/sites/{made['id']}").status == 404
    assert call(api, "POST", f"/automation/sites/{made['id']}/rotate", {}).status == 404
    from crm.adapters import warm

    warm.clear()  # a container that has not read the site in the last minute
    assert beacon(made["key"], {"url": f"{SHOP}/", "visitor_id": "v1"})["statusCode"] == 404


def test_a_visit_the_sites_backend_vouched_for_moves_the_deal_and_the_answer_tells_nothing(api, site):
    rules, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    token = vouched(made["secret"], "v-maria", email="Maria@Client.example")
    visit = {"url": f"{SHOP}/pricing/pro", "visitor_id": "v-maria", "contact_token": token}

    answer = beacon(made["key"], visit)

    assert answer["statusCode"] == 204 and answer["body"] == ""
    assert answer["headers"]["Access-Control-Allow-Origin"] == SHOP
    assert answer["headers"]["Crm-Contact-Token"] == "verified"
    assert stage(api, deal) == "preparing_documents"
    (entry,) = journal(api, deal)
    assert entry["event"]["source"] == "site" and entry["event"]["data"] == {"url": visit["url"]}
    assert entry["event"]["contact"] == {"kind": "email", "value": "maria@client.example"}
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(rules["Saw the prices"], "moved")]
    # A contact no item has is answered the same: the key is public
    stranger = beacon(
        made["key"],
        {**visit, "visitor_id": "v-2", "contact_token": vouched(made["secret"], "v-2", "who@else.example")},
    )
    assert (stranger["statusCode"], stranger["body"], stranger["headers"]["Crm-Contact-Token"]) == (
        204,
        "",
        "verified",
    )


def test_a_contact_named_without_the_sites_signature_moves_nothing_and_links_nothing(api, site, monkeypatch):
    from crm.domain import clock

    _, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    start = clock.now()
    page = {"url": f"{SHOP}/pricing", "visitor_id": "v-attacker"}
    other_site = call(api, "POST", "/automation/sites", {"name": "Blog", "origins": [SHOP]}).body
    expires = int((start + timedelta(hours=1)).timestamp())

    # The site key and Origin are public: anyone may claim to be Maria ...
    forged_email = beacon(made["key"], {**page, "email": "maria@client.example"})
    forged_phone = beacon(made["key"], {**page, "phone": "+447700900123"})
    # ... or bring a token the site's backend never signed, or one for another visitor or site
    tokens = {
        "self-signed": contact_token(
            "crmsitesecret_" + "A" * 43,
            {"email": "maria@client.example", "visitor_id": "v-attacker", "exp": expires},
        ),
        "another visitor's": vouched(made["secret"], "v-maria"),
        "another site's": vouched(other_site["secret"], "v-attacker"),
        "expired": vouched(made["secret"], "v-attacker", minutes=-1),
        "garbage": "not-a-token",
    }
    answers = {name: beacon(made["key"], {**page, "contact_token": token}) for name, token in tokens.items()}

    assert forged_email["statusCode"] == forged_phone["statusCode"] == 400
    assert "contact_token" in json.loads(forged_email["body"])["message"]
    assert {name: (a["statusCode"], a["headers"]["Crm-Contact-Token"]) for name, a in answers.items()} == {
        "self-signed": (204, "refused"),
        "another visitor's": (204, "refused"),
        "another site's": (204, "refused"),
        "expired": (204, "expired"),
        "garbage": (204, "refused"),
    }
    # And the attacker's visitor id was linked to no one: coming back fires nothing either
    later(monkeypatch, start, hours=2)
    assert beacon(made["key"], page)["statusCode"] == 204
    assert stage(api, deal) == "new"
    assert journal(api, deal) == []
    assert call(api, "GET", "/journal?source=site").body["entries"] == []


def test_a_visitor_coming_back_after_half_an_hour_has_returned(api, site, monkeypatch):
    from crm.domain import clock

    rules, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    start = clock.now()
    # The first visit is vouched for (after a sign-in); later ones carry only the visitor id
    signed_in = {
        "url": f"{SHOP}/",
        "visitor_id": "v-maria",
        "contact_token": vouched(made["secret"], "v-maria"),
    }
    assert beacon(made["key"], signed_in)["statusCode"] == 204
    later(monkeypatch, start, minutes=10)
    assert beacon(made["key"], {"url": f"{SHOP}/about", "visitor_id": "v-maria"})["statusCode"] == 204
    assert stage(api, deal) == "new"  # the same session: no return, and no pricing page

    later(monkeypatch, start, minutes=45)
    assert beacon(made["key"], {"url": f"{SHOP}/", "visitor_id": "v-maria"})["statusCode"] == 204

    assert stage(api, deal) == "awaiting_payment"
    entries = journal(api, deal)
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
        "contact_token": vouched(made["secret"], "v-maria"),
        "event_id": "pv-1",
    }
    assert beacon(made["key"], visit)["statusCode"] == beacon(made["key"], visit)["statusCode"] == 204
    assert len(journal(api, deal)) == 1


def test_a_visit_that_fails_to_apply_leaves_the_visitor_as_it_was(api, site, monkeypatch):
    from crm.domain import clock
    from crm.domain.errors import Throttled
    from crm.service import sites

    _, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    start = clock.now()
    visit = {"url": f"{SHOP}/", "visitor_id": "v-maria", "contact_token": vouched(made["secret"], "v-maria")}
    assert beacon(made["key"], visit)["statusCode"] == 204
    later(monkeypatch, start, minutes=50)

    def busy(event, **kwargs):
        raise Throttled("the CRM's storage is busy: retry in a moment")

    with monkeypatch.context() as patched:
        patched.setattr(sites, "apply_trigger_event", busy)
        failed = beacon(made["key"], {**visit, "event_id": "pv-2"})
    retried = beacon(made["key"], {**visit, "event_id": "pv-2"})

    assert failed["statusCode"] == 503 and retried["statusCode"] == 204
    assert stage(api, deal) == "awaiting_payment"  # the retry still saw a return


def test_the_signing_secret_rotates_with_two_valid_at_once_then_the_old_one_retires(api, site, monkeypatch):
    from crm.domain import clock

    _, made = site
    first, second, third = (new_deal(api, emails=[f"client{n}@client.example"]) for n in (1, 2, 3))
    start = clock.now()
    old = made["secret"]

    rotated = call(api, "POST", f"/automation/sites/{made['id']}/rotate", {"grace_hours": 2})
    assert rotated.status == 200, rotated.body
    new = rotated.body["secret"]
    assert new != old and rotated.body["previous_valid_until"] and rotated.body["rotated_at"]
    assert "secret" not in call(api, "GET", f"/automation/sites/{made['id']}").body

    def visit(secret: str, n: int) -> str:
        page = {"url": f"{SHOP}/pricing", "visitor_id": f"v-{n}"}
        token = vouched(secret, f"v-{n}", f"client{n}@client.example", minutes=600)
        return beacon(made["key"], {**page, "contact_token": token})["headers"]["Crm-Contact-Token"]

    later(monkeypatch, start, minutes=2)  # warm containers have read the site again
    # During the grace period both secrets vouch: pages signed a moment ago still link their visitors
    assert (visit(old, 1), visit(new, 2)) == ("verified", "verified")
    assert stage(api, first) == stage(api, second) == "preparing_documents"

    # Retired early: the old secret vouches for no one any more
    assert call(api, "DELETE", f"/automation/sites/{made['id']}/previous").status == 204
    assert call(api, "DELETE", f"/automation/sites/{made['id']}/previous").status == 404
    assert call(api, "GET", f"/automation/sites/{made['id']}").body["previous_valid_until"] is None
    later(monkeypatch, start, minutes=4)
    assert (visit(old, 3), stage(api, third)) == ("refused", "new")

    # A rotation's grace period ends by itself too
    again = call(api, "POST", f"/automation/sites/{made['id']}/rotate", {"grace_hours": 1}).body
    later(monkeypatch, start, hours=1, minutes=10)
    assert visit(new, 3) == "refused" and visit(again["secret"], 3) == "verified"
    assert call(api, "GET", f"/automation/sites/{made['id']}").body["previous_valid_until"] is None
    assert call(api, "POST", f"/automation/sites/{made['id']}/rotate", {"grace_hours": 721}).status == 422
    assert api.call("POST", f"/automation/sites/{made['id']}/rotate", {}, key=api.other_key).status == 404


def test_the_documented_python_example_signs_tokens_the_crm_accepts(api, site):
    _, made = site
    deal = new_deal(api, emails=["maria@client.example"])
    example = made["contact_token_format"].split("In Python:\n", 1)[1]
    namespace: dict = {}
    exec(textwrap.dedent(example), namespace)  # our own documentation, run as written

    token = namespace["contact_token"](made["secret"], "v-maria", "maria@client.example")
    answer = beacon(made["key"], {"url": f"{SHOP}/pricing", "visitor_id": "v-maria", "contact_token": token})

    assert answer["headers"]["Crm-Contact-Token"] == "verified"
    assert stage(api, deal) == "preparing_documents"


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
        (None, {"url": f"{SHOP}/", "visitor_id": "v", "contact_token": 7}, SHOP, "application/json", 400),
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
        visit = {"contact_token": vouched(made["secret"], "v"), **visit}
    answer = beacon(key or made["key"], visit, origin=origin, content_type=content_type)
    assert answer["statusCode"] == status, answer
    assert json.loads(answer["body"])["message"]
    if status == 400:  # the site's own page may read why
        assert answer["headers"]["Access-Control-Allow-Origin"] == SHOP
    assert journal(api, deal) == []
    assert call(api, "GET", "/journal?source=site").body["entries"] == []


def test_dynamodb_calls_per_visit(api, site, dynamodb):
    _, made = site
    new_deal(api, emails=["maria@client.example"])
    visit = {"url": f"{SHOP}/", "visitor_id": "v-maria", "contact_token": vouched(made["secret"], "v-maria")}
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
    # An anonymous visitor's costs only its record
    dynamodb.calls.clear()
    assert beacon(made["key"], {"url": f"{SHOP}/", "visitor_id": "v-anonymous"})["statusCode"] == 204
    assert [operation for operation, _ in dynamodb.calls] == ["UpdateItem"]
