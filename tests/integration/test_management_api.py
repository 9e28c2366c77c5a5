"""Every management route through the authorizer and the resolver, with real REST proxy events."""

from __future__ import annotations

import pytest

from tests.gateway import Gateway

DEAL_STAGES = [
    {"name": "New", "color": "#39A8EF"},
    {"name": "Preparing documents", "color": "#2FC6F6"},
    {"name": "Awaiting payment", "color": "#55D0E0"},
    {"name": "Won", "color": "#7BD500", "semantic": "success"},
    {"name": "Lost", "color": "#FF5752", "semantic": "failure"},
]


@pytest.fixture
def api(aws):
    from crm.service.tenants import create_tenant

    gateway = Gateway()
    gateway.key = create_tenant("Acme", "acme").api_key
    gateway.other_key = create_tenant("Globex", "globex").api_key
    return gateway


def call(api, method, path, body=None, key=None):
    return api.call(method, path, body, key or api.key)


@pytest.fixture
def sales(api):
    assert (
        call(
            api, "POST", "/employees", {"id": "anna", "name": "Anna Petrova", "email": "anna@acme.test"}
        ).status
        == 201
    )
    answer = call(
        api,
        "POST",
        "/pipelines",
        {"id": "sales", "item_type": "deal", "name": "Sales", "stages": DEAL_STAGES},
    )
    assert answer.status == 201, answer.body
    return answer.body


def new_deal(api, **values):
    answer = call(api, "POST", "/items/deal", {"title": "Forklift", **values})
    assert answer.status == 201, answer.body
    return answer.body


# ---------------------------------------------------------------- authentication


def test_requests_without_a_valid_key_are_refused_and_change_nothing(api, sales):
    assert api.call("GET", "/pipelines").status == 401
    assert api.call("GET", "/pipelines", key="crm_acme_00000000_" + "0" * 48).status == 401
    assert api.call("GET", "/pipelines", key="not-a-key").status == 401
    assert api.call("POST", "/items/deal", {"title": "x"}, key=api.key[:-1] + "x").status == 401
    assert call(api, "GET", "/items/deal").body["items"] == []


def test_openapi_and_swagger_are_public(api):
    spec = api.call("GET", "/openapi.json")
    assert spec.status == 200
    assert spec.body["openapi"] == "3.1.0"
    assert "/items/{item_type}/{item_id}/stage" in spec.body["paths"]
    docs = api.call("GET", "/docs")
    assert docs.status == 200 and "swagger" in docs.body.lower()


def test_a_key_of_one_tenant_never_reaches_another_tenants_data(api, sales):
    deal = new_deal(api)
    other = api.other_key
    assert api.call("GET", f"/items/deal/{deal['id']}", key=other).status == 404
    assert api.call("POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "won"}, key=other).status in (
        404,
        422,
    )
    assert api.call("PATCH", f"/items/deal/{deal['id']}", {"title": "stolen"}, key=other).status == 404
    assert api.call("DELETE", f"/items/deal/{deal['id']}", key=other).status == 404
    assert api.call("GET", "/pipelines", key=other).body == []
    assert api.call("GET", "/pipelines/sales", key=other).status == 404
    assert api.call("GET", "/employees/anna", key=other).status == 404
    assert api.call("GET", f"/items/deal/{deal['id']}/timeline", key=other).status == 404
    assert api.call("GET", "/items?email=anna@acme.test", key=other).body == []
    # The tenant comes from the key only: a tenant named in the body is refused as unknown input.
    assert api.call("POST", "/items/deal", {"title": "x", "tenant_id": "acme"}, key=other).status == 422
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["title"] == "Forklift"


def test_api_keys_are_shown_once_listed_without_secret_and_revocable(api):
    created = call(api, "POST", "/api-keys", {"name": "webform"})
    assert created.status == 201
    key = created.body["key"]
    assert api.call("GET", "/pipelines", key=key).status == 200
    listed = call(api, "GET", "/api-keys").body
    assert {k["name"] for k in listed} == {"operator", "webform"}
    assert all("key" not in k for k in listed)
    assert call(api, "DELETE", f"/api-keys/{created.body['id']}").status == 204
    assert api.call("GET", "/pipelines", key=key).status == 401
    assert call(api, "DELETE", f"/api-keys/{created.body['id']}").status == 404


# ---------------------------------------------------------------- employees and types


def test_employees(api):
    boss = call(
        api, "POST", "/employees", {"name": "Boss", "email": "BOSS@acme.test", "phone": "+44 20 7946 0958"}
    )
    assert (
        boss.status == 201
        and boss.body["email"] == "boss@acme.test"
        and boss.body["phone"] == "+442079460958"
    )
    rep = call(
        api,
        "POST",
        "/employees",
        {
            "id": "rep",
            "name": "Rep",
            "email": "rep@acme.test",
            "supervisor_id": boss.body["id"],
            "time_zone": "Europe/Berlin",
        },
    )
    assert rep.status == 201
    assert (
        call(api, "POST", "/employees", {"id": "rep", "name": "Again", "email": "r@acme.test"}).status == 409
    )
    assert call(api, "POST", "/employees", {"name": "X", "email": "not-an-email"}).status == 422
    assert (
        call(
            api, "POST", "/employees", {"name": "X", "email": "x@acme.test", "supervisor_id": "ghost"}
        ).status
        == 422
    )
    for zone in ("Mars/Base", "Europe"):  # "Europe" is a folder of the zone database, no zone
        assert (
            call(api, "POST", "/employees", {"name": "X", "email": "x@acme.test", "time_zone": zone}).status
            == 422
        )
    assert call(api, "PATCH", "/employees/rep", {"name": "Rep Two"}).body["name"] == "Rep Two"
    assert call(api, "PATCH", "/employees/ghost", {"name": "x"}).status == 404
    assert {e["id"] for e in call(api, "GET", "/employees").body} == {boss.body["id"], "rep"}


def test_smart_process_types_with_typed_custom_fields(api):
    answer = call(
        api,
        "POST",
        "/types",
        {
            "code": "repair",
            "name": "Repair order",
            "fields": [
                {"code": "device", "name": "Device", "type": "string", "required": True},
                {"code": "due", "name": "Due", "type": "date"},
                {"code": "priority", "name": "Priority", "type": "enum", "options": ["low", "high"]},
            ],
        },
    )
    assert answer.status == 201
    assert call(api, "POST", "/types", {"code": "deal", "name": "Deal"}).status == 409
    assert (
        call(
            api,
            "POST",
            "/types",
            {"code": "x", "name": "X", "fields": [{"code": "title", "name": "T", "type": "string"}]},
        ).status
        == 422
    )
    codes = [t["code"] for t in call(api, "GET", "/types").body]
    assert codes == ["lead", "deal", "quote", "invoice", "repair"]
    call(
        api,
        "POST",
        "/pipelines",
        {"item_type": "repair", "name": "Repairs", "stages": [{"name": "Received"}]},
    )
    assert call(api, "POST", "/items/repair", {"title": "Phone"}).status == 422  # device is required
    bad = call(
        api, "POST", "/items/repair", {"title": "Phone", "fields": {"device": "X1", "due": "tomorrow"}}
    )
    assert bad.status == 422 and "date" in bad.body["message"]
    ok = call(
        api, "POST", "/items/repair", {"title": "Phone", "fields": {"device": "X1", "priority": "high"}}
    )
    assert ok.status == 201 and ok.body["fields"] == {"device": "X1", "priority": "high"}
    assert call(api, "POST", "/items/nothing", {"title": "x"}).status == 404


# ---------------------------------------------------------------- pipelines and stages


def test_pipelines_and_stages(api, sales):
    assert [s["id"] for s in sales["stages"]] == [
        "new",
        "preparing_documents",
        "awaiting_payment",
        "won",
        "lost",
    ]
    assert sales["is_default"] is True and sales["version"] == 1
    second = call(
        api, "POST", "/pipelines", {"item_type": "deal", "name": "Wholesale", "stages": [{"name": "New"}]}
    )
    assert second.status == 201 and second.body["is_default"] is False
    call(
        api, "POST", "/pipelines", {"item_type": "lead", "name": "Leads", "stages": [{"name": "Unprocessed"}]}
    )
    assert [p["id"] for p in call(api, "GET", "/pipelines?item_type=deal").body] == ["sales", "wholesale"]
    assert len(call(api, "GET", "/pipelines").body) == 3
    assert (
        call(
            api,
            "POST",
            "/pipelines",
            {"id": "sales", "item_type": "deal", "name": "S", "stages": [{"name": "A"}]},
        ).status
        == 409
    )
    bad_order = {
        "item_type": "deal",
        "name": "Bad",
        "stages": [{"name": "Won", "semantic": "success"}, {"name": "A"}],
    }
    assert call(api, "POST", "/pipelines", bad_order).status == 422
    assert (
        call(
            api,
            "POST",
            "/pipelines",
            {"item_type": "deal", "name": "C", "stages": [{"name": "A", "color": "red"}]},
        ).status
        == 422
    )

    renamed = call(api, "PATCH", "/pipelines/sales", {"name": "Retail sales"})
    assert renamed.body["name"] == "Retail sales" and renamed.body["version"] == 2
    added = call(api, "POST", "/pipelines/sales/stages", {"name": "Delivery", "color": "#FFA900"})
    assert added.status == 201
    assert [s["id"] for s in added.body["stages"]][-3:] == ["delivery", "won", "lost"]
    # A derived id that is taken gets a suffix; an id given that is taken is a conflict.
    again = call(api, "POST", "/pipelines/sales/stages", {"name": "Delivery"})
    assert again.status == 201 and [s["id"] for s in again.body["stages"]][-4:-2] == [
        "delivery",
        "delivery_2",
    ]
    assert call(api, "POST", "/pipelines/sales/stages", {"id": "delivery", "name": "D"}).status == 409
    after = call(api, "POST", "/pipelines/sales/stages", {"name": "Check", "after": "new"}).body
    assert [s["id"] for s in after["stages"]][:2] == ["new", "check"]
    assert (
        call(api, "PATCH", "/pipelines/sales/stages/check", {"name": "Checked", "color": "#000000"}).status
        == 200
    )
    assert call(api, "PATCH", "/pipelines/sales/stages/NOPE", {"name": "x"}).status == 404
    order = [
        "new",
        "preparing_documents",
        "check",
        "awaiting_payment",
        "delivery",
        "delivery_2",
        "won",
        "lost",
    ]
    reordered = call(api, "PUT", "/pipelines/sales/stage-order", {"stage_ids": order})
    assert [s["id"] for s in reordered.body["stages"]] == order
    assert [s["sort"] for s in reordered.body["stages"]] == [10, 20, 30, 40, 50, 60, 70, 80]
    assert call(api, "PUT", "/pipelines/sales/stage-order", {"stage_ids": order[:-1]}).status == 422
    assert (
        call(
            api,
            "PUT",
            "/pipelines/sales/stage-order",
            {"stage_ids": [*order[:4], "won", "delivery", "delivery_2", "lost"]},
        ).status
        == 422
    )


def test_a_stage_or_pipeline_with_items_cannot_be_deleted(api, sales):
    deal = new_deal(api)
    refused = call(api, "DELETE", "/pipelines/sales/stages/new")
    assert refused.status == 409 and "items" in refused.body["message"]
    assert call(api, "DELETE", "/pipelines/sales").status == 409
    assert call(api, "DELETE", "/pipelines/sales/stages/lost").status == 200
    call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "won"})
    assert call(api, "DELETE", "/pipelines/sales/stages/new").status == 200
    assert call(api, "DELETE", f"/items/deal/{deal['id']}").status == 204
    assert call(api, "DELETE", "/pipelines/sales").status == 204
    assert call(api, "GET", "/pipelines/sales").status == 404


# ---------------------------------------------------------------- items


def test_item_lifecycle_with_timeline(api, sales):
    deal = new_deal(
        api,
        amount=1200.5,
        currency="EUR",
        responsible_id="anna",
        emails=["Buyer@Client.test"],
        phones=["+1 (202) 555-0143"],
        company="Client Ltd",
    )
    assert deal["id"] == "1" and deal["stage_id"] == "new" and deal["pipeline_id"] == "sales"
    assert deal["emails"] == ["buyer@client.test"] and deal["phones"] == ["+12025550143"]
    assert new_deal(api)["id"] == "2"

    updated = call(api, "PATCH", "/items/deal/1", {"amount": 1500, "title": "Two forklifts", "by": "anna"})
    assert updated.status == 200 and updated.body["version"] == 2 and updated.body["amount"] == 1500
    stale = call(api, "PATCH", "/items/deal/1", {"amount": 1, "expected_version": 1})
    assert stale.status == 409
    assert call(api, "PATCH", "/items/deal/1", {"responsible_id": "ghost"}).status == 422
    assert call(api, "PATCH", "/items/deal/1", {"emails": ["nope"]}).status == 422
    assert call(api, "GET", "/items/deal/1").body["amount"] == 1500

    timeline = call(api, "GET", "/items/deal/1/timeline").body["entries"]
    assert [e["kind"] for e in timeline] == ["fields_changed", "created"]
    assert timeline[0]["data"]["changes"]["amount"] == {"old": 1200.5, "new": 1500}
    assert timeline[0]["by"] == "anna"

    comment = call(api, "POST", "/items/deal/1/comments", {"text": "Client called", "by": "anna"})
    assert comment.status == 201
    assert call(api, "GET", "/items/deal/1/timeline?limit=1").body["entries"][0]["kind"] == "comment"

    assert call(api, "GET", "/items/deal/99").status == 404
    assert call(api, "DELETE", "/items/deal/1").status == 204
    assert call(api, "GET", "/items/deal/1").status == 404
    assert call(api, "GET", "/items?email=buyer@client.test").body == []


def test_items_are_listed_by_pipeline_and_stage_page_by_page(api, sales):
    for n in range(5):
        new_deal(api, title=f"Deal {n}")
    call(api, "POST", "/items/deal/2/stage", {"stage_id": "awaiting_payment"})
    first = call(api, "GET", "/items/deal?pipeline_id=sales&limit=3").body
    assert len(first["items"]) == 3 and first["cursor"]
    rest = call(api, "GET", f"/items/deal?pipeline_id=sales&limit=3&cursor={first['cursor']}").body
    assert len(first["items"]) + len(rest["items"]) == 5
    in_stage = call(api, "GET", "/items/deal?stage_id=awaiting_payment").body["items"]
    assert [i["id"] for i in in_stage] == ["2"]
    assert call(api, "GET", "/items/deal?stage_id=NOPE").status == 422
    assert call(api, "GET", "/items/deal?limit=0").status == 422
    assert call(api, "GET", "/items/deal?cursor=garbage").status == 422


def test_items_are_found_by_contact_email_or_phone(api, sales):
    call(
        api, "POST", "/pipelines", {"item_type": "lead", "name": "Leads", "stages": [{"name": "Unprocessed"}]}
    )
    deal = new_deal(api, emails=["Ivan@Client.test"], phones=["+7 912 345-67-89"])
    lead = call(api, "POST", "/items/lead", {"title": "Ivan", "emails": ["ivan@client.test"]}).body
    new_deal(api, emails=["someone@else.test"])
    found = call(api, "GET", "/items?email=IVAN@client.test").body
    assert {(i["type"], i["id"]) for i in found} == {("deal", deal["id"]), ("lead", lead["id"])}
    assert [i["id"] for i in call(api, "GET", "/items?phone=%2B79123456789").body] == [deal["id"]]
    call(api, "PATCH", f"/items/deal/{deal['id']}", {"emails": ["ivan.new@client.test"]})
    assert [i["type"] for i in call(api, "GET", "/items?email=ivan@client.test").body] == ["lead"]
    assert call(api, "GET", "/items").status == 422
    assert call(api, "GET", "/items?phone=12").status == 422


# ---------------------------------------------------------------- stage moves


def test_manual_stage_moves_follow_the_transition_policy(api, sales):
    deal = new_deal(api)
    path = f"/items/deal/{deal['id']}/stage"
    moved = call(api, "POST", path, {"stage_id": "awaiting_payment", "by": "anna"})
    assert moved.status == 200 and moved.body["moved"] is True
    assert moved.body["item"]["last_move"]["from_stage"] == "new"
    again = call(api, "POST", path, {"stage_id": "awaiting_payment"})
    assert again.body["moved"] is False and again.body["item"]["version"] == moved.body["item"]["version"]

    back = call(api, "POST", path, {"stage_id": "new"})
    assert back.status == 409 and back.body["reason"] == "backwards"
    unknown = call(api, "POST", path, {"stage_id": "SHIPPED"})
    assert unknown.status == 422 and "SHIPPED" in unknown.body["message"]
    assert call(api, "POST", path, {"stage_id": "won", "by": "ghost"}).status == 422
    assert call(api, "POST", path, {}).status == 422
    assert call(api, "POST", "/items/deal/404/stage", {"stage_id": "won"}).status == 404

    assert call(api, "POST", path, {"stage_id": "won"}).status == 200
    closed = call(api, "POST", path, {"stage_id": "lost"})
    assert closed.status == 409 and closed.body["reason"] == "closed"
    reopened = call(api, "POST", path, {"stage_id": "new", "allow_backwards": True, "by": "anna"})
    assert reopened.status == 200 and reopened.body["item"]["stage_id"] == "new"

    entries = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"]
    moves = [(e["data"]["from"], e["data"]["to"]) for e in entries if e["kind"] == "stage_changed"]
    assert moves == [("won", "new"), ("awaiting_payment", "won"), ("new", "awaiting_payment")]
    assert entries[0]["data"]["cause"] == {"kind": "api", "ref": "anna", "chain": []}


def test_a_stage_added_elsewhere_is_seen_by_a_warm_container(api, sales):
    from crm.adapters import automation
    from crm.domain.model import Stage
    from crm.service import configuration

    deal = new_deal(api)
    call(api, "GET", "/pipelines/sales")
    # Another container adds a stage: this container's cache still holds the old version.
    cached = automation.load("acme", "sales")
    stages = [*cached.pipeline.stages[:1], Stage("CALL", "Call", "#000000", 0), *cached.pipeline.stages[1:]]
    automation.save_pipeline("acme", cached.pipeline, cached.pipeline.with_stages(stages))
    automation._cache[("acme", "sales")] = cached
    assert call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "CALL"}).status == 200
    # And a move decided on the stale version is checked against the stored one.
    automation._cache[("acme", "sales")] = cached
    assert configuration.get_pipeline("acme", "sales").version == 2
    assert call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "won"}).status == 200


# ---------------------------------------------------------------- automation rules


def test_triggers_and_robots_on_stages(api, sales):
    base = "/automation/deal/sales"
    kinds = {t["code"]: t["kind"] for t in call(api, "GET", "/catalogue").body}
    assert kinds["send_email"] == "robot"
    assert kinds["webhook"] == "trigger"
    trigger = call(
        api,
        "POST",
        f"{base}/triggers",
        {
            "type_code": "webhook",
            "stage_id": "awaiting_payment",
            "params": {"code": "paid"},
            "condition": {"join": "and", "conditions": [{"field": "amount", "op": ">", "value": 100}]},
            "allow_backwards": True,
        },
    )
    assert trigger.status == 201, trigger.body
    assert trigger.body["name"] == "Webhook"
    robot = call(
        api,
        "POST",
        f"{base}/robots",
        {
            "type_code": "send_email",
            "stage_id": "new",
            "params": {"subject": "Welcome", "body_text": "Hello from {{ responsible.name }}"},
            "run_as": "anna",
            "delay": {"kind": "after", "minutes": 60},
            "retry": {"attempts": 3, "backoff_seconds": 30},
        },
    )
    assert robot.status == 201, robot.body
    # The old form (minutes) is read as an amount in minutes, and shown in the new form.
    assert robot.body["delay"] == {
        "kind": "after",
        "amount": 60,
        "unit": "minutes",
        "field": None,
        "time_of_day": None,
        "working_time": False,
    }
    no_body = {"type_code": "send_email", "stage_id": "new", "params": {"subject": "Welcome"}}
    refused = call(api, "POST", f"{base}/robots", no_body)
    assert refused.status == 422 and "a mail has a body" in refused.body["message"]

    bad = [
        ({"type_code": "webhook", "stage_id": "new", "params": {"code": "Bad Code"}}, 422),
        ({"type_code": "nope", "stage_id": "new"}, 422),
        ({"type_code": "webhook", "stage_id": "NOPE", "params": {"code": "x"}}, 422),
        (
            {
                "type_code": "webhook",
                "stage_id": "new",
                "params": {"code": "x"},
                "condition": {"field": "a", "op": "~"},
            },
            422,
        ),
        ({"type_code": "webhook", "stage_id": "new", "params": {"code": "x"}, "run_as": "ghost"}, 422),
        (
            {"type_code": "send_email", "stage_id": "new", "params": {"subject": "x"}},
            422,
        ),  # robot type as trigger
    ]
    for body, status in bad:
        assert call(api, "POST", f"{base}/triggers", body).status == status, body
    assert (
        call(
            api,
            "POST",
            "/automation/lead/sales/triggers",
            {"type_code": "webhook", "stage_id": "new", "params": {"code": "x"}},
        ).status
        == 404
    )

    listed = call(api, "GET", base).body
    assert [r["id"] for r in listed["triggers"]] == [trigger.body["id"]]
    assert [r["id"] for r in listed["robots"]] == [robot.body["id"]]
    assert listed["pipeline"]["version"] == 3

    rid = robot.body["id"]
    edited = call(
        api,
        "PUT",
        f"{base}/robots/{rid}",
        {"type_code": "send_email", "stage_id": "new", "params": {"subject": "Hello", "body_text": "Hi"}},
    )
    assert edited.status == 200 and edited.body["params"]["subject"] == "Hello"
    assert call(api, "GET", f"{base}/robots/{rid}").body["params"]["subject"] == "Hello"
    assert call(api, "GET", f"{base}/triggers/{rid}").status == 404
    copy = call(api, "POST", f"{base}/robots/{rid}/copy", {"stage_id": "awaiting_payment"})
    assert copy.status == 201 and copy.body["stage_id"] == "awaiting_payment" and copy.body["id"] != rid
    call(
        api,
        "POST",
        "/pipelines",
        {"id": "wholesale", "item_type": "deal", "name": "Wholesale", "stages": [{"name": "Start"}]},
    )
    other = call(api, "POST", f"{base}/robots/{rid}/copy", {"stage_id": "start", "pipeline_id": "wholesale"})
    assert other.status == 201
    assert [r["stage_id"] for r in call(api, "GET", "/automation/deal/wholesale").body["robots"]] == ["start"]
    assert call(api, "DELETE", f"{base}/robots/{rid}").status == 204
    assert call(api, "DELETE", f"{base}/robots/{rid}").status == 404
    assert len(call(api, "GET", base).body["robots"]) == 1

    # Deleting a stage takes its rules with it.
    call(api, "DELETE", "/pipelines/sales/stages/awaiting_payment")
    remaining = call(api, "GET", base).body
    assert remaining["triggers"] == [] and remaining["robots"] == []


def test_a_retried_create_with_the_same_idempotency_key_creates_one_item(api, sales):
    body = {"title": "From the webform", "emails": ["lead@client.test"]}
    headers_key = {"Idempotency-Key": "form-submission-42"}
    first = api.call("POST", "/items/deal", body, api.key, headers=headers_key)
    again = api.call("POST", "/items/deal", body, api.key, headers=headers_key)
    assert first.status == again.status == 201
    assert again.body == first.body
    assert len(call(api, "GET", "/items/deal").body["items"]) == 1
    other_body = api.call("POST", "/items/deal", {"title": "Else"}, api.key, headers=headers_key)
    assert other_body.status == 422 and "Idempotency-Key" in other_body.body["message"]
    # Keys are per tenant: another tenant's identical key is another request.
    api.call(
        "POST", "/pipelines", {"item_type": "deal", "name": "S", "stages": [{"name": "A"}]}, api.other_key
    )
    assert api.call("POST", "/items/deal", body, api.other_key, headers=headers_key).status == 201
    assert len(call(api, "GET", "/items/deal").body["items"]) == 1


def test_an_item_is_never_created_in_a_stage_deleted_by_another_container(api, sales):
    from crm.adapters import automation

    cached = automation.load("acme", "sales")
    # Another container deletes a stage; this one still holds the pipeline with it.
    assert call(api, "DELETE", "/pipelines/sales/stages/awaiting_payment").status == 200
    automation._cache[("acme", "sales")] = cached
    refused = call(api, "POST", "/items/deal", {"title": "Late", "stage_id": "awaiting_payment"})
    assert refused.status == 422 and "awaiting_payment" in refused.body["message"]
    automation._cache[("acme", "sales")] = cached
    created = call(api, "POST", "/items/deal", {"title": "Fine", "stage_id": "new"})
    assert created.status == 201 and created.body["stage_id"] == "new"
    assert [i["title"] for i in call(api, "GET", "/items/deal").body["items"]] == ["Fine"]
