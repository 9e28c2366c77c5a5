"""DynamoDB calls per trigger event, by source, against moto with warm caches (issue 9's budget:
an event that names its item at most 2, one that reaches items by their contact at most 3).

Each source's request is sent once beforehand for another item or contact, so the measured one
finds what a warm container has: the pipeline, the form, the hook's secret, the signing key cached.
Requests reach the ingest functions as API Gateway's proxy events (built from the function's sample
event under events/), and the management API's sources (bookings, activities, CRM mail) through the
gateway with the authorizer's answer cached.
"""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.figures.calls import _detail, acme
from bench.hooks import LOG, Calls
from bench.registry import Measured, Run, figure
from bench.world import CONTACT_FORM, REGION, SALES_ID, Tenant, proxy, world
from tests import conftest

ORIGIN = "https://shop.acme.test"
SENDER = "sales@acme.test"
TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
STRIPE_SECRET = "whsec_benchSigningSecret0123456789"


@dataclass(frozen=True)
class Source:
    """The calls of one measured event, and what the function answered."""

    calls: Calls
    answer: dict[str, Any]


def _measure(run: Run, function: str, event: dict[str, Any]) -> Source:
    handler = run.shared(world).handler(function)
    with LOG.recording() as calls:
        answer = handler.lambda_handler(event, conftest.lambda_context())
    if answer.get("statusCode", 200) >= 400:
        raise RuntimeError(f"{function} answered {answer.get('statusCode')}: {answer.get('body')}")
    return Source(calls, answer)


def _trigger(tenant: Tenant, type_code: str, params: dict[str, Any], stage_id: str = "PREPARATION") -> None:
    body = {"type_code": type_code, "stage_id": stage_id, "name": type_code, "params": params}
    tenant.ok("POST", f"/automation/deal/{SALES_ID}/triggers", body)


def _deal_of(tenant: Tenant, email: str) -> str:
    return tenant.new_deal(f"Deal of {email}", emails=[email])


# ---------------------------------------------------------------- scenarios


def webhook(run: Run) -> Source:
    """A hook call naming its deal (``target=DEAL_n``), after one for another deal."""
    tenant = run.shared(acme)
    _trigger(tenant, "webhook", {"code": "paid"})
    secret = tenant.ok("POST", "/automation/hooks", {"name": "Accounting"})["secret"]
    events = [
        proxy(
            "ingest_hooks/hook_trigger_get.json",
            "GET",
            f"/hooks/{secret}/trigger?target=DEAL_{deal}&code=paid",
        )
        for deal in (tenant.new_deal(), tenant.new_deal())
    ]
    return _after_one(run, "ingest_hooks", events)


def _sent_mail(run: Run) -> tuple[list[str], list[str]]:
    """Two offers mailed through the API (one to warm up): their pixels and first tracked links."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    tenant = run.shared(acme)
    _trigger(tenant, "email_read", {}, "PREPARATION")
    _trigger(tenant, "link_clicked", {"url": "https://shop.acme.test/offers/", "url_match": "prefix"}, "WON")
    run.shared(world).ses.verify_email_identity(EmailAddress=SENDER)
    tenant.ok("PUT", "/mailbox/sender", {"address": SENDER, "display_name": "Acme"})
    pixels, links = [], []
    for n in range(2):
        deal = _deal_of(tenant, f"reader{n}@client.test")
        html = f'<p>Your <a href="https://shop.acme.test/offers/{n}">offer</a>.</p>'
        tenant.ok(
            "POST",
            f"/items/deal/{deal}/emails",
            {"subject": "Offer", "html": html},
            {"X-Forwarded-Proto": "https"},
        )
        raw = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages[-1].raw_data
        message = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
        body = message.get_body(preferencelist=("html",)).get_content()
        pixels.append(re.findall(r'<img src="([^"]+)"', body)[0])
        links.append(re.findall(r'href="([^"]+/t/c/[^"]+)"', body)[0])
    return pixels, links


def _tracked(run: Run, urls: list[str], sample: str) -> Source:
    handler = run.shared(world).handler("ingest_tracking")
    events = [proxy(sample, "GET", urlsplit(url).path.removeprefix("/dev")) for url in urls]
    handler.lambda_handler(events[0], conftest.lambda_context())
    return _measure(run, "ingest_tracking", events[1])


def tracking_open(run: Run) -> Source:
    return _tracked(run, run.shared(_sent_mail)[0], "ingest_tracking/open_pixel.json")


def tracking_click(run: Run) -> Source:
    return _tracked(run, run.shared(_sent_mail)[1], "ingest_tracking/click_link.json")


def _form(run: Run) -> str:
    tenant = run.shared(acme)
    form_id = tenant.ok("POST", "/automation/forms", CONTACT_FORM)["id"]
    _trigger(tenant, "form_filled", {"form_ids": [form_id]})
    return form_id


def _submit(run: Run, email: str, measure: bool) -> Source | None:
    """A JSON submission from ``email``; the measured one's work is read through the CRM (the sender
    is answered the submission's id only): the contact's deal moved by the form's trigger."""
    form_id = run.shared(_form)
    body = json.dumps({"name": "Jane", "email": email})
    event = proxy(
        "ingest_webform/submit_browser.json",
        "POST",
        f"/forms/{form_id}",
        body,
        **{"Content-Type": "application/json", "Accept": "application/json", "Origin": None},
    )
    if not measure:
        run.shared(world).handler("ingest_webform").lambda_handler(event, conftest.lambda_context())
        return None
    source = _measure(run, "ingest_webform", event)
    submission_id = json.loads(source.answer["body"])["submission_id"]
    tenant = run.shared(acme)
    (deal,) = tenant.ok("GET", f"/items?email={email}")
    stage = tenant.ok("GET", f"/items/deal/{deal['id']}")["stage_id"]
    entries = tenant.ok("GET", f"/items/deal/{deal['id']}/journal")["entries"]
    if stage != "PREPARATION" or [e["event"]["event_id"] for e in entries] != [submission_id]:
        raise RuntimeError(f"the submission {submission_id} did not move the deal of {email}: {entries}")
    return source


def webform_known(run: Run) -> Source:
    """A submission from the contact of an open deal (de-duplicated onto it)."""
    tenant = run.shared(acme)
    for email in ("form-warm@client.test", "form-known@client.test"):
        _deal_of(tenant, email)
    _submit(run, "form-warm@client.test", False)
    result = _submit(run, "form-known@client.test", True)
    assert result is not None
    return result


def webform_new(run: Run) -> Source:
    """A submission from a contact no item has: the form's deal is created, then the trigger applies."""
    run.shared(webform_known)
    result = _submit(run, f"new-{uuid.uuid4().hex[:8]}@client.test", True)
    assert result is not None
    return result


def site_visit(run: Run) -> Source:
    """A known contact's visit to a page a *visit* trigger watches, vouched for by the contact token
    the site's backend signed."""
    from crm.domain import clock
    from tests.unit.test_site_visits import contact_token

    tenant = run.shared(acme)
    _trigger(tenant, "visit", {"url": f"{ORIGIN}/pricing", "url_match": "prefix"})
    site = tenant.ok("POST", "/automation/sites", {"name": "Shop", "origins": [ORIGIN]})
    expires = int(clock.now().timestamp()) + 3600
    events = []
    for n, email in enumerate(("visit-warm@client.test", "visit-known@client.test")):
        _deal_of(tenant, email)
        token = contact_token(site["secret"], {"email": email, "visitor_id": f"v{n}", "exp": expires})
        body = json.dumps({"url": f"{ORIGIN}/pricing", "visitor_id": f"v{n}", "contact_token": token})
        path = f"/site/{site['key']}/events"
        events.append(proxy("ingest_hooks/site_visit_beacon.json", "POST", path, body, Origin=ORIGIN))
    run.shared(world).handler("ingest_hooks").lambda_handler(events[0], conftest.lambda_context())
    measured = _measure(run, "ingest_hooks", events[1])
    # A token the CRM refused would make an anonymous visit, which costs 1 call: not what is measured
    if measured.answer["headers"].get("Crm-Contact-Token") != "verified":
        raise RuntimeError(f"the site visit's contact token was not verified: {measured.answer['headers']}")
    return measured


def booking(run: Run) -> Calls:
    """A booking naming its deal, through the management API."""
    tenant = run.shared(acme)
    _trigger(tenant, "resource_booked", {})
    recorded = []
    for deal in (tenant.new_deal(), tenant.new_deal()):
        body = {
            "booking_id": str(uuid.uuid4()),
            "resource": "showroom",
            "starts_at": "2026-03-02T10:00:00Z",
            "ends_at": "2026-03-02T11:00:00Z",
            "item": {"type": "deal", "id": deal},
        }
        with LOG.recording() as calls:
            tenant.ok("POST", "/bookings", body)
        recorded.append(calls)
    return recorded[-1]


def crm_change(run: Run) -> Source:
    """An ``ItemUpdated`` from the bus, the deal's amount crossing 10,000 (a *field value changed*
    trigger watches it), after one for another deal."""
    tenant = run.shared(acme)
    _trigger(tenant, "field_changed", {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]})
    handler = run.shared(world).handler("ingest_crm_changes")
    batches = []
    for deal in (tenant.new_deal(), tenant.new_deal()):
        batch = copy.deepcopy(conftest.load_event("ingest_crm_changes/amount_above_10000.json"))
        record = batch["Records"][0]
        envelope = json.loads(record["body"])
        envelope["id"] = str(uuid.uuid4())
        detail = envelope["detail"]
        detail.update(
            event_id=f"{uuid.uuid4().hex}:fields", tenant_id=tenant.id, item_id=deal, pipeline_id=SALES_ID
        )
        detail.update(stage_id="NEW", version=2)
        record["body"], record["messageId"] = json.dumps(envelope), str(uuid.uuid4())
        batches.append(batch)
    handler.lambda_handler(batches[0], conftest.lambda_context())
    with LOG.recording() as calls:
        answer = handler.lambda_handler(batches[1], conftest.lambda_context())
    if answer.get("batchItemFailures"):
        raise RuntimeError(f"ingest_crm_changes answered {answer}")
    return Source(calls, answer)


def activity(run: Run) -> Calls:
    """An outgoing call a manager logged on the deal (``POST /items/deal/{id}/activities``)."""
    tenant = run.shared(acme)
    _trigger(tenant, "outgoing_call", {})
    recorded = []
    for deal in (tenant.new_deal(), tenant.new_deal()):
        body = {
            "kind": "call",
            "direction": "outgoing",
            "subject": "Offer follow-up",
            "duration_seconds": 120,
        }
        with LOG.recording() as calls:
            tenant.ok("POST", f"/items/deal/{deal}/activities", body)
        recorded.append(calls)
    return recorded[-1]


# ---------------------------------------------------------------- figures


def _after_one(run: Run, function: str, events: list[dict[str, Any]]) -> Source:
    """The calls of the last of ``events``, sent after the others (what warms the container)."""
    for event in events[:-1]:
        run.shared(world).handler(function).lambda_handler(event, conftest.lambda_context())
    return _measure(run, function, events[-1])


def _call_deals(tenant: Tenant, numbers: list[str]) -> None:
    for number in numbers:
        tenant.ok("POST", "/items/deal", {"title": f"Deal of {number}", "phones": [number]})


def twilio_call(run: Run) -> Source:
    """A Twilio number's missed-call callback from a deal's client, after one from another client."""
    from crm.domain.telephony import twilio_signature

    tenant = run.shared(acme)
    _trigger(tenant, "missed_call", {})
    body = {"name": "Office", "provider": "twilio", "auth_token": TWILIO_TOKEN}
    line = tenant.ok("POST", "/automation/telephony-lines", body)
    numbers = ["+4915112340001", "+4915112340002"]
    _call_deals(tenant, numbers)
    sample = conftest.load_event("ingest_telephony/twilio_no_answer.json")
    path = f"/telephony/twilio/{line['id']}"
    # The URL Twilio was given: the configured public base URL, else the execute-api one.
    base = os.environ.get("PUBLIC_BASE_URL") or f"https://{sample['requestContext']['domainName']}/dev"
    url = base + path
    for n, number in enumerate(numbers):
        params = {"CallSid": f"CA{n:032x}", "CallStatus": "no-answer", "Direction": "inbound", "From": number}
        params |= {"To": "+493055500000", "AccountSid": "AC" + "a" * 32, "ApiVersion": "2010-04-01"}
        signature = twilio_signature(TWILIO_TOKEN, url, sorted(params.items()))
        event = proxy(
            "ingest_telephony/twilio_no_answer.json",
            "POST",
            path,
            urlencode(params),
            **{"X-Twilio-Signature": signature},
        )
        if number == numbers[-1]:
            return _measure(run, "ingest_telephony", event)
        run.shared(world).handler("ingest_telephony").lambda_handler(event, conftest.lambda_context())
    raise AssertionError("unreachable")


def pbx_call(run: Run) -> Source:
    """A PBX's signed report of a missed call from a deal's client, after one from another client."""
    from crm.domain import clock, signatures

    tenant = run.shared(acme)
    _trigger(tenant, "missed_call", {})
    line = tenant.ok("POST", "/automation/telephony-lines", {"name": "Asterisk", "provider": "pbx"})
    numbers = ["+4915112340011", "+4915112340012"]
    _call_deals(tenant, numbers)
    path = f"/telephony/events/{line['id']}"
    for n, number in enumerate(numbers):
        report = {"call_id": f"pbx-{n}", "direction": "inbound", "answered": False, "client_number": number}
        body = json.dumps(report)
        signature = signatures.sign(body.encode(), line["secret"], clock.now())
        event = proxy(
            "ingest_telephony/pbx_missed_call.json", "POST", path, body, **{"X-Crm-Signature": signature}
        )
        if number == numbers[-1]:
            return _measure(run, "ingest_telephony", event)
        run.shared(world).handler("ingest_telephony").lambda_handler(event, conftest.lambda_context())
    raise AssertionError("unreachable")


def stripe_payment(run: Run) -> Source:
    """Stripe's ``invoice.paid`` naming its deal in its metadata, after one for another deal."""
    from crm.domain import clock
    from crm.domain.payments import stripe_signature

    tenant = run.shared(acme)
    _trigger(tenant, "invoice_paid", {})
    account = {
        "name": "Stripe",
        "provider": "stripe",
        "secret_key": "sk_test_51Qbench0123456789",
        "webhook_secret": STRIPE_SECRET,
        "return_url": "https://shop.acme.test/paid",
    }
    account_id = tenant.ok("POST", "/automation/payment-accounts", account)["id"]
    deals = [tenant.new_deal("Chairs"), tenant.new_deal("Desks")]
    for n, deal in enumerate(deals):
        invoice = {"id": f"in_{n}", "object": "invoice", "amount_due": 9000, "amount_paid": 9000}
        invoice |= {"currency": "eur", "status": "paid", "metadata": {"crm_ref": f"deal/{deal}"}}
        document = {"id": f"evt_{n}", "object": "event", "type": "invoice.paid", "data": {"object": invoice}}
        body = json.dumps(document | {"created": int(clock.now().timestamp())})
        signature = stripe_signature(body.encode(), STRIPE_SECRET, clock.now())
        path = f"/payments/stripe/{account_id}"
        event = proxy(
            "ingest_payments/invoice_paid.json", "POST", path, body, **{"Stripe-Signature": signature}
        )
        if deal == deals[-1]:
            return _measure(run, "ingest_payments", event)
        run.shared(world).handler("ingest_payments").lambda_handler(event, conftest.lambda_context())
    raise AssertionError("unreachable")


def generic_payment(run: Run) -> Source:
    """Another provider's signed payment report naming its deal, after one for another deal."""
    from crm.domain import clock, signatures

    tenant = run.shared(acme)
    _trigger(tenant, "invoice_paid", {})
    account = tenant.ok("POST", "/automation/payment-accounts", {"name": "Bank", "provider": "generic"})
    events = []
    for n, deal in enumerate([tenant.new_deal("Lamps"), tenant.new_deal("Shelves")]):
        report = {"event_id": f"bank-{n}", "kind": "invoice", "item": f"deal/{deal}", "payment_id": f"tr-{n}"}
        body = json.dumps(report | {"amount": 9000, "currency": "EUR"})
        signature = signatures.sign(body.encode(), account["webhook_secret"], clock.now())
        path = f"/payments/events/{account['id']}"
        events.append(
            proxy(
                "ingest_payments/generic_payment.json", "POST", path, body, **{"X-Crm-Signature": signature}
            )
        )
    return _after_one(run, "ingest_payments", events)


def _dynamodb(source: Source | Calls, function: str) -> Measured:
    calls = source.calls if isinstance(source, Source) else source
    detail = _detail(calls)
    if isinstance(source, Source):
        detail["status"] = source.answer.get("statusCode")
    return Measured(len(calls.of(function=function, service="DynamoDB")), detail)


@figure("calls.source.webhook.dynamodb", unit="calls", budget=2)
def webhook_calls(run: Run) -> Measured:
    """Webhook `/hooks/{secret}/trigger?target=DEAL_n`: by reference."""
    return _dynamodb(run.shared(webhook), "ingest_hooks")


@figure("calls.source.email_read.dynamodb", unit="calls", budget=2)
def open_calls(run: Run) -> Measured:
    """Open pixel `/t/o/{token}` of a sent mail: by reference."""
    return _dynamodb(run.shared(tracking_open), "ingest_tracking")


@figure("calls.source.link_clicked.dynamodb", unit="calls", budget=2)
def click_calls(run: Run) -> Measured:
    """Tracked link `/t/c/{token}` of a sent mail: by reference, and the URL stored at send time."""
    return _dynamodb(run.shared(tracking_click), "ingest_tracking")


@figure("calls.source.webform_known_contact.dynamodb", unit="calls", budget=3)
def webform_known_calls(run: Run) -> Measured:
    """Webform submission from a known contact: by contact, with the form's rate limit and log."""
    return _dynamodb(run.shared(webform_known), "ingest_webform")


@figure("calls.source.webform_new_contact.dynamodb", unit="calls")
def webform_new_calls(run: Run) -> Measured:
    """Webform submission from a new contact: the item created, then the trigger applied."""
    return _dynamodb(run.shared(webform_new), "ingest_webform")


@figure("calls.source.site_visit.dynamodb", unit="calls", budget=3)
def site_calls(run: Run) -> Measured:
    """Site visit `/site/{key}/events` of a known contact: by contact, and the visitor's record."""
    return _dynamodb(run.shared(site_visit), "ingest_hooks")


@figure("calls.source.booking.api.dynamodb", unit="calls", budget=2)
def booking_calls(run: Run) -> Measured:
    """Booking `POST /bookings` naming its deal (the API function's calls)."""
    return _dynamodb(run.shared(booking), "api")


@figure("calls.source.crm_change.dynamodb", unit="calls", budget=2)
def crm_change_calls(run: Run) -> Measured:
    """`ItemUpdated` from the bus (field value changed): by reference."""
    return _dynamodb(run.shared(crm_change), "ingest_crm_changes")


@figure("calls.source.activity.api.dynamodb", unit="calls")
def activity_calls(run: Run) -> Measured:
    """A logged outgoing call `POST /items/{type}/{id}/activities` (the API function's calls)."""
    return _dynamodb(run.shared(activity), "api")


@figure("calls.source.missed_call.twilio.dynamodb", unit="calls", budget=3)
def twilio_calls(run: Run) -> Measured:
    """Twilio status callback `/telephony/twilio/{line}` of a known client: by contact, the call on
    the timeline in the decision's transaction."""
    return _dynamodb(run.shared(twilio_call), "ingest_telephony")


@figure("calls.source.missed_call.pbx.dynamodb", unit="calls", budget=3)
def pbx_calls(run: Run) -> Measured:
    """A PBX's signed report `/telephony/events/{line}` of a known client: by contact."""
    return _dynamodb(run.shared(pbx_call), "ingest_telephony")


@figure("calls.source.invoice_paid.stripe.dynamodb", unit="calls", budget=2)
def stripe_calls(run: Run) -> Measured:
    """Stripe `invoice.paid` `/payments/stripe/{account}` naming its deal: by reference (the item
    and its payments read together), the payment counted in the decision's transaction."""
    return _dynamodb(run.shared(stripe_payment), "ingest_payments")


@figure("calls.source.invoice_paid.generic.dynamodb", unit="calls", budget=2)
def generic_payment_calls(run: Run) -> Measured:
    """Another provider's signed report `/payments/events/{account}` naming its deal: by reference."""
    return _dynamodb(run.shared(generic_payment), "ingest_payments")
