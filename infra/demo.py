"""The demo tenant: created through the application's own operator use-case (tenant + API key) and
then, like a user would, over the HTTP API with that key.

Later issues (triggers, robots) add their automations to ``build``.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

TENANT_ID = "demo"
TENANT_NAME = "Demo Trading Ltd"

EMPLOYEES = {
    "manager": {"name": "Olga Smirnova", "email": "olga.manager@demo.example", "phone": "+44 20 7946 0001"},
    "rep_anna": {"name": "Anna Petrova", "email": "anna.sales@demo.example", "phone": "+44 20 7946 0002"},
    "rep_ivan": {"name": "Ivan Sokolov", "email": "ivan.sales@demo.example", "phone": "+44 20 7946 0003"},
}

PIPELINES = [
    {
        "id": "leads",
        "item_type": "lead",
        "name": "Leads",
        "stages": [
            {"id": "unprocessed", "name": "Unprocessed", "color": "#39A8EF", "semantic": "in_progress"},
            {"id": "call_back", "name": "Call back", "color": "#1EAEDB", "semantic": "in_progress"},
            {"id": "in_progress", "name": "In progress", "color": "#2FC6F6", "semantic": "in_progress"},
            {"id": "qualified", "name": "Qualified lead", "color": "#55D0E0", "semantic": "in_progress"},
            {"id": "converted", "name": "Converted", "color": "#7BD500", "semantic": "success"},
            {"id": "junk", "name": "Junk", "color": "#FF5752", "semantic": "failure"},
        ],
    },
    {
        "id": "sales",
        "item_type": "deal",
        "name": "Sales",
        "stages": [
            {"id": "new", "name": "New", "color": "#39A8EF", "semantic": "in_progress"},
            {"id": "offer_viewed", "name": "Offer viewed", "color": "#1EAEDB", "semantic": "in_progress"},
            {"id": "documents", "name": "Preparing documents", "color": "#2FC6F6", "semantic": "in_progress"},
            {"id": "payment", "name": "Awaiting payment", "color": "#55D0E0", "semantic": "in_progress"},
            {"id": "assembling", "name": "Assembling goods", "color": "#47E4C2", "semantic": "in_progress"},
            {"id": "delivery", "name": "Delivery", "color": "#FFA900", "semantic": "in_progress"},
            {"id": "won", "name": "Won", "color": "#7BD500", "semantic": "success"},
            {"id": "lost", "name": "Lost", "color": "#FF5752", "semantic": "failure"},
        ],
    },
]


NEW_DEAL = {"title": "Printer paper", "amount": 90, "currency": "EUR"}

# Mail from the CRM comes from this address: the operator grants the tenant its domain (as
# `make tenant ... --sender-domain demo.example` does) and verifies the domain in SES.
SENDER_DOMAIN = "demo.example"
SENDER = {"address": f"sales@{SENDER_DOMAIN}", "display_name": "Demo Trading Ltd"}
# A sent offer: the client clicks the offer's link in the mail, and the deal moves to "Offer viewed".
OFFER_URL = "https://shop.demo.example/offers/desks-12"
OFFER_VIEWED_TRIGGER = {
    "type_code": "link_clicked",
    "stage_id": "offer_viewed",
    "name": "Offer link clicked",
    "params": {"url": "https://shop.demo.example/offers/", "url_match": "prefix"},
}

# Mail from a sender no item has: a new lead in "Unprocessed" (given to Anna in build()).
MAIL_SOURCE = {"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "leads"}
# The client answers the offer the CRM sent about the deal: it moves on to "Awaiting payment".
CLIENT_REPLIED_TRIGGER = {
    "type_code": "incoming_email",
    "stage_id": "payment",
    "name": "Client replied to the offer",
    "params": {"only_replies": True},
}

LARGE_ORDER_TRIGGER = {
    "type_code": "field_changed",
    "stage_id": "documents",
    "name": "Large order: amount above 10,000",
    "params": {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]},
}

# The accounting system calls the hook when the client has paid: the goods are assembled next.
PAYMENT_RECEIVED_TRIGGER = {
    "type_code": "webhook",
    "stage_id": "assembling",
    "name": "Payment received",
    "params": {"code": "payment_received"},
}

# The site's pricing page, opened by a lead's contact: the lead is being worked on.
PRICING_VISITED_TRIGGER = {
    "type_code": "visit",
    "stage_id": "in_progress",
    "name": "Opened the pricing page",
    "params": {"url": "https://shop.demo.example/pricing", "url_match": "prefix"},
}
# The client booked a delivery slot (the van): the deal goes to "Delivery".
DELIVERY_BOOKED_TRIGGER = {
    "type_code": "resource_booked",
    "stage_id": "delivery",
    "name": "Delivery slot booked",
    "params": {"resource_ids": ["delivery_van"]},
}

CONTACT_FORM = {
    "name": "Contact us",
    "kind": "form",
    "item_type": "lead",
    "pipeline_id": "leads",
    "fields": [
        {"name": "name", "label": "Your name", "type": "text", "required": True, "maps_to": "title"},
        {"name": "email", "label": "Email", "type": "email", "required": True, "maps_to": "emails"},
        {"name": "phone", "label": "Phone", "type": "phone", "maps_to": "phones"},
        {"name": "company", "label": "Company", "type": "text", "maps_to": "company"},
    ],
}


# Robots (Bitrix24's robots, 1C's actions), as a sales team sets them up.
# A new lead: a task at once for its responsible to call, and, if it is still unprocessed a day
# later, a word to the responsible's supervisor; once it is being worked on, a mail to the client.
LEAD_ROBOTS = [
    {
        "type_code": "create_task",
        "stage_id": "unprocessed",
        "name": "Call the new lead",
        "params": {
            "title": "Call the new lead: {{ item.title }}",
            "description": "{{ contact.phone or contact.email }} ({{ item.company or 'no company given' }})",
            "deadline": {"offset": 2, "unit": "hours"},
            "priority": "high",
        },
    },
    {
        "type_code": "control",
        "stage_id": "unprocessed",
        "name": "Still unprocessed after a day",
        "params": {
            "text": "{{ item.title }} is still unprocessed after a day: "
            "{{ responsible.name }} has not taken it on yet."
        },
        "delay": {"kind": "after", "amount": 1, "unit": "days"},
    },
    {
        "type_code": "send_email",
        "stage_id": "in_progress",
        "name": "Thank the client",
        "params": {
            "subject": "{{ item.company or item.title }}: thank you for your enquiry",
            "body_text": "Hello,\n\nthank you for your interest. {{ responsible.name }} looks after your "
            "enquiry and will call you shortly.\n\n{{ responsible.name }}, Demo Trading Ltd",
        },
        # A lead without an address has nobody to write to: skipped, not failed.
        "condition": {"field": "emails", "op": "!empty"},
    },
]
# A deal: the responsible is told when the documents are to be prepared; a viewed offer raises the
# deal's probability (a custom field of deals).
DEAL_FIELDS = [{"code": "probability", "name": "Probability, %", "type": "number"}]
DEAL_ROBOTS = [
    {
        "type_code": "notify",
        "stage_id": "documents",
        "name": "Prepare the documents",
        "params": {
            "text": "{{ item.title }}: prepare the contract and the invoice for "
            "{{ item.amount }} {{ item.currency }} ({{ item.company }})."
        },
    },
    {
        "type_code": "change_fields",
        "stage_id": "offer_viewed",
        "name": "Offer viewed: probability 60%",
        "params": {"values": {"probability": 60}},
    },
]


# Payments (the local provider of `make run`): a deal entering "Awaiting payment" gets a payment link
# and a mail holding it; paying it (the link's page) fires the invoice paid trigger, and the goods
# are assembled next.
PAYMENT_ACCOUNT = {"name": "Local payments", "provider": "local"}
# Telephony: a missed call (someone rang the office and nobody answered) puts the caller's lead in
# "Call back"; a number no item has gets a new lead there. The office's Twilio number (this
# auth token is the demo's: Twilio's would be the account's) and the warehouse's PBX.
MISSED_CALL_TRIGGER = {"type_code": "missed_call", "stage_id": "call_back", "name": "Missed call"}
NEW_CALLER = {"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "leads"}
DEMO_TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
TELEPHONY_LINES = [
    {
        "name": "Office (Twilio)",
        "provider": "twilio",
        "auth_token": DEMO_TWILIO_TOKEN,
        "unknown_caller": NEW_CALLER,
    },
    {"name": "Warehouse (PBX)", "provider": "pbx", "unknown_caller": NEW_CALLER},
]
INVOICE_PAID_TRIGGER = {"type_code": "invoice_paid", "stage_id": "assembling", "name": "Invoice paid"}
# Robots of a stage run in their sort order: the link first, then the mail that carries it.
PAYMENT_LINK_ROBOT = {
    "type_code": "create_payment_link",
    "stage_id": "payment",
    "name": "Payment link",
    "sort": 10,
}


def payment_mail_robot(link_robot_id: str) -> dict[str, Any]:
    """The mail after the link robot (sequential: it reads the link's outputs)."""
    link = f"robots.{link_robot_id}"
    return {
        "type_code": "send_email",
        "stage_id": "payment",
        "name": "Mail the payment link",
        "sort": 20,
        "after_previous": True,
        "params": {
            "subject": "{{ item.title }}: your payment link",
            "body_text": f"Hello,\n\nyou can pay {{{{ {link}.amount }}}} {{{{ {link}.currency }}}} for "
            f"{{{{ item.title }}}} here:\n{{{{ {link}.payment_url }}}}\n\n{{{{ responsible.name }}}}, "
            "Demo Trading Ltd",
        },
    }


OFFER_MAIL = {
    "subject": "Your offer: standing desks",
    "html": f'<p>Here is <a href="{OFFER_URL}">your offer</a>.</p>',
}


class Client:
    """JSON over HTTP with the tenant's key (the demo is built through the public API only)."""

    def __init__(self, api_url: str, api_key: str) -> None:
        self.api_url = api_url
        self.api_key = api_key

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.api_url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


def build(api_url: str) -> dict[str, Any]:
    """Create the demo tenant and its data; returns what ``.local/demo.json`` records."""
    from crm.domain.senders import SenderIdentities
    from crm.service.tenants import create_tenant  # the application's operator use-case

    senders = SenderIdentities.granted(domains=[SENDER_DOMAIN])
    issued = create_tenant(name=TENANT_NAME, tenant_id=TENANT_ID, senders=senders)
    client = Client(api_url, issued.api_key)
    manager = client.call("POST", "/employees", EMPLOYEES["manager"])["id"]
    employees = {"manager": manager} | {
        role: client.call("POST", "/employees", EMPLOYEES[role] | {"supervisor_id": manager})["id"]
        for role in ("rep_anna", "rep_ivan")
    }
    for pipeline in PIPELINES:
        client.call("POST", "/pipelines", pipeline)
    add_robots(client)
    payment_account = add_payments(client)
    telephony_lines = add_telephony(client)
    # Field value changed: a deal whose amount goes above 10,000 needs a contract, so it moves to
    # "Preparing documents" (once, on the change that crosses 10,000).
    client.call("POST", "/automation/deal/sales/triggers", LARGE_ORDER_TRIGGER)
    client.call("PUT", "/automation/sources/mail", MAIL_SOURCE | {"responsible_id": employees["rep_anna"]})
    client.call("POST", "/automation/deal/sales/triggers", CLIENT_REPLIED_TRIGGER)
    from crm.adapters.clients import client as aws_client  # SES in the runtime's moto

    aws_client("ses").verify_domain_identity(Domain=SENDER_DOMAIN)
    client.call("PUT", "/mailbox/sender", SENDER)
    client.call("POST", "/automation/deal/sales/triggers", OFFER_VIEWED_TRIGGER)

    def item(item_type: str, body: dict[str, Any]) -> str:
        return client.call("POST", f"/items/{item_type}", body)["id"]

    lead = item(
        "lead",
        {
            "title": "Website enquiry: office furniture",
            "pipeline_id": "leads",
            "responsible_id": employees["rep_anna"],
            "emails": ["maria.ivanova@client.example"],
            "phones": ["+44 7700 900123"],
            "company": "Ivanova Interiors",
        },
    )
    deal = item(
        "deal",
        {
            "title": "Office chairs x40",
            "pipeline_id": "sales",
            "amount": 12800,
            "currency": "EUR",
            "responsible_id": employees["rep_ivan"],
            "emails": ["buyer@northwind.example"],
            "phones": ["+44 7700 900456"],
            "company": "Northwind Traders",
        },
    )
    offer_deal = item(
        "deal",
        {
            "title": "Standing desks x12",
            "pipeline_id": "sales",
            "amount": 7400,
            "currency": "EUR",
            "responsible_id": employees["rep_anna"],
            "emails": ["procurement@contoso.example"],
            "company": "Contoso",
        },
    )
    # One deal already under way, so its timeline and the StageChanged event show from the start.
    client.call("POST", f"/items/deal/{deal}/stage", {"stage_id": "documents", "by": employees["rep_ivan"]})
    # The site's "Contact us" form: a new enquirer's lead starts in "Unprocessed", and the form's
    # trigger qualifies it (an existing lead of that contact is qualified too).
    contact_form = client.call(
        "POST", "/automation/forms", CONTACT_FORM | {"responsible_id": employees["rep_anna"]}
    )
    qualify = {"form_ids": [contact_form["id"]]}
    client.call(
        "POST",
        "/automation/lead/leads/triggers",
        {
            "type_code": "form_filled",
            "stage_id": "qualified",
            "name": "Contact form filled",
            "params": qualify,
        },
    )
    # Webhook: the accounting system's hook URL (its secret is shown once: kept in demo.json).
    client.call("POST", "/automation/deal/sales/triggers", PAYMENT_RECEIVED_TRIGGER)
    client.call("POST", "/automation/deal/sales/triggers", DELIVERY_BOOKED_TRIGGER)
    client.call("POST", "/automation/lead/leads/triggers", PRICING_VISITED_TRIGGER)
    hook = client.call("POST", "/automation/hooks", {"name": "Accounting"})
    return {
        "tenant_id": issued.tenant_id,
        "hook_url": hook["url"],
        "mailbox": client.call("GET", "/mailbox")["address"],
        "api_key": issued.api_key,
        "employees": employees,
        "pipelines": {pipeline["item_type"]: pipeline["id"] for pipeline in PIPELINES},
        "items": {"lead": lead, "deal": deal, "offer_deal": offer_deal},
        "forms": {"contact_us": contact_form["id"]},
        "payment_account": payment_account,
        "telephony_lines": telephony_lines,
    }


def add_robots(client: Client) -> None:
    """The demo's robots, before its items exist, so that the demo's lead and deals get theirs."""
    client.call("PATCH", "/types/deal", {"fields": DEAL_FIELDS})
    for robot in LEAD_ROBOTS:
        client.call("POST", "/automation/lead/leads/robots", robot)
    for robot in DEAL_ROBOTS:
        client.call("POST", "/automation/deal/sales/robots", robot)


def add_payments(client: Client) -> dict[str, Any]:
    """The local payment account, the payment robots and the invoice paid trigger; the account's
    id, webhook URL and signing secret (shown once) for ``scripts/sign_stripe_event.py``."""
    account = client.call("POST", "/automation/payment-accounts", PAYMENT_ACCOUNT)
    link_robot = client.call("POST", "/automation/deal/sales/robots", PAYMENT_LINK_ROBOT)
    client.call("POST", "/automation/deal/sales/robots", payment_mail_robot(link_robot["id"]))
    client.call("POST", "/automation/deal/sales/triggers", INVOICE_PAID_TRIGGER)
    return {k: account[k] for k in ("id", "webhook_url", "webhook_secret")}


def add_telephony(client: Client) -> dict[str, Any]:
    """The missed call trigger and the lines; for each provider its line's id, webhook URL and (the
    PBX's, shown once; Twilio's is the demo's token) secret, for ``scripts/sign_call.py``."""
    client.call("POST", "/automation/lead/leads/triggers", MISSED_CALL_TRIGGER)
    lines = {}
    for values in TELEPHONY_LINES:
        line = client.call("POST", "/automation/telephony-lines", values)
        secret = line["secret"] or values["auth_token"]
        lines[values["provider"]] = {"id": line["id"], "webhook_url": line["webhook_url"], "secret": secret}
    return lines


def try_this(demo: dict[str, Any], event_queue: str | None, smtp_port: int | None) -> str:
    """The console's "try this": curl lines that work against the running demo. ``event_queue``: a
    queue a bus rule feeds."""
    api, key, deal = demo["api_url"], demo["api_key"], demo["items"]["deal"]
    auth = f'-H "Authorization: Bearer {key}"'
    # API Gateway hands the body over as the client labels it: JSON must say so.
    post = f"{auth} -H 'Content-Type: application/json' -X POST"
    lines = [
        f"  curl -s {api}/openapi.json | head -c 200; echo",
        f"  curl -s {auth} '{api}/pipelines?item_type=deal'",
        f"  curl -s {post} {api}/items/deal -d '{json.dumps(NEW_DEAL)}'",
        f'  curl -s {post} {api}/items/deal/{deal}/stage -d \'{{"stage_id": "payment"}}\'',
        f"  curl -s {auth} {api}/items/deal/{deal}/timeline",
        # The "Contact us" form as a site posts it: a new lead, qualified by the form's trigger.
        f"  curl -s {api}/forms/{demo['forms']['contact_us']} -d name=Jane -d email=jane@example.org",
        f'  curl -s -X POST {api}/_local/clock -d \'{{"advance": "PT2H"}}\'',
        f"  curl -s {api}/_local/outbox",
        # The offer mailed to the client of the desks deal; open its tracked link (in the outbox).
        f"  curl -s {post} -H 'Idempotency-Key: offer-1' "
        f"{api}/items/deal/{demo['items']['offer_deal']}/emails -d '{json.dumps(OFFER_MAIL)}'",
    ]
    if "hook_url" in demo:  # a demo saved (--persist) before it had a hook has none
        lines.append(f"  curl -s '{demo['hook_url']}?target=DEAL_{deal}&code=payment_received'    # webhook")
    if "payment_account" in demo:  # Stripe's invoice.paid for the chairs deal, signed as Stripe signs it
        account = demo["payment_account"]
        lines.append(
            f'  eval "$(.venv/bin/python scripts/sign_stripe_event.py --secret {account["webhook_secret"]} '
            f'--curl {account["webhook_url"]} events/ingest_payments/invoice_paid.json)"    # invoice paid'
        )
    for provider, line in demo.get("telephony_lines", {}).items():  # a missed call from a new number
        sample = "twilio_no_answer" if provider == "twilio" else "pbx_missed_call"
        lines.append(
            f'  eval "$(.venv/bin/python scripts/sign_call.py --{provider} {line["secret"]} '
            f'--curl {line["webhook_url"]} events/ingest_telephony/{sample}.json)"    # missed call'
        )
    if event_queue is not None:
        lines.append(f"  curl -s {api}/_local/queues/{event_queue}    # what the bus rule delivered there")
    if smtp_port is not None:
        # From a contact of the demo deal, to the tenant's mailbox: it lands on the deal's timeline.
        lines.append(
            f"  python3 -c \"import smtplib; smtplib.SMTP('127.0.0.1', {smtp_port}).sendmail("
            f"'buyer@northwind.example', ['{demo['mailbox']}'], "
            "'Subject: Chairs\\n\\nWhen can you deliver?')\""
        )
        # From a sender no item has: a new lead in "Unprocessed" with the mail on its timeline.
        lines.append(
            f"  python3 -c \"import smtplib; smtplib.SMTP('127.0.0.1', {smtp_port}).sendmail("
            f"'jane@newclient.example', ['{demo['mailbox']}'], "
            "'From: Jane <jane@newclient.example>\\nSubject: Quote for 40 chairs\\n\\nHello')\""
        )
    return "\n".join(lines)
