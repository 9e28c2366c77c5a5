"""The documents robots run by the robot runner against moto with the deployed ports: a lead
converted into a deal (the deal made once, the lead's timeline naming it), and a chain that reads
the company's requisites into an invoice stored in S3."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest

from crm.domain.robots import RunState
from tests.conftest import REGION
from tests.integration.test_robot_engine import Engine
from tests.integration.test_robot_engine import engine as engine

BUCKET = "crm-documents-test"
BASE = "https://crm.example/dev"


@pytest.fixture
def deployed(engine: Engine, monkeypatch) -> Engine:
    """The engine with the ports the deployed runner has for items, documents and requisites."""
    from crm.service.documents import CrmDocuments
    from crm.service.requisites import CrmRequisites
    from crm.service.robots.ports import CrmItems, deployed_ports

    monkeypatch.setenv("DOCUMENTS_BUCKET", BUCKET)
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    documents = deployed_ports(BASE, engine.clock.now() - engine.clock.now()).documents
    assert isinstance(documents, CrmDocuments)
    engine.ports = replace(engine.ports, items=CrmItems(), documents=documents, requisites=CrmRequisites())
    return engine


def test_a_lead_entering_converted_becomes_a_deal_once_and_its_timeline_names_it(deployed: Engine):
    from crm.service import configuration, items, rules

    configuration.create_pipeline(
        "acme",
        {
            "id": "leads",
            "item_type": "lead",
            "name": "Leads",
            "stages": [{"name": "New"}, {"name": "Converted"}],
        },
    )
    rules.create_rule(
        "acme",
        "lead",
        "leads",
        rules.RuleKind.ROBOT,
        {
            "type_code": "create_on_basis",
            "stage_id": "converted",
            "params": {"item_type": "deal", "title": "Deal: {{ item.title }}"},
        },
    )
    lead = items.create_item(
        "acme",
        "lead",
        {
            "title": "Laptops",
            "emails": ["buyer@client.test"],
            "company": "Client",
            "responsible_id": "anna",
            "amount": 900,
        },
    )
    before = items.get_item("acme", "lead", lead.id)
    after, _ = items.manual_move("acme", "lead", lead.id, "converted", None, True)
    deployed.entered(before, after)

    (ran,) = [r for r in deployed.run_queued() if r is not None and r.run.item.type == "lead"]
    assert ran.run.state is RunState.DONE
    made = items.get_item("acme", "deal", ran.run.outputs["item_id"])
    assert ran.run.outputs == {"item_type": "deal", "item_id": made.id}
    assert (
        made.title,
        made.pipeline_id,
        made.stage_id,
        made.company,
        made.emails,
        made.responsible_id,
        made.amount,
    ) == (
        "Deal: Laptops",
        "sales",
        "new",
        "Client",
        ["buyer@client.test"],
        "anna",
        900,
    )
    timeline = items.timeline("acme", "lead", lead.id, 100, None)[0]
    assert [e.data["text"] for e in timeline if e.kind.value == "comment"] == [
        f"Converted into deal {made.id}: Deal: Laptops"
    ]
    # The same run delivered again makes no second deal.
    from crm.service.robots.runner import run_once

    assert run_once(ran.run, deployed.ports, deployed.queue) is None
    assert len(items.list_items("acme", "deal", "sales", None, 100, None)[0]) == 1


def test_a_chain_reads_the_companys_requisites_into_the_invoice_it_stores(deployed: Engine):
    from crm.domain.requisites import Holder
    from crm.service import documents
    from crm.service.requisites import CrmRequisites

    CrmRequisites().change(
        "acme", Holder.company("Client"), {"legal_name": "Client GmbH", "tax_id": "DE1"}, by="t"
    )
    first = deployed.robot("offer", "get_requisites", {}, sort=10)
    documents.create_template(
        "acme",
        {
            "name": "Invoice",
            "kind": "invoice",
            "body": "<p>Bill to {{ robots[r].legal_name }}, VAT {{ robots[r].tax_id }}</p>".replace(
                "robots[r]", f"robots['{first}']"
            ),
            "file_name": "Invoice {{ item.id }}",
        },
    )
    deployed.robot("offer", "create_document", {"template_id": "invoice"}, after_previous=True, sort=20)
    deal = deployed.create(company="Client")
    deployed.move(deal, "offer")

    done = [r.run for r in deployed.run_queued() if r is not None]
    assert [(r.type_code, r.state) for r in done] == [
        ("get_requisites", RunState.DONE),
        ("create_document", RunState.DONE),
    ]
    key = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"][0]["Key"]
    content = (
        boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    )
    assert "<p>Bill to Client GmbH, VAT DE1</p>" in content
    assert done[1].outputs["document_url"].startswith(f"{BASE}/d/")
