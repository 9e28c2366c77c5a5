"""Webhook triggers, site visits and bookings through the local runtime over HTTP, as the calling
systems send them: the demo's accounting hook (a GET of its secret URL, as curl sends it), a page's
beacon (text/plain JSON with its Origin and the contact token the shop's backend signed), a booking
system's POST /bookings. Each moves its deal, names the trigger and the employee on the timeline,
journals why; a repeat, a bad secret, signature or origin, and malformed input change nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import http

pytestmark = pytest.mark.e2e

SHOP = "https://shop.demo.example"


def rule(local: Local, body: dict) -> str:
    answer = local.call("POST", "/automation/deal/sales/triggers", body)
    assert answer.status == 201, answer.body
    return answer.body["id"]


def new_deal(local: Local, **values) -> str:
    body = {"title": "Office chairs", "responsible_id": local.demo["employees"]["rep_ivan"], **values}
    answer = local.call("POST", "/items/deal", body)
    assert answer.status == 201, answer.body
    return answer.body["id"]


def deal_state(local: Local, deal: str) -> tuple[str, list, list]:
    """(stage, stage moves on the timeline, journal entries)"""
    stage = local.call("GET", f"/items/deal/{deal}").body["stage_id"]
    timeline = local.call("GET", f"/items/deal/{deal}/timeline").body["entries"]
    journal = local.trigger_journal("deal", deal)
    return stage, [e for e in timeline if e["kind"] == "stage_changed"], journal


def test_the_demo_hook_moves_the_paid_deal_once(local: Local) -> None:
    # Given the demo's "Payment received" webhook trigger on "Assembling goods" and a deal awaiting payment
    triggers = local.call("GET", "/automation/deal/sales").body["triggers"]
    (paid,) = [t for t in triggers if t["name"] == "Payment received"]
    deal = new_deal(local)
    url = f"{local.demo['hook_url']}?target=DEAL_{deal}&code=payment_received"

    # When the accounting system calls the hook URL, and its retry arrives a moment later
    first = http("GET", url)
    again = http("GET", url)

    # Then the deal moved once, by that trigger, recorded as its responsible's move
    assert first.status == 200, first.body
    assert (first.body["outcome"], first.body["stage_id"], first.body["rule_id"]) == (
        "moved",
        "assembling",
        paid["id"],
    )
    assert again.status == 200 and again.body == first.body
    stage, moves, journal = deal_state(local, deal)
    assert stage == "assembling"
    assert [(m["by"], m["data"]["trigger"]["name"]) for m in moves] == [
        (local.demo["employees"]["rep_ivan"], "Payment received")
    ]
    (entry,) = journal
    assert entry["id"] == first.body["journal_id"]
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(paid["id"], "moved")]

    # And a mangled secret, a malformed target and an unknown deal change nothing
    bad_secret = local.demo["hook_url"].replace("/trigger", "").rstrip("0123456789abcdef") + "0" * 48
    assert http("GET", f"{bad_secret}/trigger?target=DEAL_{deal}&code=payment_received").status == 401
    other = new_deal(local)
    assert http("GET", f"{local.demo['hook_url']}?target=DEAL&code=payment_received").status == 400
    assert http("GET", f"{local.demo['hook_url']}?target=DEAL_999999&code=payment_received").status == 404
    assert deal_state(local, other) == ("new", [], [])
    assert deal_state(local, deal)[2] == journal


def contact_token(secret: str, visitor_id: str, email: str, expires: int) -> str:
    """What the site's backend computes for a signed-in visitor, as the create answer documents it."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = b64(json.dumps({"email": email, "visitor_id": visitor_id, "exp": expires}).encode())
    return payload + "." + b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def test_a_site_visit_vouched_for_by_the_sites_backend_and_a_return_move_the_visitors_deal(
    local: Local,
) -> None:
    # Given a site (its signing secret shown once), a visit trigger on "Preparing documents" for the
    # pricing pages, a return trigger on "Awaiting payment", and the deals of two clients
    site = local.call("POST", "/automation/sites", {"name": "Shop", "origins": [SHOP]})
    assert site.status == 201, site.body
    secret = site.body["secret"]
    saw_prices = rule(
        local,
        {
            "type_code": "visit",
            "stage_id": "documents",
            "name": "Saw the prices",
            "params": {"url": f"{SHOP}/pricing", "url_match": "prefix"},
        },
    )
    came_back = rule(local, {"type_code": "returned_to_site", "stage_id": "payment", "name": "Came back"})
    deal = new_deal(local, emails=["e2e.visitor@client.example"])
    victim = new_deal(local, emails=["e2e.victim@client.example"])
    now = datetime.fromisoformat(local.call("GET", "/_local/clock", key=None).body["now"])
    in_an_hour = int(now.timestamp()) + 3600

    def beacon(visit: dict, origin: str = SHOP):
        headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": origin}
        return http("POST", site.body["events_url"], json.dumps(visit).encode(), headers)

    # When the client, signed in, opens the pricing page: the shop's backend signed the page's token
    token = contact_token(secret, "e2e-visitor-1", "e2e.visitor@client.example", in_an_hour)
    visit = {
        "url": f"{SHOP}/pricing",
        "visitor_id": "e2e-visitor-1",
        "contact_token": token,
        "event_id": "pv-1",
    }
    seen = beacon(visit)
    resent = beacon(visit)

    # Then the deal moved once, by that trigger, as its responsible; the answer tells the page nothing
    assert (seen.status, seen.headers["Access-Control-Allow-Origin"]) == (204, SHOP)
    assert seen.headers["Crm-Contact-Token"] == "verified" and resent.status == 204
    stage, moves, journal = deal_state(local, deal)
    assert stage == "documents"
    assert [(m["by"], m["data"]["trigger"]["name"]) for m in moves] == [
        (local.demo["employees"]["rep_ivan"], "Saw the prices")
    ]
    (entry,) = journal
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(saw_prices, "moved")]

    # And anyone else naming a client, without the shop's signature, moves and links nothing
    attack = {"url": f"{SHOP}/pricing", "visitor_id": "e2e-attacker"}
    forged = contact_token(
        "crmsitesecret_" + "A" * 43, "e2e-attacker", "e2e.victim@client.example", in_an_hour
    )
    assert beacon({**attack, "email": "e2e.victim@client.example"}).status == 400
    refused = beacon({**attack, "contact_token": forged})
    assert (refused.status, refused.headers["Crm-Contact-Token"]) == (204, "refused")
    borrowed = beacon({**attack, "contact_token": token})  # the client's token, another visitor id
    assert (borrowed.status, borrowed.headers["Crm-Contact-Token"]) == (204, "refused")
    # And bad origins and malformed visits change nothing
    assert beacon(visit, origin="https://evil.example").status == 403
    assert beacon({**visit, "url": "https://evil.example/pricing"}).status == 400
    assert beacon({**visit, "contact_token": 42}).status == 400
    assert deal_state(local, victim) == ("new", [], [])
    assert deal_state(local, deal)[2] == journal

    # When the same browser comes back an hour later (the page no longer carries a token), and so does
    # the attacker's
    assert local.call("POST", "/_local/clock", {"advance": "PT1H"}, key=None).status == 200
    assert beacon({"url": f"{SHOP}/", "visitor_id": "e2e-visitor-1"}).status == 204
    assert beacon({"url": f"{SHOP}/", "visitor_id": "e2e-attacker"}).status == 204

    # Then the client has returned: "Awaiting payment"; the attacker's visitor is still no one
    stage, moves, journal = deal_state(local, deal)
    assert stage == "payment"
    assert [m["data"]["trigger"]["id"] for m in moves] == [came_back, saw_prices]
    verdicts = {(v["rule_id"], v["verdict"]) for entry in journal for v in entry["verdicts"]}
    assert {(saw_prices, "moved"), (came_back, "moved"), (saw_prices, "params_mismatch")} <= verdicts
    assert deal_state(local, victim) == ("new", [], [])


def test_a_booking_moves_the_deal_once(local: Local) -> None:
    showroom = rule(
        local,
        {
            "type_code": "resource_booked",
            "stage_id": "documents",
            "name": "Showroom booked",
            "params": {"resource_ids": ["showroom"]},
            "run_as": local.demo["employees"]["manager"],
        },
    )
    deal = new_deal(local)
    booking = {
        "booking_id": "e2e-booking-1",
        "resource": "showroom",
        "starts_at": "2026-03-02T10:00:00Z",
        "ends_at": "2026-03-02T11:00:00Z",
        "item": {"type": "deal", "id": deal},
    }

    first = local.call("POST", "/bookings", booking)
    again = local.call("POST", "/bookings", booking)

    assert first.status == 200, first.body
    assert again.status == 200 and again.body == first.body
    stage, moves, journal = deal_state(local, deal)
    assert stage == "documents"
    assert [(m["by"], m["data"]["trigger"]["id"]) for m in moves] == [
        (local.demo["employees"]["manager"], showroom)
    ]
    (entry,) = journal
    # The demo's own booking trigger (the delivery van, on a later stage) was weighed too
    triggers = local.call("GET", "/automation/deal/sales").body["triggers"]
    (van,) = [t["id"] for t in triggers if t["name"] == "Delivery slot booked"]
    assert sorted((v["rule_id"], v["verdict"]) for v in entry["verdicts"]) == sorted(
        [(showroom, "moved"), (van, "params_mismatch")]
    )
    unknown = local.call(
        "POST", "/bookings", {**booking, "booking_id": "e2e-2", "item": {"type": "deal", "id": "999999"}}
    )
    assert unknown.status == 404
    assert (
        local.call(
            "POST", "/bookings", {**booking, "booking_id": "e2e-3", "ends_at": "2026-03-02T09:00:00Z"}
        ).status
        == 422
    )
    assert len(deal_state(local, deal)[2]) == 1
