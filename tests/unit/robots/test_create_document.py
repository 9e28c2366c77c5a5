"""*Create document from template*: the tenant's template rendered (values escaped) into an HTML
page, stored once per run through the documents port, its CRM link in the outputs for the mail
after it."""

from __future__ import annotations

import pytest

from crm.domain.documents import DocumentKind, DocumentTemplate
from crm.domain.robots import RobotFailed
from tests.fakes import NOW, FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

INVOICE = DocumentTemplate(
    id="invoice",
    name="Invoice",
    kind=DocumentKind.INVOICE,
    body="<h1>Invoice {{ item.id }}</h1><p>To: {{ item.company }}</p>"
    "<p>{{ item.amount }} {{ item.currency }}</p>",
    file_name="Invoice {{ item.id }} {{ item.company }}",
    created_at=NOW,
    updated_at=NOW,
)


def ports() -> FakePorts:
    fakes = FakePorts()
    fakes.documents.templates[("acme", "invoice")] = INVOICE
    return fakes


def test_a_document_is_made_from_the_template_once_and_its_link_feeds_the_mail_after_it():
    fakes = ports()
    item = deal(company="<b>Client</b> & Co / Berlin")

    outputs, ctx = ran(item, "create_document", {"template_id": "invoice"}, fakes=fakes)
    again, _ = ran(item, "create_document", {"template_id": "invoice"}, fakes=fakes, attempt=2)
    ran(
        deal(emails=["buyer@client.test"]),
        "send_email",
        {"subject": "Your invoice", "body_text": "See {{ robots.r0.document_url }}"},
        fakes=fakes,
        rule_id="r2",
        earlier_outputs={"r0": outputs},
    )

    ((key, (stored, document, content, cause)),) = fakes.documents.stored.items()
    assert key == ctx.idempotency_key and cause == ctx.cause
    assert (
        outputs
        == again
        == {
            "document_id": stored.id,
            "document_url": stored.url,
            "kind": "invoice",
            "file_name": "Invoice d-1 <b>Client<-b> & Co - Berlin.html",
        }
    )
    assert (document.kind, document.name, document.template_id) == (
        DocumentKind.INVOICE,
        "Invoice d-1 <b>Client<-b> & Co - Berlin.html",
        "invoice",
    )
    assert document.content_type == "text/html; charset=utf-8"
    page = content.decode()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    # Values are escaped: the company's markup is text in the page, not markup.
    assert "<p>To: &lt;b&gt;Client&lt;/b&gt; &amp; Co / Berlin</p>" in page
    assert "<p>12000.0 EUR</p>" in page
    assert fakes.mailer.sent[0].draft.text == f"See {stored.url}"


def test_a_file_name_given_in_the_robot_wins_over_the_templates():
    fakes = ports()
    outputs, _ = ran(
        deal(), "create_document", {"template_id": "invoice", "file_name": "Rechnung.htm"}, fakes=fakes
    )
    assert outputs["file_name"] == "Rechnung.htm"


def test_a_whole_html_document_in_the_template_is_kept_as_written():
    fakes = FakePorts()
    whole = "<html><body><p>{{ item.title }}</p></body></html>"
    fakes.documents.templates[("acme", "offer")] = DocumentTemplate(
        "offer", "Offer", DocumentKind.OFFER, whole, "Offer", NOW, NOW
    )
    ran(deal(), "create_document", {"template_id": "offer"}, fakes=fakes)
    ((_, _, content, _),) = fakes.documents.stored.values()
    assert content == b"<html><body><p>Ten laptops</p></body></html>"


def test_a_template_that_is_gone_fails_the_run_for_good_and_stores_nothing():
    fakes = FakePorts()
    with pytest.raises(RobotFailed, match="document template 'invoice' does not exist") as failed:
        ran(deal(), "create_document", {"template_id": "invoice"}, fakes=fakes)
    assert not failed.value.retryable and fakes.documents.stored == {}


def test_a_template_that_fails_to_render_fails_the_run_for_good():
    fakes = FakePorts()
    fakes.documents.templates[("acme", "bad")] = DocumentTemplate(
        "bad", "Bad", DocumentKind.OTHER, "{{ 1 / 0 }}", "Bad", NOW, NOW
    )
    with pytest.raises(RobotFailed, match="ZeroDivisionError") as failed:
        ran(deal(), "create_document", {"template_id": "bad"}, fakes=fakes)
    assert not failed.value.retryable and fakes.documents.stored == {}


def test_a_store_that_is_unavailable_fails_the_attempt_to_be_retried():
    fakes = ports()
    fakes.documents.fail_next()
    with pytest.raises(RobotFailed) as failed:
        ran(deal(), "create_document", {"template_id": "invoice"}, fakes=fakes)
    assert failed.value.retryable
    outputs, _ = ran(deal(), "create_document", {"template_id": "invoice"}, fakes=fakes, attempt=2)
    assert len(fakes.documents.stored) == 1 and outputs["kind"] == "invoice"


def test_without_a_document_store_the_robot_says_so():
    fakes = ports()
    fakes.documents = None  # type: ignore[assignment]
    with pytest.raises(RobotFailed, match="no document store"):
        ran(deal(), "create_document", {"template_id": "invoice"}, fakes=fakes)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "template_id"),
        ({"template_id": "no spaces allowed"}, "template_id"),
        ({"template_id": "invoice", "file_name": "{{ unclosed"}, "file_name"),
        ({"template_id": "invoice", "extra": 1}, "extra"),
    ],
)
def test_params_that_cannot_work_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("create_document", params)
