"""Webforms without AWS: a form's definition, a submission read against it (values, contact, the new
item's values, its event id), the HTML pages escaping what they show, and the three kinds of body
a form is posted as, multipart built by a real encoder."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from urllib3 import encode_multipart_formdata

from crm.bodies import BodyError
from crm.domain.errors import Invalid
from crm.domain.form_pages import hosted_page, snippet
from crm.domain.forms import Form, FormKind, InvalidSubmission, tenant_of
from crm.domain.trigger_events import Contact, ContactKind
from crm.ingest.http import Request
from crm.ingest.webform import fields_of

FORM_ID = "f_acme_0123456789ab"
FIELDS = [
    {"name": "first", "label": "First name", "type": "text", "required": True},
    {"name": "last", "label": "Last name", "type": "text"},
    {"name": "email", "label": "Email", "type": "email", "maps_to": "emails"},
    {"name": "phone", "label": "Phone", "type": "phone", "maps_to": "phones"},
    {"name": "budget", "label": "Budget", "type": "number", "maps_to": "amount"},
    {"name": "message", "label": "Message", "type": "textarea", "maps_to": "fields.message"},
]
AT = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)


def form(**changes) -> Form:
    settings = {
        "id": FORM_ID,
        "name": "Contact us",
        "fields": FIELDS,
        "item_type": "lead",
        "pipeline_id": "leads",
    }
    return Form.from_dict({**settings, **changes})


def sent(**values) -> dict[str, list[str]]:
    return {name: [value] for name, value in values.items()}


def test_the_form_id_names_its_tenant():
    assert tenant_of(FORM_ID) == "acme" and tenant_of("f_my-shop_0123456789ab") == "my-shop"
    for wrong in (
        "f_acme",
        "acme_0123456789ab",
        "f_Acme_0123456789ab",
        "f_acme_0123456789AB",
        "f_a_0123456789ab",
    ):
        with pytest.raises(Invalid):
            tenant_of(wrong)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"fields": []}, "1-50 fields"),
        ({"fields": [FIELDS[0], FIELDS[0]]}, "each field name once"),
        ({"fields": [{**FIELDS[2], "maps_to": "amount"}]}, "amount takes a field of type number"),
        ({"fields": [{**FIELDS[0], "maps_to": "owner"}]}, "maps_to is one of"),
        ({"fields": [{**FIELDS[0], "name": "First"}]}, "field name"),
        ({"honeypot": "email"}, "is one of the form's fields"),
        ({"rate_limit": 0}, "1-600"),
        ({"rate_limit": True}, "whole number"),
        ({"allowed_origins": ["https://x.example/page"]}, "scheme://host"),
        ({"thank_you_url": "javascript:alert(1)"}, "http(s) address"),
        ({"thank_you_url": "https://a.example/t\r\nSet-Cookie: session=x"}, "line breaks"),
        ({"kind": "callback", "fields": FIELDS[:1]}, "a callback form asks for a phone"),
        ({"kind": "survey"}, "kind"),
        ({"colour": "red"}, "has no ['colour']"),
    ],
)
def test_a_form_definition_that_cannot_work_is_refused(changes, message):
    with pytest.raises(Invalid, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        form(**changes)


def test_a_forms_json_form_reads_back_equal_and_origins_are_normal():
    made = form(
        allowed_origins=["HTTPS://WWW.Acme.example/"], kind="callback", thank_you_url="https://a.example/t"
    )
    assert made.allowed_origins == ("https://www.acme.example",)
    assert made.kind is FormKind.CALLBACK and made.trigger_type == "callback_form_filled"
    assert Form.from_dict(made.to_dict()) == made
    assert form(thank_you_url="HTTPS://Bücher.example/danke schön".replace(" ", "%20")).thank_you_url == (
        "https://xn--bcher-kva.example/danke%20sch%C3%B6n"
    )
    assert made.admits_origin("https://www.acme.example", None)
    assert not made.admits_origin("https://evil.example", None) and not made.admits_origin("null", None)
    assert made.admits_origin("http://127.0.0.1:3000", "http://127.0.0.1:3000")


def test_a_submission_is_read_into_the_new_items_values_and_its_contact():
    f = form(responsible_id="anna")
    submission = f.read(
        sent(
            first=" Maria ",
            last="Ivanova",
            email="Maria@Client.Example",
            phone="+44 7700 900123",
            budget="1200",
            message="Call me",
            utm_source="ads",
        )
    )
    assert submission.values == {
        "first": "Maria",
        "last": "Ivanova",
        "email": "maria@client.example",
        "phone": "+447700900123",
        "budget": 1200,
        "message": "Call me",
    }
    assert f.contact(submission) == Contact(ContactKind.EMAIL, "maria@client.example")
    assert f.item_values(submission) == {
        "pipeline_id": "leads",
        "title": "Maria Ivanova",
        "emails": ["maria@client.example"],
        "phones": ["+447700900123"],
        "amount": 1200,
        "fields": {"message": "Call me"},
        "responsible_id": "anna",
    }
    only_phone = f.read(sent(first="Ivan", phone="+44 7700 900456"))
    assert f.contact(only_phone) == Contact(ContactKind.PHONE, "+447700900456")
    untitled = form(fields=FIELDS[2:4]).read(sent(email="a@b.example"))
    assert form(fields=FIELDS[2:4]).item_values(untitled)["title"] == "Contact us: a@b.example"


def test_every_missing_or_wrong_field_is_named_at_once():
    with pytest.raises(InvalidSubmission) as refused:
        form().read(sent(email="nobody", phone="12", budget="lots", _nonce="short"))
    assert set(refused.value.problems) == {"first", "email", "phone", "budget", "_nonce"}
    assert refused.value.problems["first"] == "First name is required"
    with pytest.raises(InvalidSubmission, match="at most 200 characters"):
        form().read(sent(first="x" * 201))


def test_a_filled_honeypot_marks_a_bot_read_as_a_persons_submission_is():
    f = form()
    person = f.read(sent(first="Maria", email="maria@client.example", _nonce="0f8e7d6c5b4a3928"))
    bot = f.read(
        sent(first="Maria", email="maria@client.example", _nonce="0f8e7d6c5b4a3928", website_url="http://x")
    )
    assert bot.bot and not person.bot and not f.read(sent(first="Maria", website_url="  ")).bot
    # Its id is made as a person's is, so that nothing it is answered tells it apart
    assert (bot.values, bot.nonce) == (person.values, person.nonce)
    assert f.event_id(bot, "1.2.3.4", AT) == f.event_id(person, "1.2.3.4", AT)
    without_nonce = {"first": "Maria", "email": "maria@client.example"}
    assert f.event_id(f.read(sent(**without_nonce, website_url="http://x")), "1.2.3.4", AT) == f.event_id(
        f.read(sent(**without_nonce)), "1.2.3.4", AT
    )
    # And what a person would be told to correct, a bot is told
    with pytest.raises(InvalidSubmission) as refused:
        f.read(sent(email="nobody", website_url="http://x"))
    assert set(refused.value.problems) == {"first", "email"}


def test_the_event_id_is_the_pages_nonce_else_a_digest_of_the_minutes_submission():
    f = form()
    with_nonce = f.read(sent(first="Maria", _nonce="0f8e7d6c5b4a3928"))
    assert f.event_id(with_nonce, "1.2.3.4", AT) == f"{FORM_ID}.n.0f8e7d6c5b4a3928"
    plain = f.read(sent(first="Maria"))
    same_minute = f.event_id(plain, "1.2.3.4", AT + timedelta(seconds=20))
    assert f.event_id(plain, "1.2.3.4", AT) == same_minute
    assert f.event_id(plain, "1.2.3.4", AT + timedelta(minutes=1)) != same_minute
    assert f.event_id(plain, "5.6.7.8", AT) != same_minute
    assert f.event_id(f.read(sent(first="Ivan")), "1.2.3.4", AT) != same_minute


def test_the_pages_escape_what_they_show_and_hide_the_honeypot():
    f = form(name='<script>alert("x")</script>')
    page = hosted_page(f, f.id, "nonce-0000000000000", {"first": '"><img src=x>'}, {"first": "<wrong>"})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'value="&quot;&gt;&lt;img src=x&gt;"' in page and "&lt;wrong&gt;" in page
    assert 'name="_nonce" value="nonce-0000000000000"' in page
    assert 'name="website_url"' in page and 'tabindex="-1"' in page
    embed = snippet(form(), "https://api.example/dev/forms/" + FORM_ID)
    assert 'action="https://api.example/dev/forms/f_acme_0123456789ab"' in embed
    assert "crypto.randomUUID" in embed and "<noscript>" in embed


# ---------------------------------------------------------------- the three kinds of body


def request(body: bytes, content_type: str) -> Request:
    """As API Gateway hands a body over that may not be UTF-8 text: base64."""
    encoded = base64.b64encode(body).decode()
    return Request.of(
        {
            "httpMethod": "POST",
            "headers": {"Content-Type": content_type},
            "body": encoded,
            "isBase64Encoded": True,
        }
    )


def test_urlencoded_multipart_and_json_bodies_read_alike():
    expected = {"first": ["Jörg"], "email": ["j@example.org"]}
    urlencoded = request(b"first=J%C3%B6rg&email=j%40example.org", "application/x-www-form-urlencoded")
    assert fields_of(urlencoded) == expected
    data, content_type = encode_multipart_formdata(
        {"first": "Jörg", "email": "j@example.org", "cv": ("cv.pdf", b"%PDF", "application/pdf")}
    )
    assert fields_of(request(data, content_type)) == expected  # the file part left out
    assert (
        fields_of(
            request(json.dumps({"first": "Jörg", "email": "j@example.org"}).encode(), "application/json")
        )
        == expected
    )
    assert fields_of(request(b'{"budget": 1200, "agree": true}', "application/json")) == {
        "budget": ["1200"],
        "agree": ["true"],
    }


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"first=x", "text/plain", 415),
        (b"first=\xff", "application/x-www-form-urlencoded", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"first": {"nested": 1}}', "application/json", 400),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400),
        (b"whatever", "multipart/form-data", 400),
    ],
)
def test_a_body_that_does_not_read_as_its_type_says_is_refused(body, content_type, status):
    with pytest.raises(BodyError) as refused:
        fields_of(request(body, content_type))
    assert refused.value.status == status
