"""Payments end to end through the local runtime and its demo tenant: a deal entering "Awaiting
payment" gets a payment link (the local provider) and a mail holding it; the link's page shows what
is paid; paying it sends Stripe-format signed events to the Stripe source, whose invoice paid trigger
moves the deal to "Assembling goods"; paying again changes nothing."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import datetime

import stripe

from tests.e2e.conftest import Local
from tests.e2e.harness import eventually


def page(method: str, url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def mail_to(local: Local, address: str) -> list[dict]:
    messages = local.call("GET", "/_local/outbox").body["messages"]
    return [m for m in messages if m["channel"] == "email" and address in m["to"]]


def test_a_deal_awaiting_payment_is_mailed_a_link_and_paying_it_moves_the_deal(local: Local) -> None:
    # Given a deal of 90.00 EUR for a client, moved to "Awaiting payment"
    client = "buyer@payments-e2e.example"
    deal = local.call(
        "POST",
        "/items/deal",
        {
            "title": "Printer paper",
            "amount": 90,
            "currency": "EUR",
            "emails": [client],
            "pipeline_id": "sales",
        },
    ).body
    deal_id = deal["id"]
    moved = local.call("POST", f"/items/deal/{deal_id}/stage", {"stage_id": "payment"})
    assert moved.status == 200, moved.body

    # Then the payment link robot and the mail after it run: the client is mailed the link
    (mail,) = eventually(lambda: mail_to(local, client), timeout=30)
    assert "90.00 EUR" in mail["body"], mail
    (link,) = re.findall(r"http://127\.0\.0\.1:\d+/_local/pay/demo/cs_local_[0-9a-f]+", mail["body"])

    # The link's page shows what is paid for
    status, shown = page("GET", link)
    assert status == 200 and "90.00 EUR" in shown and "Printer paper" in shown and 'id="pay"' in shown

    # When the client pays
    status, paid = page("POST", link)

    # Then the deal is in "Assembling goods", the payment is on its timeline, and the journal has
    # the invoice paid trigger's move
    assert status == 200 and "the payment went through" in paid, paid
    assert eventually(lambda: local.call("GET", f"/items/deal/{deal_id}").body["stage_id"] == "assembling")
    timeline = local.call("GET", f"/items/deal/{deal_id}/timeline").body["entries"]
    (payment,) = [e for e in timeline if e["kind"] == "payment_received"]
    assert (payment["data"]["paid"], payment["data"]["due"], payment["data"]["currency"]) == (
        "90.00",
        "90.00",
        "EUR",
    )
    journal = local.call("GET", f"/items/deal/{deal_id}/journal").body["entries"]
    # (robot runs are journaled there too, without an event)
    (fired,) = [e for e in journal if e.get("event", {}).get("type") == "invoice_paid"]
    assert fired["outcome"] == "moved" and fired["event"]["source"] == "stripe"

    # Paying again sends nothing: the page says it is paid, and nothing changes
    status, again = page("POST", link)
    assert status == 200 and "Paid on" in again
    assert local.call("GET", f"/items/deal/{deal_id}/journal").body["entries"] == journal
    timeline_after = local.call("GET", f"/items/deal/{deal_id}/timeline").body["entries"]
    assert [e for e in timeline_after if e["kind"] == "payment_received"] == [payment]


def test_the_demo_accounts_webhook_takes_stripe_signed_events_and_refuses_forged_ones(local: Local) -> None:
    account = local.demo["payment_account"]
    body = (
        '{"id": "evt_e2e_1", "object": "event", "type": "customer.created", "created": %d, '
        '"data": {"object": {"id": "cus_1", "object": "customer"}}}'
    )
    # Stripe signs at its time, which is the CRM's: the runtime's clock (other tests move it on).
    now = int(datetime.fromisoformat(local.call("GET", "/_local/clock").body["now"]).timestamp())
    sent = (body % now).encode()
    url = account["webhook_url"]
    good = stripe.WebhookSignature.generate_signature_header(sent.decode(), account["webhook_secret"], now)
    forged = stripe.WebhookSignature.generate_signature_header(sent.decode(), "whsec_" + "f" * 32, now)
    for signature, status in ((forged, 400), (good, 200)):
        request = urllib.request.Request(
            url,
            data=sent,
            method="POST",
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == status
        except urllib.error.HTTPError as error:
            assert error.code == status, error.read()
    missing = page("GET", f"{local.api_url}/_local/pay/demo/cs_local_000000000000000000000000")
    assert missing[0] == 404
