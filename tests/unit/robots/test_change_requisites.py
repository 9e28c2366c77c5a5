"""*Change requisites*: values from templates set on the item's company (or contact); values that
render empty leave what is stored; the same change again makes no new version."""

from __future__ import annotations

import pytest

from crm.domain.requisites import Holder, Requisites
from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_values_from_the_items_fields_are_set_and_the_rest_kept_once_whatever_the_attempts():
    fakes = FakePorts()
    fakes.requisites.put("acme", Holder.company("Client"), Requisites(legal_name="Client GmbH", tax_id="OLD"))
    item = deal(company="Client", fields={"vat": "DE999", "iban": ""})
    params = {"tax_id": "{{ item.vat }}", "bank_account": "{{ item.iban }}", "bank_code": "COBADEFFXXX"}

    outputs, _ = ran(item, "change_requisites", params, fakes=fakes)
    ran(item, "change_requisites", params, fakes=fakes, attempt=2)

    held = fakes.requisites.get("acme", Holder.company("client"))
    assert held.version == 2 and held.updated_by == "robot:r1"  # one change, whatever the attempts
    assert held.requisites == Requisites(legal_name="Client GmbH", tax_id="DE999", bank_code="COBADEFFXXX")
    assert (outputs["found"], outputs["tax_id"], outputs["bank_account"], outputs["legal_name"]) == (
        True,
        "DE999",
        None,  # rendered empty: not erased, not set
        "Client GmbH",
    )


def test_the_first_requisites_of_a_contact():
    fakes = FakePorts()
    outputs, _ = ran(
        deal(emails=["a@b.test"]),
        "change_requisites",
        {"of": "contact", "legal_name": "Ann Smith"},
        fakes=fakes,
    )
    assert fakes.requisites.get("acme", Holder.contact("a@b.test")).version == 1
    assert outputs["legal_name"] == "Ann Smith" and outputs["of"] == "contact"


def test_values_that_break_the_limits_or_render_empty_fail_for_good_and_change_nothing():
    fakes = FakePorts()
    with pytest.raises(RobotFailed, match="tax_id: one line") as failed:
        ran(
            deal(company="Client", fields={"vat": "A\nB"}),
            "change_requisites",
            {"tax_id": "{{ item.vat }}"},
            fakes=fakes,
        )
    assert not failed.value.retryable
    with pytest.raises(RobotFailed, match="rendered empty"):
        ran(deal(company="Client"), "change_requisites", {"tax_id": "{{ item.vat }}"}, fakes=fakes)
    assert fakes.requisites.held == {}


def test_a_robot_that_sets_nothing_is_refused_when_saved():
    assert "name at least one of" in refused("change_requisites", {"of": "company"})
    assert "of" in refused("change_requisites", {"of": "partner", "tax_id": "1"})
