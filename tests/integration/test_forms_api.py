"""Forms as tenant configuration through the management API: create, list, read, replace, delete (not
while triggers name the form), the public URL (built as every public URL of the API is), the
embeddable snippet, and what was sent through a form."""

from __future__ import annotations

import json

import pytest

from tests.gateway import proxy_event
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call
from tests.integration.test_webforms import FIELDS, send

LEAD_STAGES = [{"name": "New"}, {"name": "Qualified"}, {"name": "Converted", "semantic": "success"}]


def settings(**changes):
    return {"name": "Contact us", "fields": FIELDS, "pipeline_id": "leads", **changes}


@pytest.fixture
def leads(api):
    pipeline = {"id": "leads", "item_type": "lead", "name": "Leads", "stages": LEAD_STAGES}
    assert call(api, "POST", "/pipelines", pipeline).status == 201
    return api


def test_a_form_is_created_read_listed_replaced_and_deleted(leads):
    created = call(leads, "POST", "/automation/forms", settings())
    assert created.status == 201, created.body
    form = created.body
    assert form["id"].startswith("f_acme_") and len(form["id"]) == len("f_acme_") + 12
    assert form["url"] == f"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/forms/{form['id']}"
    assert (form["kind"], form["item_type"], form["dedupe"], form["rate_limit"]) == ("form", "lead", True, 20)
    assert call(leads, "GET", f"/automation/forms/{form['id']}").body == form
    assert call(leads, "GET", "/automation/forms").body == [form]
    replaced = call(
        leads, "PUT", f"/automation/forms/{form['id']}", settings(name="Call me back", kind="callback")
    )
    assert replaced.status == 200, replaced.body
    assert (replaced.body["name"], replaced.body["version"], replaced.body["id"]) == (
        "Call me back",
        2,
        form["id"],
    )
    assert call(leads, "DELETE", f"/automation/forms/{form['id']}").status == 204
    assert call(leads, "GET", f"/automation/forms/{form['id']}").status == 404
    assert send(form["id"], "GET")["statusCode"] == 404  # the public page is gone with it


def test_another_tenant_sees_none_of_the_forms(leads):
    form = call(leads, "POST", "/automation/forms", settings()).body
    assert leads.call("GET", "/automation/forms", key=leads.other_key).body == []
    assert leads.call("GET", f"/automation/forms/{form['id']}", key=leads.other_key).status == 404
    assert leads.call("DELETE", f"/automation/forms/{form['id']}", key=leads.other_key).status == 404
    assert call(leads, "GET", "/automation/forms/f_acme_000000000000").status == 404


@pytest.mark.parametrize(
    "changes, status",
    [
        ({"pipeline_id": "nowhere"}, 422),
        ({"item_type": "deal"}, 422),  # leads is a lead pipeline
        ({"fields": [{**FIELDS[1], "maps_to": "amount"}]}, 422),
        ({"fields": [{**FIELDS[0], "maps_to": "fields.budget"}]}, 422),  # no such custom field
        ({"responsible_id": "nobody"}, 422),
        ({"allowed_origins": ["not an origin"]}, 422),
        ({"rate_limit": 10_000}, 422),
        ({"kind": "survey"}, 422),
        ({"fields": []}, 422),
        ({"thank_you_url": "https://www.acme.example/thanks\r\nSet-Cookie: session=x"}, 422),
        ({"thank_you_url": "https://www.acme.example/thanks\n"}, 422),
    ],
)
def test_a_form_that_could_not_work_is_refused_and_nothing_stored(leads, changes, status):
    answer = call(leads, "POST", "/automation/forms", settings(**changes))
    assert answer.status == status, answer.body
    assert call(leads, "GET", "/automation/forms").body == []


def test_a_thank_you_url_is_kept_as_checked_and_one_that_could_break_a_header_changes_nothing(leads):
    form = call(
        leads, "POST", "/automation/forms", settings(thank_you_url="HTTPS://WWW.Acme.example/danke")
    ).body
    assert form["thank_you_url"] == "https://www.acme.example/danke"
    crlf = settings(thank_you_url="https://www.acme.example/thanks\r\nLocation: https://evil.example")
    refused = call(leads, "PUT", f"/automation/forms/{form['id']}", crlf)
    assert refused.status == 422 and "line breaks" in refused.body["message"]
    assert call(leads, "GET", f"/automation/forms/{form['id']}").body == form


def test_the_forms_url_has_the_base_every_public_url_of_the_api_has(leads):
    """The domain API Gateway reports and the stage in front of the route, https unless API Gateway
    says otherwise: the same for a form's page as for a hook's URL."""
    form = call(leads, "POST", "/automation/forms", settings()).body
    hook = call(leads, "POST", "/automation/hooks", {"name": "ERP"}).body
    base = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
    assert form["url"] == f"{base}/forms/{form['id']}" and hook["url"].startswith(f"{base}/hooks/")
    # On a custom domain: the domain the caller used, no stage in the path
    custom = {
        "Authorization": f"Bearer {leads.key}",
        "Host": "crm.acme.example",
        "X-Forwarded-Proto": "https",
    }
    event = proxy_event("GET", f"/automation/forms/{form['id']}/snippet", None, custom)
    event["requestContext"].update(domainName="crm.acme.example", path=event["path"])
    snippet = leads.answer(leads.send(event)).body
    assert snippet["url"] == f"https://crm.acme.example/forms/{form['id']}"
    # The local runtime serves plain HTTP and says so, as API Gateway says https
    here = {**custom, "Host": "127.0.0.1:3000", "X-Forwarded-Proto": "http"}
    local = proxy_event("GET", f"/automation/forms/{form['id']}", None, here)
    local["requestContext"].update(domainName="127.0.0.1:3000", path=local["path"])
    assert leads.answer(leads.send(local)).body["url"] == f"http://127.0.0.1:3000/forms/{form['id']}"


def test_a_required_custom_field_of_the_type_needs_a_required_form_field(leads):
    source = {"code": "source", "name": "Source", "type": "string", "required": True}
    assert call(leads, "PATCH", "/types/lead", {"fields": [source]}).status == 200
    refused = call(leads, "POST", "/automation/forms", settings())
    assert refused.status == 422 and "source" in refused.body["message"]
    asked = {"name": "source", "label": "How did you find us?", "required": True, "maps_to": "fields.source"}
    assert call(leads, "POST", "/automation/forms", settings(fields=[*FIELDS, asked])).status == 201


def test_a_form_named_by_a_trigger_is_not_deleted(leads):
    form = call(leads, "POST", "/automation/forms", settings()).body
    rule = {"type_code": "form_filled", "stage_id": "qualified", "params": {"form_ids": [form["id"]]}}
    trigger = call(leads, "POST", "/automation/lead/leads/triggers", rule)
    assert trigger.status == 201, trigger.body
    refused = call(leads, "DELETE", f"/automation/forms/{form['id']}")
    assert refused.status == 409 and "triggers" in refused.body["message"]
    assert call(leads, "GET", f"/automation/forms/{form['id']}").status == 200


def test_the_snippet_posts_to_the_public_url_and_submissions_are_listed(leads):
    form = call(leads, "POST", "/automation/forms", settings()).body
    embed = call(leads, "GET", f"/automation/forms/{form['id']}/snippet")
    assert embed.status == 200 and embed.body["url"] == form["url"]
    assert f'action="{form["url"]}"' in embed.body["html"] and 'name="website_url"' in embed.body["html"]
    values = {"name": "Jane", "email": "jane@example.org"}
    posted = send(form["id"], body=json.dumps(values).encode(), headers={"Content-Type": "application/json"})
    assert posted["statusCode"] == 201
    page = call(leads, "GET", f"/automation/forms/{form['id']}/submissions").body
    (entry,) = page["entries"]
    assert entry["values"] == {"name": "Jane", "email": "jane@example.org"}
    assert entry["event_id"] == json.loads(posted["body"])["submission_id"]
