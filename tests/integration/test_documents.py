"""Generated documents against moto: templates through the API, the *create document* robot through
the deployed port (S3 content, the records on the item with its *document created* event, the CRM
link), the item's document list, and the public view route of the tracking function (302 to a
fresh presigned URL, *document viewed* on the first view by a person)."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from crm.domain.errors import StaleWrite
from tests.conftest import REGION, lambda_context, load_event, load_handler
from tests.fakes import NOW, FakePorts
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales
from tests.unit.robots.running import ran

BUCKET = "crm-documents-test"
BASE = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
INVOICE = {
    "name": "Invoice",
    "kind": "invoice",
    "body": "<h1>Invoice {{ item.id }}</h1><p>{{ item.title }}: {{ item.amount }} {{ item.currency }}</p>",
}
TEMPLATES = "/automation/document-templates"


@pytest.fixture
def bucket(aws, monkeypatch):
    monkeypatch.setenv("DOCUMENTS_BUCKET", BUCKET)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


@pytest.fixture
def stopped():
    from crm.domain import clock

    clock.use_clock(clock.FixedClock(NOW))
    yield
    clock.use_clock(clock.SystemClock())


def trigger(api, type_code: str, stage_id: str, **params) -> None:
    answer = call(
        api,
        "POST",
        "/automation/deal/sales/triggers",
        {"type_code": type_code, "stage_id": stage_id, "params": params},
    )
    assert answer.status == 201, answer.body


def make_document(deal_id: str, *, attempt: int = 1, template_id: str = "invoice") -> dict:
    """The create_document robot's run on the deal, through the port the deployed runner has."""
    from crm.adapters import items
    from crm.service.robots.ports import deployed_ports

    ports = deployed_ports(BASE, NOW - NOW)
    item = items.get("acme", "deal", deal_id)
    outputs, _ = ran(
        item,
        "create_document",
        {"template_id": template_id},
        fakes=FakePorts(documents=ports.documents),
        attempt=attempt,
    )
    return outputs


def view(url: str, method="GET", user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/126.0") -> dict:
    """The tracking function's answer to ``url`` (a /d/{token} link) as API Gateway hands it over."""
    path = urlsplit(url).path.removeprefix("/dev")
    event = copy.deepcopy(load_event("ingest_tracking/document_view.json"))
    event.update(
        resource="/d/{token}", path=path, httpMethod=method, pathParameters={"token": path.split("/")[2]}
    )
    event["headers"]["User-Agent"] = user_agent
    event["requestContext"].update(httpMethod=method, path=f"/dev{path}")
    return load_handler("ingest_tracking").lambda_handler(event, lambda_context())


def documents(api, deal_id: str, **query) -> dict:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    answer = api.call(
        "GET",
        f"/items/deal/{deal_id}/documents" + (f"?{suffix}" if suffix else ""),
        None,
        api.key,
        {"X-Forwarded-Proto": "https"},
    )
    assert answer.status == 200, answer.body
    return answer.body


# ---------------------------------------------------------------- templates


def test_templates_are_created_read_replaced_and_deleted(api):
    created = call(api, "POST", TEMPLATES, INVOICE)
    assert created.status == 201, created.body
    assert created.body["id"] == "invoice" and created.body["file_name"] == "Invoice {{ item.id }}"
    assert call(api, "POST", TEMPLATES, INVOICE).body["id"] == "invoice_2"  # a name taken: another id
    assert call(api, "POST", TEMPLATES, INVOICE | {"id": "invoice"}).status == 409

    replaced = call(
        api, "PUT", f"{TEMPLATES}/invoice", INVOICE | {"kind": "quote", "file_name": "Q {{ item.id }}"}
    )
    assert replaced.status == 200 and replaced.body["kind"] == "quote"
    assert replaced.body["created_at"] == created.body["created_at"]
    assert call(api, "GET", f"{TEMPLATES}/invoice").body == replaced.body
    assert [t["id"] for t in call(api, "GET", TEMPLATES).body["templates"]] == ["invoice", "invoice_2"]

    assert call(api, "DELETE", f"{TEMPLATES}/invoice").status == 204
    assert call(api, "GET", f"{TEMPLATES}/invoice").status == 404
    assert call(api, "DELETE", f"{TEMPLATES}/invoice").status == 404
    assert call(api, "PUT", f"{TEMPLATES}/invoice", INVOICE).status == 404
    # Another tenant sees none of them.
    assert api.call("GET", TEMPLATES, key=api.other_key).body["templates"] == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (INVOICE | {"body": "{{ unclosed"}, "body"),
        (INVOICE | {"file_name": "{% if %}"}, "file_name"),
        (INVOICE | {"kind": "poem"}, "kind"),
        (INVOICE | {"body": ""}, "body"),
        ({"name": "No body", "kind": "invoice"}, "body"),
        (INVOICE | {"name": "\t"}, "name"),
    ],
)
def test_a_template_that_cannot_render_is_refused_and_nothing_stored(api, body, where):
    answer = call(api, "POST", TEMPLATES, body)
    assert answer.status == 422 and where in str(answer.body), answer.body
    assert call(api, "GET", TEMPLATES).body["templates"] == []


# ---------------------------------------------------------------- the robot, the list, the view


def test_a_robots_document_is_stored_once_listed_on_the_item_and_fires_document_created(
    api, sales, bucket, stopped
):
    assert call(api, "POST", TEMPLATES, INVOICE).status == 201
    trigger(api, "document_created", "awaiting_payment", kinds=["invoice"])
    deal = new_deal(api, title="Forklift", amount=1200, currency="EUR")

    outputs = make_document(deal["id"])
    again = make_document(deal["id"], attempt=2)  # a retried run

    assert again == outputs and outputs["kind"] == "invoice" and outputs["file_name"] == "Invoice 1.html"
    assert outputs["document_url"].startswith(f"{BASE}/d/")
    (stored,) = bucket.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert stored["Key"] == f"acme/documents/deal/1/{outputs['document_id']}/Invoice 1.html"
    page = bucket.get_object(Bucket=BUCKET, Key=stored["Key"])
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert "<p>Forklift: 1200 EUR</p>" in page["Body"].read().decode()

    listed = documents(api, deal["id"])["documents"]
    assert [(d["id"], d["kind"], d["name"], d["template_id"], d["created_by"]) for d in listed] == [
        (outputs["document_id"], "invoice", "Invoice 1.html", "invoice", "robot:r1")
    ]
    assert listed[0]["viewed_at"] is None and listed[0]["url"].startswith("https://")
    assert documents(api, deal["id"], kind="contract")["documents"] == []
    # The trigger moved the deal once, and the journal says why.
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "awaiting_payment"
    fired = [
        e for e in call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"] if e.get("event")
    ]
    assert [(e["event"]["type"], e["event"]["source"], e["event"]["chain"]) for e in fired] == [
        ("document_created", "documents", ["robot:r1"])
    ]


def test_a_view_redirects_to_the_document_and_fires_document_viewed_once(api, sales, bucket, stopped):
    call(api, "POST", TEMPLATES, INVOICE)
    trigger(api, "document_viewed", "awaiting_payment")
    deal = new_deal(api)
    url = make_document(deal["id"])["document_url"]

    # A HEAD request and a link scanner get the redirect and fire nothing.
    assert view(url, "HEAD")["statusCode"] == 302
    assert view(url, user_agent="Mozilla/5.0 (compatible; Proofpoint URL Defense)")["statusCode"] == 302
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"

    answer = view(url)
    assert answer["statusCode"] == 302 and answer["headers"]["Cache-Control"] == "no-store"
    location = answer["headers"]["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    fetched = requests.get(location, timeout=5)
    assert fetched.status_code == 200 and b"<h1>Invoice 1</h1>" in fetched.content

    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "awaiting_payment"
    (listed,) = documents(api, deal["id"])["documents"]
    assert listed["viewed_at"] is not None
    # A second view serves the document and fires nothing again.
    call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "new", "allow_backwards": True})
    assert view(url)["statusCode"] == 302
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"
    views = [
        e
        for e in call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
        if (e.get("event") or {}).get("type") == "document_viewed"
    ]
    assert len(views) == 1


def test_a_link_that_is_not_ours_or_another_kind_of_token_is_404(api, sales, bucket, stopped):
    from crm.domain import tracking
    from crm.domain.trigger_events import ItemRef
    from crm.service import outbound_mail

    call(api, "POST", TEMPLATES, INVOICE)
    deal = new_deal(api)
    url = make_document(deal["id"])["document_url"]
    token = urlsplit(url).path.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert view(f"{BASE}/d/{forged}")["statusCode"] == 404
    assert view(f"{BASE}/d/not-a-token")["statusCode"] == 404
    # An open pixel's token names a message, not a document: it opens nothing here.
    claims = tracking.Claims(tracking.Purpose.OPEN, "acme", ItemRef("deal", deal["id"]), "A" * 16)
    assert view(f"{BASE}/d/{outbound_mail.token('acme', claims)}")["statusCode"] == 404
    # A well-signed token of a document that was never made.
    claims = tracking.Claims(tracking.Purpose.DOCUMENT, "acme", ItemRef("deal", deal["id"]), "B" * 16)
    missing = view(f"{BASE}/d/{outbound_mail.token('acme', claims)}")
    assert missing["statusCode"] == 404 and "not there" in missing["body"]


def test_a_robot_naming_a_deleted_template_fails_for_good_and_stores_nothing(api, sales, bucket, stopped):
    from crm.domain.robots import RobotFailed

    deal = new_deal(api)
    with pytest.raises(RobotFailed, match="does not exist") as failed:
        make_document(deal["id"], template_id="gone")
    assert not failed.value.retryable
    assert "Contents" not in bucket.list_objects_v2(Bucket=BUCKET)
    assert documents(api, deal["id"])["documents"] == []


def test_a_record_write_that_meets_another_is_retried_by_the_run(api, sales, bucket, stopped, monkeypatch):
    """The content is stored first; a record write that failed is a retryable failure, and the next
    attempt records the document once."""
    from crm.domain.robots import RobotFailed
    from crm.service import documents as service

    call(api, "POST", TEMPLATES, INVOICE)
    deal = new_deal(api)
    real = service.apply_trigger_event

    def busy(*args, **kwargs):
        raise StaleWrite("busy")

    monkeypatch.setattr(service, "apply_trigger_event", busy)
    with pytest.raises(RobotFailed) as failed:
        make_document(deal["id"])
    assert failed.value.retryable and documents(api, deal["id"])["documents"] == []
    monkeypatch.setattr(service, "apply_trigger_event", real)
    outputs = make_document(deal["id"], attempt=2)
    assert [d["id"] for d in documents(api, deal["id"])["documents"]] == [outputs["document_id"]]


def test_a_robot_naming_a_template_that_does_not_exist_is_refused_when_saved(api, sales):
    robot = {"type_code": "create_document", "stage_id": "new", "params": {"template_id": "nowhere"}}
    refused = call(api, "POST", "/automation/deal/sales/robots", robot)
    assert refused.status == 422
    assert refused.body["message"] == "params.template_id: document template 'nowhere' does not exist"
