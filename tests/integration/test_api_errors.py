"""The management API's answers to bad input (issue 7): never a 5xx, one error shape with a message a
person can act on, the status that says what to do (400 malformed, 405 wrong method, 413 too large,
415 not JSON, 422 invalid, 409 only for real conflicts), and nothing changed by what is refused."""

from __future__ import annotations

import base64
import itertools
import json

import boto3
import pytest

from tests.conftest import REGION
from tests.gateway import Gateway, proxy_event

STAGES = [{"name": "New"}, {"name": "Work"}, {"name": "Won", "semantic": "success"}]


@pytest.fixture
def api(aws):
    from crm.service.tenants import create_tenant

    gateway = Gateway()
    gateway.key = create_tenant("Acme", "acme").api_key
    call(gateway, "POST", "/employees", {"id": "anna", "name": "Anna", "email": "anna@acme.test"})
    call(
        gateway, "POST", "/pipelines", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    return gateway


def call(api, method, path, body=None):
    return api.call(method, path, body, api.key)


def send(api, method, path, raw: bytes, content_type="application/json", base64_body=False):
    """A request with exactly these body bytes (base64 in the event when ``base64_body``)."""
    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": content_type}
    event = proxy_event(method, path, headers=headers, raw=raw)
    if base64_body and not event["isBase64Encoded"]:
        event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    return api.answer(api.send(event))


def assert_error(answer, status, *words):
    """The one error shape: a message (naming ``words``) and the request id to quote."""
    assert answer.status == status, answer.body
    assert isinstance(answer.body["message"], str) and answer.body["message"]
    assert answer.body["request_id"]
    for word in words:
        assert word in answer.body["message"], answer.body
    return answer.body


def items(api):
    return call(api, "GET", "/items/deal").body["items"]


# ---------------------------------------------------------------- nulls and stored records


@pytest.mark.parametrize("field", ["active", "email", "name", "time_zone"])
def test_null_for_an_employee_field_without_an_empty_value_is_refused(api, field):
    body = assert_error(call(api, "PATCH", "/employees/anna", {field: None}), 422, f"body.{field}")
    assert body["errors"][0]["field"] == f"body.{field}"
    listed = call(api, "GET", "/employees")
    assert listed.status == 200 and listed.body[0]["active"] is True


@pytest.mark.parametrize("field", ["title", "emails", "phones", "fields"])
def test_null_for_an_item_field_without_an_empty_value_is_refused(api, field):
    deal = call(api, "POST", "/items/deal", {"title": "Forklift", "emails": ["a@client.test"]}).body
    assert_error(call(api, "PATCH", f"/items/deal/{deal['id']}", {field: None}), 422, f"body.{field}")
    assert call(api, "GET", f"/items/deal/{deal['id']}").body == deal


def test_nullable_item_fields_can_be_cleared(api):
    deal = call(api, "POST", "/items/deal", {"title": "Forklift", "company": "Client", "amount": 5}).body
    cleared = call(api, "PATCH", f"/items/deal/{deal['id']}", {"company": None, "amount": None})
    assert cleared.status == 200 and cleared.body["company"] is None and cleared.body["amount"] is None


def test_a_stored_record_that_does_not_parse_never_takes_a_list_down(api):
    from crm.adapters.tables import EmployeeRecord, ItemRecord

    # As the old bug stored them: an employee with a null, an item without a title.
    EmployeeRecord(
        pk="acme#EMPLOYEES",
        sk="broken",
        employee={"id": "broken", "name": "B", "email": "b@acme.test", "time_zone": "UTC", "active": None},
    ).save()
    deal = call(api, "POST", "/items/deal", {"title": "Forklift"}).body
    call(api, "POST", "/items/deal", {"title": "Crane"})
    raw = ItemRecord.get(f"acme#ITEM#deal#{deal['id']}", "ITEM").serialize()
    del raw["title"]
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=ItemRecord.Meta.table_name, Item=raw)
    employees = call(api, "GET", "/employees")
    assert employees.status == 200 and [e["id"] for e in employees.body] == ["anna"]
    listed = call(api, "GET", "/items/deal")
    assert listed.status == 200 and [i["title"] for i in listed.body["items"]] == ["Crane"]


# ---------------------------------------------------------------- caps


def test_contacts_per_item_are_capped_so_the_contact_index_fits_one_transaction(api):
    emails = [f"buyer{n}@client.test" for n in range(21)]
    body = assert_error(
        call(api, "POST", "/items/deal", {"title": "x", "emails": emails}), 422, "body.emails"
    )
    assert "20" in body["message"]
    phones = [f"+4930123456{n:02d}" for n in range(100)]
    assert_error(call(api, "POST", "/items/deal", {"title": "x", "phones": phones}), 422, "body.phones")
    deal = call(api, "POST", "/items/deal", {"title": "x", "emails": emails[:20]})
    assert deal.status == 201 and len(deal.body["emails"]) == 20
    patch = call(api, "PATCH", f"/items/deal/{deal.body['id']}", {"emails": emails})
    assert_error(patch, 422, "body.emails")
    assert items(api)[0]["emails"] == emails[:20]


def test_texts_are_capped_and_a_huge_body_is_refused_before_parsing(api):
    assert_error(call(api, "POST", "/items/deal", {"title": "x", "company": "c" * 2001}), 422, "body.company")
    huge = json.dumps({"title": "x", "company": "c" * 400_000}).encode()
    assert_error(send(api, "POST", "/items/deal", huge), 413, "bytes")
    assert items(api) == []


def test_custom_field_values_are_capped(api):
    call(
        api,
        "POST",
        "/types",
        {"code": "repair", "name": "Repair", "fields": [{"code": "notes", "name": "N", "type": "string"}]},
    )
    call(api, "POST", "/pipelines", {"item_type": "repair", "name": "Repairs", "stages": [{"name": "In"}]})
    too_long = {"title": "x", "fields": {"notes": "n" * 2001}}
    assert_error(call(api, "POST", "/items/repair", too_long), 422, "body.fields")
    too_many = {"title": "x", "fields": {f"f{n}": 1 for n in range(51)}}
    assert_error(call(api, "POST", "/items/repair", too_many), 422, "body.fields")


@pytest.mark.parametrize("raw", [b'{"title": "x", "amount": 1e300}', b'{"title": "x", "amount": 1e400}'])
def test_an_amount_out_of_range_is_invalid_not_a_conflict(api, raw):
    assert_error(send(api, "POST", "/items/deal", raw), 422, "amount")
    assert items(api) == []


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
def test_a_non_finite_amount_is_invalid_not_a_conflict(api, literal):
    raw = f'{{"title": "x", "amount": {literal}}}'.encode()
    body = assert_error(send(api, "POST", "/items/deal", raw), 422, "body.amount", "finite")
    assert body["errors"] == [
        {"field": "body.amount", "message": "numbers must be finite", "type": "finite_number"}
    ]
    deal = call(api, "POST", "/items/deal", {"title": "x"}).body
    assert_error(send(api, "PATCH", f"/items/deal/{deal['id']}", raw), 422, "finite")
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["amount"] is None


# ---------------------------------------------------------------- malformed requests


def test_an_integer_of_thousands_of_digits_is_a_bad_request(api):
    raw = b'{"title": "x", "amount": ' + b"9" * 4301 + b"}"
    assert_error(send(api, "POST", "/items/deal", raw), 400, "digits")
    assert items(api) == []


def test_json_nested_a_hundred_thousand_deep_is_a_bad_request(api):
    raw = b'{"title": "x", "fields": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_error(send(api, "POST", "/items/deal", raw), 400, "nested")
    shallow_but_deep_enough = b'{"title": "x", "fields": {"a": ' + b"[" * 40 + b"]" * 40 + b"}}"
    assert_error(send(api, "POST", "/items/deal", shallow_but_deep_enough), 400, "nested")


@pytest.mark.parametrize("base64_body", [True, False])
def test_a_body_that_is_not_utf8_is_a_bad_request(api, base64_body):
    raw = '{"title": "Müller"}'.encode("latin-1")
    assert_error(send(api, "POST", "/items/deal", raw, base64_body=base64_body), 400, "UTF-8")
    assert items(api) == []


def test_an_unpaired_surrogate_in_json_text_is_invalid(api):
    assert_error(send(api, "POST", "/items/deal", b'{"title": "\\ud800"}'), 422, "body.title", "Unicode")


def test_malformed_json_is_a_bad_request(api):
    assert_error(send(api, "POST", "/items/deal", b'{"title": '), 400, "not JSON")


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
    ],
)
def test_a_body_that_is_not_json_is_an_unsupported_media_type(api, content_type):
    answer = send(api, "POST", "/items/deal", b"title=x", content_type=content_type)
    assert_error(answer, 415, "application/json")
    assert items(api) == []


def test_an_unsupported_method_on_a_known_path_is_405_with_allow(api):
    answer = call(api, "PUT", "/employees")
    assert_error(answer, 405, "PUT", "GET, POST")
    assert answer.headers["Allow"] == "GET, POST"
    assert call(api, "DELETE", "/items/deal").headers["Allow"] == "GET, POST"
    assert_error(call(api, "GET", "/nothing/here"), 404, "/nothing/here")


def test_every_path_allows_exactly_the_methods_the_document_declares_for_it(api):
    # A path that two route templates serve (say PUT .../triggers/{rule_id} beside GET .../{kind}/
    # {rule_id}) would answer an Allow the document does not declare for either template.
    spec = api.call("GET", "/openapi.json").body
    for template, operations in spec["paths"].items():
        declared = ", ".join(sorted(method.upper() for method in operations))
        parameters = next(iter(operations.values())).get("parameters", [])
        values = {p["name"]: p["schema"].get("enum", ["x"]) for p in parameters if p["in"] == "path"}
        names = list(values)
        for chosen in itertools.product(*values.values()):
            path = template.format(**dict(zip(names, chosen, strict=True)))
            answer = call(api, "OPTIONS", path)
            assert (answer.status, answer.headers.get("Allow")) == (405, declared), path


def test_validation_errors_have_the_one_shape_with_a_message(api):
    body = assert_error(call(api, "POST", "/items/deal", {"title": "", "extra": 1}), 422, "body.")
    assert {e["field"] for e in body["errors"]} == {"body.title", "body.extra"}
    assert all(set(e) == {"field", "message", "type"} for e in body["errors"])
    assert "(and 1 more)" in body["message"]
    assert_error(call(api, "GET", "/items/deal?limit=0"), 422, "query.limit")


def test_204_answers_have_no_body(api):
    deal = call(api, "POST", "/items/deal", {"title": "x"}).body
    event = proxy_event("DELETE", f"/items/deal/{deal['id']}", headers={"Authorization": f"Bearer {api.key}"})
    answer = api.send(event)
    assert answer["statusCode"] == 204 and answer["body"] is None
    headers = {**answer.get("headers", {}), **answer.get("multiValueHeaders", {})}
    assert "Content-Type" not in headers


def test_an_unexpected_error_answers_500_with_the_request_id_and_logs_the_stack(api, monkeypatch, caplog):
    from crm.service import configuration

    def broken(tenant_id):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(configuration, "employees", broken)
    event = proxy_event("GET", "/employees", headers={"Authorization": f"Bearer {api.key}"})
    answer = api.answer(api.send(event))
    assert answer.status == 500
    assert answer.body == {"message": "internal error", "request_id": event["requestContext"]["requestId"]}
    (logged,) = [r for r in caplog.records if r.message == "unexpected error"]
    assert "secret detail of the failure" in str(logged.exc_info[1]) and logged.exc_text
    assert logged.request_id == event["requestContext"]["requestId"]


# ---------------------------------------------------------------- cursors


def test_a_forged_cursor_is_refused_never_a_server_error(api):
    for n in range(3):
        call(api, "POST", "/items/deal", {"title": f"Deal {n}"})
    page = call(api, "GET", "/items/deal?limit=1").body
    key = json.loads(base64.urlsafe_b64decode(page["cursor"]))
    forged = [
        {"pk": {"S": "acme#ITEM"}},  # passes a tenant-prefix check, is no key of this list
        {**key, "pipeline_key": {"S": "acme#deal#other"}},
        {**key, "pk": {"S": "globex#ITEM#deal#1"}},
        {**key, "stage_key": {"N": "1"}},
        {**key, "extra": {"S": "x"}},
        [1, 2],
    ]
    for cursor in [*forged, "garbage", "e30"]:
        text = (
            cursor
            if isinstance(cursor, str)
            else base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode()
        )
        assert_error(call(api, "GET", f"/items/deal?cursor={text}"), 422, "cursor")
    # A cursor of another list (a timeline's) is not one of this list.
    for n in range(3):
        call(api, "POST", "/items/deal/1/comments", {"text": f"c{n}"})
    timeline_cursor = call(api, "GET", "/items/deal/1/timeline?limit=1").body["cursor"]
    assert_error(call(api, "GET", f"/items/deal?cursor={timeline_cursor}"), 422, "cursor")
    assert_error(call(api, "GET", f"/items/deal/2/timeline?cursor={timeline_cursor}"), 422, "cursor")
    following = call(api, "GET", f"/items/deal?limit=1&cursor={page['cursor']}")
    assert following.status == 200 and len(following.body["items"]) == 1


# ---------------------------------------------------------------- 409 only for real conflicts


def test_duplicate_stage_ids_in_a_body_are_invalid_not_a_conflict(api):
    stages = [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]
    answer = call(api, "POST", "/pipelines", {"item_type": "lead", "name": "Leads", "stages": stages})
    assert_error(answer, 422, "twice")
    assert call(api, "GET", "/pipelines?item_type=lead").body == []


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/items/deal", {"title": "x", "responsible_id": "ghost"}, "responsible_id"),
        ("POST", "/items/deal", {"title": "x", "by": "ghost"}, "by"),
        ("POST", "/items/deal", {"title": "x", "pipeline_id": "ghost"}, "pipeline_id"),
        (
            "POST",
            "/employees",
            {"name": "X", "email": "x@acme.test", "supervisor_id": "ghost"},
            "supervisor_id",
        ),
        ("POST", "/pipelines", {"item_type": "ghost", "name": "G", "stages": [{"name": "A"}]}, "item_type"),
    ],
)
def test_an_unknown_employee_or_pipeline_named_in_a_body_is_invalid_not_not_found(
    api, method, path, body, field
):
    assert_error(call(api, method, path, body), 422, field, "ghost")


# ---------------------------------------------------------------- listing without a pipeline


def test_listing_items_without_a_pipeline_lists_the_default_and_says_so(api):
    call(api, "POST", "/pipelines", {"id": "wholesale", "item_type": "deal", "name": "W", "stages": STAGES})
    call(api, "POST", "/items/deal", {"title": "Retail"})
    call(api, "POST", "/items/deal", {"title": "Bulk", "pipeline_id": "wholesale"})
    page = call(api, "GET", "/items/deal").body
    assert page["pipeline_id"] == "sales" and [i["title"] for i in page["items"]] == ["Retail"]
    other = call(api, "GET", "/items/deal?pipeline_id=wholesale").body
    assert other["pipeline_id"] == "wholesale" and [i["title"] for i in other["items"]] == ["Bulk"]


def test_a_type_without_a_pipeline_has_an_empty_list_not_an_error(api):
    answer = call(api, "GET", "/items/lead")
    assert answer.status == 200 and answer.body == {"items": [], "pipeline_id": None, "cursor": None}


# ---------------------------------------------------------------- employees, pipelines, stages


def test_supervisor_cycles_are_refused(api):
    call(api, "POST", "/employees", {"id": "boss", "name": "Boss", "email": "boss@acme.test"})
    call(
        api,
        "POST",
        "/employees",
        {"id": "mid", "name": "Mid", "email": "m@acme.test", "supervisor_id": "boss"},
    )
    call(api, "PATCH", "/employees/anna", {"supervisor_id": "mid"})
    assert_error(call(api, "PATCH", "/employees/boss", {"supervisor_id": "anna"}), 422, "cycle")
    assert_error(call(api, "PATCH", "/employees/boss", {"supervisor_id": "boss"}), 422, "cycle")
    assert call(api, "GET", "/employees/boss").body["supervisor_id"] is None


def test_an_inactive_employee_cannot_be_made_responsible_or_act(api):
    deal = call(api, "POST", "/items/deal", {"title": "x", "responsible_id": "anna"}).body
    assert call(api, "PATCH", "/employees/anna", {"active": False}).body["active"] is False
    path = f"/items/deal/{deal['id']}"
    for method, suffix, body in [
        ("POST", "", {"title": "y", "responsible_id": "anna"}),
        ("PATCH", "", {"title": "y", "by": "anna"}),
        ("POST", "/stage", {"stage_id": "work", "by": "anna"}),
        ("POST", "/comments", {"text": "hi", "by": "anna"}),
    ]:
        target = "/items/deal" if method == "POST" and suffix == "" else path + suffix
        assert_error(call(api, method, target, body), 422, "inactive")
    # Items keep the inactive employee they had.
    assert call(api, "GET", path).body == deal


def test_a_pipeline_needs_an_in_progress_stage(api):
    finals = [{"name": "Won", "semantic": "success"}, {"name": "Lost", "semantic": "failure"}]
    assert_error(
        call(api, "POST", "/pipelines", {"item_type": "lead", "name": "L", "stages": finals}),
        422,
        "in-progress",
    )
    call(
        api,
        "POST",
        "/pipelines",
        {"id": "leads", "item_type": "lead", "name": "L", "stages": [{"name": "New"}, *finals]},
    )
    assert_error(call(api, "DELETE", "/pipelines/leads/stages/new"), 422, "in-progress")


def test_creating_an_item_in_a_final_stage_needs_saying_so(api):
    assert_error(call(api, "POST", "/items/deal", {"title": "x", "stage_id": "won"}), 422, "allow_final")
    created = call(api, "POST", "/items/deal", {"title": "x", "stage_id": "won", "allow_final": True})
    assert created.status == 201 and created.body["stage_id"] == "won"


def test_pipelines_and_stages_get_ids_by_one_convention(api):
    stages = [
        {"name": "Awaiting payment"},
        {"name": "Awaiting  payment!"},
        {"name": "Won", "semantic": "success"},
    ]
    first = call(
        api, "POST", "/pipelines", {"item_type": "lead", "name": "Retail sales", "stages": stages}
    ).body
    assert first["id"] == "retail_sales"
    assert [s["id"] for s in first["stages"]] == ["awaiting_payment", "awaiting_payment_2", "won"]
    second = call(
        api, "POST", "/pipelines", {"item_type": "lead", "name": "Retail  Sales", "stages": stages}
    ).body
    assert second["id"] == "retail_sales_2"
    added = call(api, "POST", "/pipelines/retail_sales/stages", {"name": "Awaiting payment"}).body
    assert "awaiting_payment_3" in [s["id"] for s in added["stages"]]


# ---------------------------------------------------------------- the OpenAPI document


def test_the_document_declares_the_bearer_key_and_the_real_error_answers(api):
    import jsonschema

    spec = api.call("GET", "/openapi.json").body
    assert spec["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
        }
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    operations = {(m.upper(), p): op for p, item in spec["paths"].items() for m, op in item.items()}
    for (method, path), operation in operations.items():
        codes = set(operation["responses"])
        assert {"401", "403", "500"} <= codes, (method, path)
        for code, response in operation["responses"].items():
            if code >= "400":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= codes, (method, path)
    assert set(operations["POST", "/items/{item_type}"]["responses"]) >= {"201", "409"}
    assert "content" not in operations["DELETE", "/items/{item_type}/{item_id}"]["responses"]["204"]
    links = operations["POST", "/items/{item_type}"]["responses"]["201"]["links"]
    assert {link["parameters"]["item_id"] for link in links.values()} == {"$response.body#/id"}
    # The real 422 body matches the declared schema.
    refs = {"components": spec["components"], "$ref": "#/components/schemas/Error"}
    jsonschema.validate(call(api, "POST", "/items/deal", {"title": ""}).body, refs)


def test_api_gateways_own_refusals_have_the_one_error_shape(api):
    # The template's GatewayResponses shape what API Gateway answers by itself (the tests' gateway
    # renders them from the template as API Gateway would).
    for key in (None, "crm_acme_00000000_" + "0" * 48):
        answer = api.call("GET", "/employees", key=key)
        assert_error(answer, 401, "API key")
        assert answer.headers["WWW-Authenticate"] == "Bearer"
