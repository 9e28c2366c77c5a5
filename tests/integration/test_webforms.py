"""Webform submissions through the public function, in API Gateway's proxy shapes, against moto: a
new contact's lead created and qualified by the form's trigger, a known contact's lead moved, a
double submit applied once, every taken submission (a bot's too) answered alike with its id only,
what it did read through the CRM, bots and floods and foreign origins answered without a trace, bad
input refused with what to correct, and the DynamoDB calls a submission costs."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture

STAGES = [
    {"name": "New"},
    {"name": "Qualified"},
    {"name": "Converted", "semantic": "success"},
    {"name": "Junk", "semantic": "failure"},
]
FIELDS = [
    {"name": "name", "label": "Your name", "type": "text", "required": True, "maps_to": "title"},
    {"name": "email", "label": "Email", "type": "email", "required": True, "maps_to": "emails"},
    {"name": "phone", "label": "Phone", "type": "phone", "maps_to": "phones"},
    {"name": "company", "label": "Company", "type": "text", "maps_to": "company"},
]
HOST = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
SITE = "https://www.acme.example"
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"
NONCE = "page-view-0000000001"


def form_settings(**changes):
    return {
        "name": "Contact us",
        "fields": FIELDS,
        "item_type": "lead",
        "pipeline_id": "leads",
        "allowed_origins": [SITE],
        "responsible_id": "anna",
        **changes,
    }


@pytest.fixture
def crm(aws):
    """Tenant acme: leads New -> Qualified (a *form filled* trigger for the form) -> Converted/Junk,
    the form, and a lead of the known contact maria@client.example."""
    from crm.domain.rules import RuleKind
    from crm.service import configuration, forms, items, rules

    configuration.create_employee("acme", {"id": "anna", "name": "Anna", "email": "anna@acme.test"})
    configuration.create_pipeline(
        "acme", {"id": "leads", "item_type": "lead", "name": "Leads", "stages": STAGES}
    )
    form = forms.create_form("acme", form_settings())
    rule = {
        "type_code": "form_filled",
        "stage_id": "qualified",
        "name": "Contact form filled",
        "params": {"form_ids": [form.id]},
    }
    trigger = rules.create_rule("acme", "lead", "leads", RuleKind.TRIGGER, rule)
    known = items.create_item("acme", "lead", {"title": "Maria", "emails": ["maria@client.example"]})
    return {"form": form, "trigger": trigger, "known": known}


def send(form_id, method="POST", body=b"", headers=None, query=None, ip="198.51.100.4"):
    """What the function answers to this request, as API Gateway hands it over."""
    event = copy.deepcopy(load_event("ingest_webform/submit_browser.json"))
    all_headers = {"Host": HOST, **(headers or {})}
    event.update(
        httpMethod=method,
        path=f"/forms/{form_id}",
        pathParameters={"form_id": form_id},
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query,
        multiValueQueryStringParameters=None if query is None else {k: [v] for k, v in query.items()},
        body=body.decode() if body else None,
    )
    event["requestContext"].update(httpMethod=method, path=f"/dev/forms/{form_id}")
    event["requestContext"]["identity"]["sourceIp"] = ip
    answer = load_handler("ingest_webform").lambda_handler(event, lambda_context())
    assert answer["statusCode"] < 500, answer
    return answer


def post_json(form_id, values, **headers):
    return send(
        form_id, body=json.dumps(values).encode(), headers={"Content-Type": "application/json", **headers}
    )


def post_browser(form_id, values, origin=None, **kwargs):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": BROWSER}
    if origin:
        headers["Origin"] = origin
    return send(form_id, body=urlencode(values).encode(), headers=headers, **kwargs)


def body(answer):
    return json.loads(answer["body"])


def taken(answer):
    """The submission id of a taken submission's JSON answer: 201, and nothing else said."""
    assert answer["statusCode"] == 201, answer
    assert set(body(answer)) == {"submission_id"}, answer
    return body(answer)["submission_id"]


def lead_of(email):
    from crm.service import items

    (summary,) = items.find_by_contact("acme", email, None)
    return items.get_item("acme", "lead", summary.id)


def journaled(lead):
    """The ids of the events that reached the lead, newest first."""
    from crm.service import triggers

    entries, _ = triggers.item_journal("acme", "lead", lead.id, 10, None)
    return [entry["event"]["event_id"] for entry in entries]


def leads():
    from crm.service import items

    found, _, _ = items.list_items("acme", "lead", "leads", None, 100, None)
    return found


def submissions(form):
    from crm.service import forms

    return forms.submissions("acme", form.id, 100, None)[0]


def tenant_journal():
    from crm.service import triggers

    return triggers.tenant_journal("acme", "webform", None, 100, None)[0]


NEW = {"name": "Jane Roe", "email": "Jane@Example.org", "phone": "+44 7700 900777", "company": "Roe Ltd"}


# ---------------------------------------------------------------- what a submission does


def test_a_new_contacts_submission_creates_a_lead_that_the_form_trigger_qualifies(crm):
    from crm.service import items, triggers

    form = crm["form"]
    submission_id = taken(post_json(form.id, NEW))
    lead = lead_of("jane@example.org")
    assert (lead.title, lead.emails, lead.phones, lead.company) == (
        "Jane Roe",
        ["jane@example.org"],
        ["+447700900777"],
        "Roe Ltd",
    )
    assert (lead.pipeline_id, lead.stage_id, lead.responsible_id) == ("leads", "qualified", "anna")
    timeline, _ = items.timeline("acme", "lead", lead.id, 10, None)
    (move,) = [e for e in timeline if e.kind == "stage_changed"]
    assert move.by == "anna" and move.data["trigger"]["id"] == crm["trigger"].id
    assert move.data["event"]["source"] == "webform" and move.data["event"]["id"] == submission_id
    (entry,), _ = triggers.item_journal("acme", "lead", lead.id, 10, None)
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(crm["trigger"].id, "moved")]
    assert entry["event"]["data"] == {"form_id": form.id} and entry["event"]["event_id"] == submission_id
    (sent,) = submissions(form)
    assert sent["values"]["email"] == "jane@example.org" and sent["event_id"] == submission_id


def test_a_known_contacts_submission_moves_their_open_lead_and_creates_none(crm):
    from crm.service import items

    submission_id = taken(post_json(crm["form"].id, {"name": "Maria again", "email": "MARIA@client.example"}))
    known = items.get_item("acme", "lead", crm["known"].id)
    assert known.stage_id == "qualified" and journaled(known) == [submission_id]
    assert len(leads()) == 1


def test_a_callback_forms_submission_fires_the_callback_trigger_not_the_form_one(crm):
    from crm.domain.rules import RuleKind
    from crm.service import forms, items, rules

    phone = {"name": "phone", "label": "Phone", "type": "phone", "required": True, "maps_to": "phones"}
    fields = [FIELDS[0], phone]
    callback = forms.create_form("acme", form_settings(name="Call me back", kind="callback", fields=fields))
    rule = {"type_code": "callback_form_filled", "stage_id": "qualified", "name": "Wants a call"}
    rule["params"] = {"form_ids": [callback.id]}
    trigger = rules.create_rule("acme", "lead", "leads", RuleKind.TRIGGER, rule)
    submission_id = taken(post_json(callback.id, {"name": "Ann Call", "phone": "+44 7700 900123"}))
    (found,) = items.find_by_contact("acme", None, "+447700900123")
    lead = items.get_item("acme", "lead", found.id)
    assert lead.stage_id == "qualified" and lead.title == "Ann Call" and journaled(lead) == [submission_id]
    timeline, _ = items.timeline("acme", "lead", lead.id, 10, None)
    (move,) = [e for e in timeline if e.kind == "stage_changed"]
    assert move.data["trigger"]["id"] == trigger.id
    assert move.data["event"]["type"] == "callback_form_filled"


def test_without_dedupe_every_submission_creates_a_lead(crm):
    from crm.service import forms, items

    form = forms.replace_form("acme", crm["form"].id, form_settings(dedupe=False))
    submission_id = taken(post_json(form.id, {"name": "Maria", "email": "maria@client.example"}))
    (created,) = [lead for lead in leads() if lead.id != crm["known"].id]
    assert created.stage_id == "qualified" and journaled(created) == [submission_id]
    assert items.get_item("acme", "lead", crm["known"].id).stage_id == "new"


def test_a_double_submit_of_the_page_is_one_submission_answered_alike(crm):
    form = crm["form"]
    values = {**NEW, "_nonce": NONCE}
    first, again = post_browser(form.id, values), post_browser(form.id, values)
    assert first["statusCode"] == again["statusCode"] == 303
    # JSON clients retrying the same post (no nonce) within the minute: one submission too
    other = {"name": "Joe", "email": "joe@example.org"}
    one, two = post_json(form.id, other), post_json(form.id, other)
    assert taken(one) == taken(two)
    assert sorted(lead.title for lead in leads()) == ["Jane Roe", "Joe", "Maria"]
    assert len(submissions(form)) == 2
    # A second page view (another nonce) is a second submission
    post_browser(form.id, {**NEW, "_nonce": "page-view-0000000002"})
    assert len(submissions(form)) == 3


def test_a_filled_honeypot_is_answered_as_accepted_and_keeps_nothing(crm):
    form = crm["form"]
    bot = {**NEW, form.honeypot: "http://spam.example"}
    browser = post_browser(form.id, bot)
    assert browser["statusCode"] == 303 and browser["headers"]["Location"] == f"{form.id}?submitted=1"
    script = post_json(form.id, bot)
    taken(script)
    assert len(leads()) == 1 and submissions(form) == []
    (entry,) = tenant_journal()  # the same bot, the same minute: one entry
    assert "honeypot" in entry["note"] and entry["outcome"] == "no_item"


@pytest.fixture
def still():
    """The application's clock stopped mid-minute (a submission's id without a nonce names its minute)."""
    from crm.domain import clock

    stopped = clock.FixedClock(datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC))
    clock.use_clock(stopped)
    yield stopped
    clock.use_clock(clock.SystemClock())


def test_every_taken_submission_is_answered_alike_whatever_it_did(crm, still):
    """The sender learns the submission's id and nothing else: not whether they were a known
    contact or a new one, not the CRM's ids or lead volume, and a bot not that it was caught."""
    from crm.service import items

    form = crm["form"]
    maria = {"name": "Maria", "email": "maria@client.example"}
    bot = {"name": "Bot", "email": "bot@example.org", form.honeypot: "http://spam.example"}
    known, new, caught = (taken(post_json(form.id, values)) for values in (maria, NEW, bot))

    # A bot's id is made as a person's is: from what was sent, from where, in which minute
    as_sent = {name: [value] for name, value in bot.items()}
    assert caught == form.event_id(form.read(as_sent), "198.51.100.4", still.now())
    # Posted from a page, a bot's id is its nonce, as a person's is; browsers are sent alike
    page_bot = post_browser(form.id, {**bot, "_nonce": "page-view-0000000003"})
    page_person = post_browser(form.id, {"name": "Ann", "email": "ann@example.org", "_nonce": NONCE})
    assert page_bot["statusCode"] == page_person["statusCode"] == 303
    assert page_bot["headers"] == page_person["headers"]
    assert taken(post_json(form.id, {**bot, "_nonce": "page-view-0000000004"})) == (
        f"{form.id}.n.page-view-0000000004"
    )

    # The tenant reads what each did: the known lead moved, a new lead, the bots only journaled
    assert journaled(items.get_item("acme", "lead", crm["known"].id)) == [known]
    assert journaled(lead_of("jane@example.org")) == [new]
    assert sorted(lead.title for lead in leads()) == ["Ann", "Jane Roe", "Maria"]
    assert {entry["event"]["event_id"] for entry in tenant_journal()} == {
        caught,
        f"{form.id}.n.page-view-0000000003",
        f"{form.id}.n.page-view-0000000004",
    }
    assert {s["event_id"] for s in submissions(form)} == {f"{form.id}.n.{NONCE}", new, known}


def test_a_filled_honeypot_with_wrong_fields_is_refused_as_a_persons_post_would_be(crm):
    form = crm["form"]
    wrong = {"name": "Bot", "email": "not-an-address"}
    person, bot = (
        post_json(form.id, wrong),
        post_json(form.id, {**wrong, form.honeypot: "http://spam.example"}),
    )
    assert person["statusCode"] == bot["statusCode"] == 400
    assert (
        body(person)["errors"]
        == body(bot)["errors"]
        == [{"field": "email", "message": body(person)["errors"][0]["message"], "type": "invalid"}]
    )
    assert len(leads()) == 1 and submissions(form) == [] and tenant_journal() == []


def test_past_the_forms_rate_limit_429_with_retry_after_and_nothing_kept(crm):
    from crm.service import forms

    form = forms.replace_form("acme", crm["form"].id, form_settings(rate_limit=2))
    first = post_json(form.id, {"name": "A", "email": "a@example.org"})
    post_json(form.id, {"name": "B", "email": "b@example.org"})
    refused = post_json(form.id, {"name": "C", "email": "c@example.org"})
    assert refused["statusCode"] == 429 and 1 <= int(refused["headers"]["Retry-After"]) <= 60
    browser = post_browser(form.id, {"name": "D", "email": "d@example.org"})
    assert browser["statusCode"] == 429 and "text/html" in browser["headers"]["Content-Type"]
    assert sorted(lead.title for lead in leads()) == ["A", "B", "Maria"]
    assert len(submissions(form)) == 2
    # A retry of a submission taken already is answered as before, not refused for the rate
    again = post_json(form.id, {"name": "A", "email": "a@example.org"})
    assert taken(again) == taken(first)


def test_past_the_limit_a_known_contacts_submission_moves_nothing_and_is_not_logged(crm):
    from crm.service import forms, items, triggers

    form = forms.replace_form("acme", crm["form"].id, form_settings(rate_limit=1))
    assert post_json(form.id, {"name": "A", "email": "a@example.org"})["statusCode"] == 201

    refused = post_json(form.id, {"name": "Maria", "email": "maria@client.example"})

    assert refused["statusCode"] == 429 and "Retry-After" in refused["headers"]
    assert items.get_item("acme", "lead", crm["known"].id).stage_id == "new"
    assert triggers.item_journal("acme", "lead", crm["known"].id, 10, None)[0] == []
    assert [s["values"]["name"] for s in submissions(form)] == ["A"]


def test_without_dedupe_a_double_submit_is_one_lead_and_one_logged_submission(crm):
    from crm.service import forms

    form = forms.replace_form("acme", crm["form"].id, form_settings(dedupe=False))
    values = {**NEW, "_nonce": NONCE}
    first, again = post_browser(form.id, values), post_browser(form.id, values)
    assert first["statusCode"] == again["statusCode"] == 303
    assert sorted(lead.title for lead in leads()) == ["Jane Roe", "Maria"]
    assert len(submissions(form)) == 1


# ---------------------------------------------------------------- browsers and origins


def test_a_browser_post_lands_on_the_thank_you_url(crm):
    from crm.service import forms

    thanks = "https://www.acme.example/thanks"
    form = forms.replace_form("acme", crm["form"].id, form_settings(thank_you_url=thanks))
    answer = post_browser(form.id, {**NEW, "_nonce": NONCE}, origin=SITE)
    assert answer["statusCode"] == 303 and answer["headers"]["Location"] == thanks


def test_cors_preflight_and_posts_only_for_the_forms_origins(crm):
    form = crm["form"]
    preflight = {"Origin": SITE, "Access-Control-Request-Method": "POST"}
    allowed = send(form.id, "OPTIONS", headers=preflight)
    assert allowed["statusCode"] == 204
    assert allowed["headers"]["Access-Control-Allow-Origin"] == SITE
    assert "POST" in allowed["headers"]["Access-Control-Allow-Methods"]
    foreign = send(form.id, "OPTIONS", headers={**preflight, "Origin": "https://evil.example"})
    assert foreign["statusCode"] == 403 and "Access-Control-Allow-Origin" not in foreign["headers"]
    # A cross-origin post from an origin the form does not allow is refused, nothing kept
    refused = post_json(form.id, NEW, Origin="https://evil.example")
    assert refused["statusCode"] == 403 and len(leads()) == 1 and submissions(form) == []
    # From an allowed origin, a script reads the answer; the hosted page posts to its own origin
    accepted = post_json(form.id, NEW, Origin=SITE)
    assert accepted["statusCode"] == 201 and accepted["headers"]["Access-Control-Allow-Origin"] == SITE
    own = post_browser(form.id, {"name": "Own", "email": "own@example.org"}, origin=f"https://{HOST}")
    assert own["statusCode"] == 303


def test_the_hosted_page_carries_the_fields_a_fresh_nonce_and_the_hidden_honeypot(crm):
    form = crm["form"]
    page, again = send(form.id, "GET"), send(form.id, "GET")
    assert page["statusCode"] == 200 and page["headers"]["Content-Type"].startswith("text/html")
    assert page["headers"]["Cache-Control"] == "no-store"
    html = page["body"]
    for field in ("name", "email", "phone", "company", form.honeypot):
        assert f'name="{field}"' in html
    assert 'aria-hidden="true"' in html and 'tabindex="-1"' in html
    assert html != again["body"]  # another page view, another nonce
    thanks = send(form.id, "GET", query={"submitted": "1"})
    assert thanks["statusCode"] == 200 and "Thank you" in thanks["body"]


# ---------------------------------------------------------------- bad input


def test_a_missing_or_invalid_field_is_a_400_naming_it_and_nothing_is_kept(crm):
    form = crm["form"]
    missing = post_json(form.id, {"email": "x@example.org"})
    assert missing["statusCode"] == 400
    assert [e["field"] for e in body(missing)["errors"]] == ["name"]
    bad = post_json(form.id, {"name": "X", "email": "not-an-address", "phone": "12"})
    assert bad["statusCode"] == 400
    assert sorted(e["field"] for e in body(bad)["errors"]) == ["email", "phone"]
    # A browser gets the page again, filled in, saying what to correct
    page = post_browser(form.id, {"name": "<b>X</b>", "email": "not-an-address", "_nonce": NONCE})
    assert page["statusCode"] == 400 and page["headers"]["Content-Type"].startswith("text/html")
    assert "is not an email address" in page["body"] and "&lt;b&gt;X&lt;/b&gt;" in page["body"]
    assert f'value="{NONCE}"' in page["body"]
    assert len(leads()) == 1 and submissions(form) == [] and tenant_journal() == []


def test_unknown_forms_oversize_and_unreadable_bodies_are_refused_without_a_5xx(crm):
    form = crm["form"]
    assert send("f_acme_000000000000", "GET")["statusCode"] == 404
    assert post_json("f_acme_000000000000", NEW)["statusCode"] == 404
    assert post_json("not-a-form", NEW)["statusCode"] == 404
    assert post_json(f"f_globex_{form.id[-12:]}", NEW)["statusCode"] == 404  # another tenant's name
    huge = send(
        form.id, body=b"name=" + b"x" * 300_000, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert huge["statusCode"] == 413
    text = send(form.id, body=b"name=x", headers={"Content-Type": "text/plain"})
    assert text["statusCode"] == 415
    broken = send(form.id, body=b"{not json", headers={"Content-Type": "application/json"})
    assert broken["statusCode"] == 400
    nested = post_json(form.id, {"name": {"first": "X"}, "email": "x@example.org"})
    assert nested["statusCode"] == 400
    multipart = send(
        form.id,
        body=b"--b\r\nContent-Disposition: form-data\r\n\r\nx",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert multipart["statusCode"] == 400
    assert send(form.id, "PUT")["statusCode"] == 405
    assert len(leads()) == 1 and submissions(form) == []


def test_a_multipart_post_built_by_a_real_encoder_is_a_submission(crm):
    from urllib3 import encode_multipart_formdata

    form = crm["form"]
    data, content_type = encode_multipart_formdata(
        {**NEW, "name": "Jörg Müller", "_nonce": NONCE, "attachment": ("cv.txt", b"hello", "text/plain")}
    )
    answer = send(form.id, body=data, headers={"Content-Type": content_type, "Accept": BROWSER})
    assert answer["statusCode"] == 303
    assert "Jörg Müller" in [lead.title for lead in leads()]


# ---------------------------------------------------------------- cost


def test_dynamodb_calls_per_submission(crm, dynamodb):
    form = crm["form"]
    post_json(form.id, {"name": "warm", "email": "warm@example.org"})  # the form and pipeline cached

    def calls(values):
        dynamodb.calls.clear()
        answer = post_json(form.id, values)
        assert answer["statusCode"] == 201, answer
        return [operation for operation, _ in dynamodb.calls]

    # A known contact's: the engine's by-contact calls, the submission's log and rate count
    # written in the engine's one transaction
    maria = {"name": "Maria", "email": "maria@client.example"}
    assert calls(maria) == ["Query", "BatchGetItem", "TransactWriteItems"]
    assert len(submissions(form)) == 2
    # A duplicate: the refused transaction, then the first answer read
    assert calls(maria) == ["Query", "BatchGetItem", "TransactWriteItems", "Query"]
    # A new contact's: the item's id, the item with the submission's records, then the decision
    # (the form's responsible, kept by the warm container, is checked in the item's transaction)
    assert calls({"name": "Newcomer", "email": "new@example.org"}) == [
        "Query",
        "UpdateItem",
        "TransactWriteItems",
        "TransactWriteItems",
    ]
    # A bot's: its count and the tenant's journal entry, one transaction
    assert calls({**NEW, form.honeypot: "http://spam.example"}) == ["TransactWriteItems"]
    assert len(submissions(form)) == 3
