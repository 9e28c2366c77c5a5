"""Generated documents in S3 (``crm.adapters.documents.S3Documents``) and the local runtime's payment
links (``crm.adapters.payments.LocalPayments``) against moto: what is stored where, once per key,
and the link that shows it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from crm.adapters.documents import S3Documents
from crm.adapters.payments import LocalPayments
from crm.domain.ports import PaymentLink
from crm.domain.robots import RobotFailed
from tests.conftest import REGION
from tests.unit.builders import deal

BUCKET = "crm-documents-test"
PDF = b"%PDF-1.7\n% an invoice\n"


@pytest.fixture
def s3(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


def keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_document_is_stored_under_its_item_and_viewed_through_a_presigned_url(s3):
    stored = S3Documents(BUCKET).store(
        "acme", deal(id="25"), "Invoice 25 (März).pdf", PDF, "application/pdf", idempotency_key="k1"
    )
    key = f"acme/documents/deal/25/{stored.id}/Invoice 25 (März).pdf"
    assert keys(s3) == [key]
    stored_object = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored_object["Body"].read() == PDF
    assert stored_object["ContentType"] == "application/pdf"
    assert (
        stored_object["ContentDisposition"] == "inline; filename*=UTF-8''Invoice%2025%20%28M%C3%A4rz%29.pdf"
    )
    assert stored_object["Metadata"] == {"tenant-id": "acme", "item-type": "deal", "item-id": "25"}
    url = urlsplit(stored.url)
    query = parse_qs(url.query)
    assert url.path.endswith("/acme/documents/deal/25/" + stored.id + "/Invoice%2025%20%28M%C3%A4rz%29.pdf")
    assert query["X-Amz-Expires"] == ["604800"]  # 7 days
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def test_a_retry_overwrites_the_same_document_and_another_run_adds_one(s3):
    documents = S3Documents(BUCKET)
    first = documents.store(
        "acme", deal(id="25"), "offer.pdf", b"v1", "application/pdf", idempotency_key="k1"
    )
    again = documents.store(
        "acme", deal(id="25"), "offer.pdf", b"v2", "application/pdf", idempotency_key="k1"
    )
    other = documents.store(
        "acme", deal(id="25"), "offer.pdf", b"v3", "application/pdf", idempotency_key="k2"
    )
    assert first.id == again.id != other.id
    assert len(keys(s3)) == 2
    assert (
        s3.get_object(Bucket=BUCKET, Key=f"acme/documents/deal/25/{first.id}/offer.pdf")["Body"].read()
        == b"v2"
    )


@pytest.mark.parametrize(
    "name", ["", "  ", "../../other-tenant/x.pdf", "a/b.pdf", "..", "bad\nname.pdf", "x" * 201]
)
def test_a_name_that_is_no_file_name_is_refused_and_nothing_stored(s3, name):
    with pytest.raises(RobotFailed, match="no document name") as failed:
        S3Documents(BUCKET).store("acme", deal(), name, PDF, "application/pdf", idempotency_key="k1")
    assert not failed.value.retryable
    assert keys(s3) == []


def test_a_missing_bucket_is_a_failure_not_retried(aws):
    with pytest.raises(RobotFailed, match=r"the document store refused offer\.pdf") as failed:
        S3Documents("no-such-bucket").store(
            "acme", deal(), "offer.pdf", PDF, "application/pdf", idempotency_key="k1"
        )
    assert not failed.value.retryable


def test_a_link_cannot_be_valid_longer_than_sigv4_allows():
    with pytest.raises(ValueError, match="7 days"):
        S3Documents(BUCKET, url_valid_for=timedelta(days=8))


# ---------------------------------------------------------------- the local payments provider


def test_a_local_payment_link_points_at_the_runtimes_page_and_keeps_the_amount(aws):
    payments = LocalPayments("http://127.0.0.1:3000/")
    link = payments.payment_link(
        "acme",
        deal(id="25"),
        amount_minor=125000,
        currency="EUR",
        description="Deposit",
        idempotency_key="k1",
    )
    assert link.id.startswith("cs_local_")
    assert link.url == f"http://127.0.0.1:3000/_local/pay/acme/{link.id}"
    payment = payments.payment("acme", link.id)
    assert (payment.link, payment.item_type, payment.item_id) == (link, "deal", "25")
    assert (payment.amount_minor, payment.currency, payment.description) == (125000, "eur", "Deposit")
    assert payments.payment("globex", link.id) is None  # another tenant's link is not found


def test_the_same_key_answers_the_first_local_link_unchanged(aws):
    payments = LocalPayments("http://127.0.0.1:3000")
    first = payments.payment_link(
        "acme", deal(id="25"), amount_minor=100, currency="EUR", description="Deposit", idempotency_key="k1"
    )
    again = payments.payment_link(
        "acme", deal(id="25"), amount_minor=999, currency="EUR", description="Deposit", idempotency_key="k1"
    )
    assert again == first == PaymentLink(first.id, first.url)
    assert payments.payment("acme", first.id).amount_minor == 100


def test_a_local_link_for_nothing_to_pay_is_refused(aws):
    with pytest.raises(RobotFailed, match="positive") as failed:
        LocalPayments("http://127.0.0.1:3000").payment_link(
            "acme", deal(), amount_minor=0, currency="EUR", description="Deposit", idempotency_key="k1"
        )
    assert not failed.value.retryable


def test_presigned_urls_fetch_the_document(s3):
    """The URL is a real presigned GET: moto serves the object to it."""
    stored = S3Documents(BUCKET).store(
        "acme", deal(id="25"), "a.txt", b"hello", "text/plain", idempotency_key="k"
    )
    answer = requests.get(stored.url, timeout=5)
    assert (answer.status_code, answer.content) == (200, b"hello")
