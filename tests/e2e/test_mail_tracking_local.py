"""Mail from the CRM through the local runtime over HTTP, as a manager and then the client use it:
the offer is sent through the API, it appears in the outbox with its pixel and tracked link, the
client opens it and clicks the offer, and the deal moves to "Offer viewed" by the demo's trigger;
the timeline and the journal say who and why. A second click, a forged token and a malformed mail
change nothing."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest

from infra.demo import OFFER_MAIL, OFFER_URL
from tests.e2e.conftest import Local
from tests.e2e.harness import http

pytestmark = pytest.mark.e2e


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    """GET ``url`` as a mail client or a browser's first request: a redirect is answered, not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def outbox_mail_to(local: Local, address: str) -> list[dict]:
    return [
        m
        for m in local.call("GET", "/_local/outbox").body["messages"]
        if m["channel"] == "email" and address in m["to"]
    ]


def test_a_click_in_a_sent_offer_moves_the_deal_to_offer_viewed(local: Local) -> None:
    # Given a new deal of a client, in "New"
    client = "buyer@tracking-e2e.example"
    deal = local.call("POST", "/items/deal", {"title": "Standing desks x20", "emails": [client]}).body
    deal_id, responsible = deal["id"], deal["responsible_id"]

    # When the manager sends the offer through the API (retried once with the same key)
    headers = {
        "Authorization": f"Bearer {local.demo['api_key']}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"e2e-offer-{deal_id}",
    }
    url = f"{local.api_url}/items/deal/{deal_id}/emails"
    sent = http("POST", url, OFFER_MAIL, headers)
    assert sent.status == 201, sent.body
    assert http("POST", url, OFFER_MAIL, headers).body == sent.body
    (mail,) = outbox_mail_to(local, client)
    assert mail["from"] == "sales@demo.example" and mail["subject"] == OFFER_MAIL["subject"]
    (pixel,) = re.findall(r'<img src="([^"]+)"', mail["body"])
    (link,) = re.findall(r'href="([^"]+)"', mail["body"])
    assert pixel.startswith(f"{local.api_url}/t/o/") and link.startswith(f"{local.api_url}/t/c/")

    # And the client opens it and clicks the offer, twice
    status, image, image_headers = fetch(pixel)
    assert (status, len(image), image_headers["Content-Type"]) == (200, 43, "image/gif")
    first = fetch(link)
    second = fetch(link)

    # Then the client lands on the offer, and the deal moved once, by the demo's trigger
    assert first[0] == second[0] == 302
    assert first[2]["Location"] == second[2]["Location"] == OFFER_URL
    assert local.call("GET", f"/items/deal/{deal_id}").body["stage_id"] == "offer_viewed"
    timeline = local.call("GET", f"/items/deal/{deal_id}/timeline").body["entries"]
    assert [e["kind"] for e in timeline] == ["stage_changed", "email_sent", "created"]
    moved = timeline[0]
    assert moved["data"]["trigger"]["name"] == "Offer link clicked" and moved["by"] == responsible
    assert moved["data"]["event"]["type"] == "link_clicked"
    journal = local.trigger_journal("deal", deal_id)
    by_type = {entry["event"]["type"]: entry for entry in journal}
    assert set(by_type) == {"email_sent", "email_read", "link_clicked"} and len(journal) == 3
    clicked = by_type["link_clicked"]
    assert clicked["outcome"] == "moved" and clicked["event"]["data"]["url"] == OFFER_URL
    assert [(v["rule_name"], v["verdict"]) for v in clicked["verdicts"]] == [("Offer link clicked", "moved")]

    # And a forged link is no redirect, a forged pixel still an image, a malformed mail is
    # refused: nothing changes
    token = link.rsplit("/", 1)[1]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert fetch(link.replace(token, forged))[0] == 404
    assert fetch(pixel.replace(pixel.rsplit("/", 1)[1], forged))[0] == 200
    malformed = http("POST", url, {"subject": "No body"}, headers | {"Idempotency-Key": "e2e-bad"})
    assert malformed.status == 422
    assert len(outbox_mail_to(local, client)) == 1
    assert len(local.trigger_journal("deal", deal_id)) == 3
    assert local.call("GET", f"/items/deal/{deal_id}").body["stage_id"] == "offer_viewed"
