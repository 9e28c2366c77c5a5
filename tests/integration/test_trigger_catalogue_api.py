"""The trigger types are in the catalogue the API serves, and rules are checked against them."""

from __future__ import annotations

import pytest

from tests.gateway import Gateway

TRIGGER_TYPES = {
    "app_trigger",
    "callback_form_filled",
    "document_created",
    "document_viewed",
    "email_read",
    "email_sent",
    "field_changed",
    "form_filled",
    "incoming_call",
    "incoming_email",
    "invoice_paid",
    "link_clicked",
    "missed_call",
    "order_paid",
    "outgoing_call",
    "resource_booked",
    "responsible_changed",
    "returned_to_site",
    "visit",
    "webhook",
}


@pytest.fixture
def api(aws):
    from crm.service.tenants import create_tenant

    gateway = Gateway()
    gateway.key = create_tenant("Acme", "acme").api_key
    return gateway


def test_the_catalogue_lists_every_trigger_type_with_its_params_schema(api):
    answer = api.call("GET", "/catalogue", key=api.key)
    assert answer.status == 200
    triggers = {t["code"]: t for t in answer.body if t["kind"] == "trigger"}
    assert set(triggers) == TRIGGER_TYPES
    assert triggers["form_filled"]["title"] == "CRM form filled"
    assert triggers["link_clicked"]["params_schema"]["properties"]["url_match"]["enum"] == [
        "exact",
        "prefix",
        "contains",
    ]
    assert all(t["description"] for t in triggers.values())


def test_a_trigger_is_stored_with_params_its_type_accepts(api):
    stages = [{"name": "New", "color": "#39A8EF"}, {"name": "Offer viewed", "color": "#2FC6F6"}]
    created = api.call(
        "POST", "/pipelines", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages}, api.key
    )
    assert created.status == 201, created.body
    base = "/automation/deal/sales/triggers"
    bad = api.call(
        "POST",
        base,
        {"type_code": "link_clicked", "stage_id": "offer_viewed", "params": {"url": "offer"}},
        api.key,
    )
    assert bad.status == 422
    assert "url: an http(s) address, unless url_match is 'contains'" in bad.body["message"]
    assert api.call("GET", "/automation/deal/sales", key=api.key).body["triggers"] == []

    good = api.call(
        "POST",
        base,
        {
            "type_code": "link_clicked",
            "stage_id": "offer_viewed",
            "params": {"url": "https://shop.example.com/offer"},
        },
        api.key,
    )
    assert good.status == 201, good.body
    assert good.body["name"] == "Link in email clicked"
    assert good.body["params"] == {"url": "https://shop.example.com/offer", "url_match": "exact"}
