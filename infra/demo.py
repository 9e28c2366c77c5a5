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
    from crm.service.tenants import create_tenant  # the application's operator use-case

    issued = create_tenant(name=TENANT_NAME, tenant_id=TENANT_ID)
    client = Client(api_url, issued.api_key)
    manager = client.call("POST", "/employees", EMPLOYEES["manager"])["id"]
    employees = {"manager": manager} | {
        role: client.call("POST", "/employees", EMPLOYEES[role] | {"supervisor_id": manager})["id"]
        for role in ("rep_anna", "rep_ivan")
    }
    for pipeline in PIPELINES:
        client.call("POST", "/pipelines", pipeline)

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
    item(
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
    return {
        "tenant_id": issued.tenant_id,
        "mailbox": client.call("GET", "/mailbox")["address"],
        "api_key": issued.api_key,
        "employees": employees,
        "pipelines": {pipeline["item_type"]: pipeline["id"] for pipeline in PIPELINES},
        "items": {"lead": lead, "deal": deal},
    }


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
        f'  curl -s -X POST {api}/_local/clock -d \'{{"advance": "PT2H"}}\'',
        f"  curl -s {api}/_local/outbox",
    ]
    if event_queue is not None:
        lines.append(f"  curl -s {api}/_local/queues/{event_queue}    # what the bus rule delivered there")
    if smtp_port is not None:
        # From a contact of the demo deal, to the tenant's mailbox: it lands on the deal's timeline.
        lines.append(
            f"  python3 -c \"import smtplib; smtplib.SMTP('127.0.0.1', {smtp_port}).sendmail("
            f"'buyer@northwind.example', ['{demo['mailbox']}'], "
            "'Subject: Chairs\\n\\nWhen can you deliver?')\""
        )
    return "\n".join(lines)
