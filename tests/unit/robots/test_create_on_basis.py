"""*Create on basis*: a deal from a lead (conversion), a quote or an invoice from a deal, through the
items port once per run, with the basis item's values and reference; the basis gets a timeline entry
naming the new item."""

from __future__ import annotations

import pytest

from crm.domain.model import CauseKind
from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def lead(**kw):
    return deal(
        type="lead",
        id="7",
        pipeline_id="leads",
        title="Laptops for the office",
        responsible_id="anna",
        emails=["buyer@client.test"],
        phones=["+4930123456"],
        company="Client GmbH",
        fields={"source": "web", "notes": "call after 5"},
        **kw,
    )


def test_a_lead_converts_into_a_deal_once_with_its_values_contacts_and_responsible():
    ports = FakePorts()
    params = {"item_type": "deal", "basis_field": "lead", "copy_fields": ["source", "missing"]}

    outputs, ctx = ran(lead(), "create_on_basis", params, fakes=ports)
    again, _ = ran(lead(), "create_on_basis", params, fakes=ports, attempt=2)

    ((key, made),) = ports.items.created.items()
    assert key == ctx.idempotency_key and outputs == again == {"item_type": "deal", "item_id": made.id}
    assert (made.type, made.title, made.responsible_id, made.company) == (
        "deal",
        "Laptops for the office",
        "anna",
        "Client GmbH",
    )
    assert (made.emails, made.phones, made.amount, made.currency) == (
        ["buyer@client.test"],
        ["+4930123456"],
        12_000.0,
        "EUR",
    )
    assert made.fields == {"source": "web", "lead": "lead/7"}  # only the fields named, and the basis
    assert made.last_change.kind is CauseKind.ROBOT and made.last_change.ref == "r1"
    assert ctx.effects.comments == [f"Converted into deal {made.id}: Laptops for the office"]


def test_an_invoice_from_a_deal_in_the_pipeline_and_stage_named():
    ports = FakePorts()
    params = {
        "item_type": "invoice",
        "title": "Invoice for {{ item.title }}",
        "pipeline_id": "invoices",
        "stage_id": "SENT",
        "responsible_id": "ivan",
    }
    outputs, ctx = ran(deal(responsible_id="anna"), "create_on_basis", params, fakes=ports)
    (made,) = ports.items.created.values()
    assert outputs == {"item_type": "invoice", "item_id": made.id}
    assert (made.title, made.pipeline_id, made.stage_id, made.responsible_id, made.fields) == (
        "Invoice for Ten laptops",
        "invoices",
        "SENT",
        "ivan",
        {},
    )
    assert ctx.effects.comments == [
        f"Invoice {made.id} made on the basis of this deal: Invoice for Ten laptops"
    ]


@pytest.mark.parametrize(("basis", "target"), [("deal", "deal"), ("lead", "invoice"), ("lead", "quote")])
def test_a_type_not_made_on_the_basis_of_the_items_fails_for_good_and_creates_nothing(basis, target):
    ports = FakePorts()
    with pytest.raises(RobotFailed, match=f"not of a {basis}") as failed:
        ran(deal(type=basis), "create_on_basis", {"item_type": target}, fakes=ports)
    assert not failed.value.retryable and ports.items.created == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "item_type"),
        ({"item_type": "contact"}, "item_type"),
        ({"item_type": "deal", "copy_fields": ["a b"]}, "copy_fields"),
    ],
)
def test_params_that_cannot_work_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("create_on_basis", params)
