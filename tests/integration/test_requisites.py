"""Requisites against moto: set and read on an item through the API, shared by the items of one
company (or contact), changed by robots through the deployed port with versions that lose no
change."""

from __future__ import annotations

import pytest

from tests.fakes import FakePorts
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales
from tests.unit.robots.running import ran

ACME = {"legal_name": "Client GmbH", "tax_id": "DE123456789", "address": "Hauptstr. 1\n10115 Berlin"}


def requisites(api, deal_id, of="company"):
    return call(api, "GET", f"/items/deal/{deal_id}/requisites?of={of}")


def test_the_companys_requisites_are_set_on_one_item_and_read_on_another(api, sales):
    first = new_deal(api, company="Client GmbH")
    second = new_deal(api, company="  client   gmbh ")
    assert requisites(api, first["id"]).status == 404

    put = call(api, "PUT", f"/items/deal/{first['id']}/requisites", ACME | {"by": "anna"})
    assert put.status == 200, put.body
    read = requisites(api, second["id"])
    assert read.status == 200 and read.body == put.body
    assert read.body | {"updated_at": None} == {
        "of": "company",
        "holder": "Client GmbH",
        "legal_name": "Client GmbH",
        "tax_id": "DE123456789",
        "registration_number": None,
        "address": "Hauptstr. 1\n10115 Berlin",
        "bank_name": None,
        "bank_account": None,
        "bank_code": None,
        "version": 1,
        "updated_at": None,
        "updated_by": "anna",
    }
    # A PUT replaces them all: what it leaves out is cleared.
    again = call(api, "PUT", f"/items/deal/{second['id']}/requisites", {"bank_code": "COBADEFFXXX"})
    assert (again.body["version"], again.body["legal_name"], again.body["bank_code"]) == (
        2,
        None,
        "COBADEFFXXX",
    )
    # Another tenant's company of the same name has none of them.
    from crm.adapters import requisites as store
    from crm.domain.requisites import Holder

    assert store.get("globex", Holder.company("Client GmbH")) is None


def test_a_contacts_requisites_follow_its_email(api, sales):
    deal = new_deal(api, emails=["Buyer@Client.test"])
    put = call(api, "PUT", f"/items/deal/{deal['id']}/requisites?of=contact", {"legal_name": "Ann Buyer"})
    assert put.status == 200 and put.body["holder"] == "buyer@client.test"
    assert requisites(api, deal["id"], "contact").body["legal_name"] == "Ann Buyer"
    assert requisites(api, deal["id"]).status == 422  # the deal has no company


@pytest.mark.parametrize(
    ("body", "query", "status"),
    [
        ({"tax_id": "DE1\nDE2"}, "", 422),
        ({"legal_name": "x" * 301}, "", 422),
        ({"legal_name": "bad\x07bell"}, "", 422),
        ({}, "", 422),
        ({"legal_name": "   "}, "", 422),
        ({"tax_id": "1", "vat": "2"}, "", 422),
        ({"tax_id": "1"}, "?of=partner", 422),
        ({"tax_id": "1", "by": "nobody"}, "", 422),
    ],
)
def test_values_that_cannot_be_kept_are_refused_and_change_nothing(api, sales, body, query, status):
    deal = new_deal(api, company="Client")
    answer = call(api, "PUT", f"/items/deal/{deal['id']}/requisites{query}", body)
    assert answer.status == status, answer.body
    assert requisites(api, deal["id"]).status == 404


def test_an_item_without_a_company_or_an_unknown_item(api, sales):
    deal = new_deal(api)
    answer = call(api, "PUT", f"/items/deal/{deal['id']}/requisites", {"tax_id": "1"})
    assert answer.status == 422 and "no company" in answer.body["message"]
    assert call(api, "GET", "/items/deal/999/requisites").status == 404


def test_robots_read_and_change_them_through_the_deployed_port(api, sales):
    from crm.adapters import items
    from crm.service.requisites import CrmRequisites

    deal = new_deal(api, company="Client", fields={})
    call(api, "PUT", f"/items/deal/{deal['id']}/requisites", {"legal_name": "Client GmbH"})
    item = items.get("acme", "deal", deal["id"])
    fakes = FakePorts(requisites=CrmRequisites())

    changed, _ = ran(item, "change_requisites", {"tax_id": "DE{{ item.id }}"}, fakes=fakes)
    ran(item, "change_requisites", {"tax_id": "DE{{ item.id }}"}, fakes=fakes, attempt=2)  # a retry
    read, _ = ran(item, "get_requisites", {}, fakes=fakes, rule_id="r2")

    assert changed == read and (read["legal_name"], read["tax_id"]) == ("Client GmbH", "DE1")
    stored = requisites(api, deal["id"]).body
    assert (stored["version"], stored["updated_by"]) == (2, "robot:r1")  # the retry changed nothing


def test_a_change_made_on_an_old_read_is_decided_again_and_loses_nothing(api, sales, monkeypatch):
    """Two changes at once: the second writer's conditional write fails, it reads again and
    applies its change on top of the first."""
    from crm.adapters import requisites as store
    from crm.domain.requisites import Holder
    from crm.service.requisites import CrmRequisites

    holder = Holder.company("Client")
    CrmRequisites().change("acme", holder, {"legal_name": "Client GmbH"}, by="robot:a")
    real_get = store.get
    raced = []

    def get_then_race(tenant_id, whose):
        seen = real_get(tenant_id, whose)
        if not raced:  # another change lands between this read and its write
            raced.append(True)
            CrmRequisites().change("acme", holder, {"bank_code": "COBADEFFXXX"}, by="robot:b")
        return seen

    monkeypatch.setattr(store, "get", get_then_race)
    held = CrmRequisites().change("acme", holder, {"tax_id": "DE1"}, by="robot:c")
    assert held.version == 3
    assert (held.requisites.legal_name, held.requisites.bank_code, held.requisites.tax_id) == (
        "Client GmbH",
        "COBADEFFXXX",
        "DE1",
    )
