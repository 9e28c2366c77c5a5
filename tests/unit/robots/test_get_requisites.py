"""*Get requisites*: the requisites of the item's company (by its name, whatever its case and
spacing) or contact (its first email) as outputs for the robots after it."""

from __future__ import annotations

import pytest

from crm.domain.requisites import Holder, Requisites
from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran

ACME = Requisites(legal_name="Client GmbH", tax_id="DE123456789", bank_account="DE89370400440532013000")


def test_the_companys_requisites_feed_the_document_after_it():
    fakes = FakePorts()
    fakes.requisites.put("acme", Holder.company("Client  gmbh"), ACME)

    outputs, _ = ran(deal(company=" client GmbH "), "get_requisites", {}, fakes=fakes)

    assert outputs == {
        "found": True,
        "of": "company",
        "holder": "Client gmbh",
        "legal_name": "Client GmbH",
        "tax_id": "DE123456789",
        "registration_number": None,
        "address": None,
        "bank_name": None,
        "bank_account": "DE89370400440532013000",
        "bank_code": None,
    }


def test_a_contacts_requisites_by_the_items_first_email():
    fakes = FakePorts()
    fakes.requisites.put("acme", Holder.contact("Buyer@Client.test"), Requisites(address="Main St 1\nBerlin"))
    outputs, _ = ran(deal(emails=["buyer@client.test"]), "get_requisites", {"of": "contact"}, fakes=fakes)
    assert (outputs["found"], outputs["address"], outputs["holder"]) == (
        True,
        "Main St 1\nBerlin",
        "buyer@client.test",
    )


def test_none_stored_fails_unless_not_required():
    with pytest.raises(RobotFailed, match="no requisites are stored for the company 'Client'") as failed:
        ran(deal(company="Client"), "get_requisites", {})
    assert not failed.value.retryable
    outputs, _ = ran(deal(company="Client"), "get_requisites", {"required": False})
    assert outputs["found"] is False and outputs["legal_name"] is None


@pytest.mark.parametrize(
    ("item", "of", "message"), [(deal(), "company", "no company"), (deal(), "contact", "no contact email")]
)
def test_an_item_without_a_company_or_email_fails_for_good(item, of, message):
    with pytest.raises(RobotFailed, match=message) as failed:
        ran(item, "get_requisites", {"of": of})
    assert not failed.value.retryable
