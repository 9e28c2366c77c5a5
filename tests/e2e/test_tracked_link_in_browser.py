"""Headless Chromium opens the tracked link of a mail the CRM sent (as found in the local outbox),
is redirected by the local runtime and lands on the offer page (served by this test on loopback);
the CRM then shows the deal in "Offer viewed", moved by the link's trigger."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import eventually, http

pytestmark = pytest.mark.e2e

OFFER_PAGE = b"<!doctype html><title>Offer 12</title><h1>Your offer: 12 standing desks</h1>"


class _Offer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(OFFER_PAGE)))
        self.end_headers()
        self.wfile.write(OFFER_PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    """The shop's offer pages, on loopback: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Offer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_chromium_follows_the_tracked_link_to_the_offer_and_the_deal_moves(
    local: Local, shop, browser
) -> None:
    from selenium.webdriver.common.by import By

    # Given a trigger for clicks on the shop's offers, and a deal of a client
    offer = f"{shop}/offers/desks-12?from=mail"
    rule = {
        "type_code": "link_clicked",
        "stage_id": "offer_viewed",
        "name": "Shop offer opened",
        "params": {"url": f"{shop}/offers/", "url_match": "prefix"},
    }
    assert local.call("POST", "/automation/deal/sales/triggers", rule).status == 201
    client = "buyer@browser-e2e.example"
    deal = local.call("POST", "/items/deal", {"title": "Standing desks x12", "emails": [client]}).body["id"]
    headers = {"Authorization": f"Bearer {local.demo['api_key']}", "Content-Type": "application/json"}
    mail = {"subject": "Your offer", "html": f'<p>Here is <a href="{offer}">your offer</a>.</p>'}
    assert http("POST", f"{local.api_url}/items/deal/{deal}/emails", mail, headers).status == 201

    # When the client opens the link of the mail in the outbox, in a browser
    messages = local.call("GET", "/_local/outbox").body["messages"]
    (sent,) = [m for m in messages if m["channel"] == "email" and client in m["to"]]
    (link,) = re.findall(r'href="([^"]+/t/c/[^"]+)"', sent["body"])
    browser.get(link)

    # Then the browser is on the offer page, and the CRM shows the deal moved by the trigger
    assert browser.current_url == offer
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your offer: 12 standing desks"
    stage = eventually(lambda: local.call("GET", f"/items/deal/{deal}").body["stage_id"] == "offer_viewed")
    assert stage, local.call("GET", f"/items/deal/{deal}").body["stage_id"]
    entries = local.call("GET", f"/items/deal/{deal}/timeline").body["entries"]
    (move,) = [e for e in entries if e["kind"] == "stage_changed"]
    assert move["data"]["trigger"]["name"] == "Shop offer opened"
    (clicked,) = [e for e in local.trigger_journal("deal", deal) if e["event"]["type"] == "link_clicked"]
    assert clicked["event"]["data"]["url"] == offer and clicked["outcome"] == "moved"
