"""The sample events under events/ (for `sam local invoke -e`) are what the handlers accept."""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from bench import template
from tests.conftest import ROOT, lambda_context, load_event, load_handler
from tests.integration.conftest import drain


def test_every_function_has_sample_events():
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    assert functions == sorted(template.functions())
    for name in functions:
        assert list((ROOT / "events" / name).glob("*.json")), f"no sample event for {name}"


def test_api_sample_events(aws):
    from crm.service import configuration, items

    configuration.create_pipeline(
        "demo", {"item_type": "deal", "name": "Sales", "stages": [{"name": "New"}, {"name": "Preparation"}]}
    )
    configuration.create_employee("demo", {"id": "anna", "name": "Anna", "email": "anna@demo.test"})
    items.create_item("demo", "deal", {"title": "Forklift"})
    api = load_handler("api")
    listed = api.lambda_handler(load_event("api/get_pipelines.json"), lambda_context())
    assert listed["statusCode"] == 200 and '"sales"' in listed["body"]
    moved = api.lambda_handler(load_event("api/move_stage.json"), lambda_context())
    assert moved["statusCode"] == 200 and '"preparation"' in moved["body"]


def test_authorizer_sample_event_carries_a_key_that_is_refused_until_issued(aws):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        load_handler("authorizer").lambda_handler(load_event("authorizer/request.json"), lambda_context())


def test_fanout_sample_event_publishes_created_and_stage_changed(bus):
    sqs, queues = bus
    answer = load_handler("fanout").lambda_handler(load_event("fanout/stage_changed.json"), lambda_context())
    assert answer == {"batchItemFailures": []}
    published = drain(sqs, queues["everything"])
    assert [e["detail-type"] for e in published] == ["ItemCreated", "StageChanged"]


def test_ingest_crm_changes_sample_event_moves_the_deal_whose_amount_went_above_10000(aws):
    from crm.domain.rules import RuleKind
    from crm.service import configuration, items, rules
    from crm.service.triggers import item_journal

    stages = [{"name": "New"}, {"name": "Preparing documents", "id": "documents"}]
    configuration.create_pipeline("demo", {"item_type": "deal", "name": "Sales", "stages": stages})
    watch = {"fields": [{"field": "amount", "new": {"op": ">", "value": 10_000}}]}
    rule = {"type_code": "field_changed", "stage_id": "documents", "name": "Large order", "params": watch}
    rules.create_rule("demo", "deal", "sales", RuleKind.TRIGGER, rule)
    items.create_item("demo", "deal", {"title": "Forklift", "amount": 9000})
    handler = load_handler("ingest_crm_changes")
    answer = handler.lambda_handler(
        load_event("ingest_crm_changes/amount_above_10000.json"), lambda_context()
    )
    assert answer == {"batchItemFailures": []}
    assert items.get_item("demo", "deal", "1").stage_id == "documents"
    (entry,), _ = item_journal("demo", "deal", "1", 10, None)
    assert entry["outcome"] == "moved" and entry["event"]["source"] == "crm_changes"


def test_ingest_webform_sample_event_creates_the_lead_and_redirects_the_browser(aws):
    from crm.adapters import forms as stored
    from crm.domain.forms import Form
    from crm.service import configuration, forms, items
    from crm.service.triggers import item_journal

    configuration.create_pipeline("demo", {"item_type": "lead", "name": "Leads", "stages": [{"name": "New"}]})
    fields = [
        {"name": "name", "label": "Name", "type": "text", "required": True},
        {"name": "email", "label": "Email", "type": "email", "required": True, "maps_to": "emails"},
        {"name": "phone", "label": "Phone", "type": "phone", "maps_to": "phones"},
        {"name": "company", "label": "Company", "type": "text", "maps_to": "company"},
    ]
    settings = {"id": "f_demo_0123456789ab", "name": "Contact us", "kind": "form", "fields": fields}
    stored.create(Form.from_dict({**settings, "item_type": "lead", "pipeline_id": "leads"}))
    answer = load_handler("ingest_webform").lambda_handler(
        load_event("ingest_webform/submit_browser.json"), lambda_context()
    )
    assert answer["statusCode"] == 303 and answer["headers"]["Location"] == "f_demo_0123456789ab?submitted=1"
    (lead,) = items.find_by_contact("demo", "maria.ivanova@client.example", None)
    assert lead.title == "Maria Ivanova" and lead.pipeline_id == "leads"
    # The submission is logged under the page's nonce, and its event reached the new lead
    (sent,), _ = forms.submissions("demo", "f_demo_0123456789ab", 10, None)
    assert sent["event_id"] == "f_demo_0123456789ab.n.0f8e7d6c5b4a39281706f5e4"
    (entry,), _ = item_journal("demo", "lead", lead.id, 10, None)
    assert entry["event"]["event_id"] == sent["event_id"] and entry["outcome"] == "no_trigger_of_type"


def test_ingest_hooks_sample_events_move_the_deal_once_and_record_the_visit(aws, monkeypatch):
    from crm.adapters import hooks as stored_hooks
    from crm.adapters import sites as stored_sites
    from crm.domain import clock
    from crm.domain.credentials import Credential
    from crm.domain.hooks import Hook
    from crm.domain.rules import RuleKind
    from crm.domain.sites import Site
    from crm.service import configuration, items, rules
    from crm.service.triggers import item_journal, tenant_journal

    # The beacon's contact token was signed with this site secret, valid for an hour after the
    # request; the clock ticks a second per reading, so the journal's entries have an order.
    ticks = itertools.count()
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=next(ticks)))
    site_secret = "crmsitesecret_6IMflJw_DyZorKkZV0ETONZ1v9SeijqbnBmPaQlJpAY"
    stages = [{"name": "New"}, {"name": "Awaiting payment", "id": "payment"}]
    configuration.create_pipeline("demo", {"item_type": "deal", "name": "Sales", "stages": stages})
    paid = {"type_code": "webhook", "stage_id": "payment", "params": {"code": "payment_received"}}
    rules.create_rule("demo", "deal", "sales", RuleKind.TRIGGER, paid)
    items.create_item("demo", "deal", {"title": "Chairs", "emails": ["buyer@northwind.example"]})
    secret = load_event("ingest_hooks/hook_trigger_get.json")["pathParameters"]["secret"]
    credential = Credential.parse("crmhook", secret)
    stored_hooks.create(Hook("demo", credential.id, "ERP", clock.now(), credential.secret_hash))
    shop = ("https://shop.demo.example",)
    stored_sites.create(Site("demo", "0a1b2c3d4e5f", "Shop", shop, clock.now(), site_secret))
    handler = load_handler("ingest_hooks")

    fired = handler.lambda_handler(load_event("ingest_hooks/hook_trigger_get.json"), lambda_context())
    posted = handler.lambda_handler(load_event("ingest_hooks/hook_trigger_post_form.json"), lambda_context())
    visited = handler.lambda_handler(load_event("ingest_hooks/site_visit_beacon.json"), lambda_context())

    assert fired["statusCode"] == 200 and json.loads(fired["body"])["outcome"] == "moved", fired
    # The form POST is another call (its own request_id): the deal is in "Awaiting payment" already
    assert posted["statusCode"] == 200, posted
    assert (json.loads(posted["body"])["outcome"], json.loads(posted["body"])["stage_id"]) == (
        "not_moved",
        "payment",
    )
    assert visited["statusCode"] == 204 and visited["headers"]["Crm-Contact-Token"] == "verified", visited
    assert visited["headers"]["Access-Control-Allow-Origin"] == "https://shop.demo.example"
    assert items.get_item("demo", "deal", "1").stage_id == "payment"
    entries, _ = item_journal("demo", "deal", "1", 10, None)
    assert [(e["event"]["source"], e["outcome"]) for e in entries] == [
        ("webhook", "not_moved"),
        ("webhook", "moved"),
    ]
    # No pipeline has site-visit triggers: the visit is journaled for the tenant
    (visit,), _ = tenant_journal("demo", "site", None, 10, None)
    assert visit["event"]["contact"] == {"kind": "email", "value": "buyer@northwind.example"}


def test_ingest_tracking_sample_events_open_and_click_the_demo_offer(aws):
    from crm.adapters import outbound_mail as store
    from crm.domain import clock, tracking
    from crm.domain.rules import RuleKind
    from crm.domain.trigger_events import ItemRef
    from crm.service import configuration, items, rules

    stages = [{"name": "New"}, {"name": "Offer read"}, {"name": "Offer viewed"}]
    configuration.create_pipeline("demo", {"item_type": "deal", "name": "Sales", "stages": stages})
    for type_code, stage_id in (("email_read", "offer_read"), ("link_clicked", "offer_viewed")):
        rules.create_rule(
            "demo", "deal", "sales", RuleKind.TRIGGER, {"type_code": type_code, "stage_id": stage_id}
        )
    items.create_item("demo", "deal", {"title": "Forklift", "emails": ["maria@client.example"]})
    # The key and the sent message the samples' tokens were made with.
    store.add_signing_key("demo", b"sample signing key of tenant dem", clock.now())
    offer = "https://shop.example.com/offers/7"
    sent = store.SentMail("SampleMessage001", ItemRef("deal", "1"), "sending", "-", (offer,), None)
    store.reserve("demo", sent, clock.now())
    handler = load_handler("ingest_tracking")

    opened = handler.lambda_handler(load_event("ingest_tracking/open_pixel.json"), lambda_context())
    assert opened["statusCode"] == 200 and opened["headers"]["Content-Type"] == "image/gif"
    assert len(base64.b64decode(opened["body"])) == len(tracking.PIXEL) == 43
    assert items.get_item("demo", "deal", "1").stage_id == "offer_read"
    clicked = handler.lambda_handler(load_event("ingest_tracking/click_link.json"), lambda_context())
    assert clicked["statusCode"] == 302 and clicked["headers"]["Location"] == offer
    assert items.get_item("demo", "deal", "1").stage_id == "offer_viewed"


def _robot_world():
    """Tenant demo: a "Welcome" comment robot (id rwelcome) on the first stage of "sales", deal 1
    created there at the samples' time, and the run queue."""
    import boto3

    from crm.adapters import automation
    from crm.domain import clock
    from crm.domain.rules import Rule, RuleKind
    from crm.service import configuration, items

    pipeline = configuration.create_pipeline(
        "demo",
        {"id": "sales", "item_type": "deal", "name": "Sales", "stages": [{"name": "New"}, {"name": "Won"}]},
    )
    robot = Rule(
        "rwelcome",
        RuleKind.ROBOT,
        "add_comment",
        "Welcome",
        "new",
        params={"text": "Welcome, {{ item.title }}"},
    )
    automation.save_pipeline("demo", pipeline, pipeline.with_stages(list(pipeline.stages)), put=[robot])
    clock.use_clock(clock.FixedClock(datetime.fromisoformat("2026-03-02T09:00:00+00:00")))
    items.create_item("demo", "deal", {"title": "Forklift"})
    sqs = boto3.client("sqs", region_name="eu-west-1")
    return sqs, sqs.create_queue(QueueName="RobotRunsQueue")["QueueUrl"]


def test_robot_planner_and_runner_sample_events_plan_and_run_the_welcome_robot(aws):
    from crm.domain import clock
    from crm.service import items

    sqs, runs_queue = _robot_world()
    try:
        planner, runner = load_handler("robot_planner"), load_handler("robot_runner")
        planned = planner.lambda_handler(load_event("robot_planner/item_created.json"), lambda_context())
        assert planned == {"batchItemFailures": []}
        (queued,) = drain(sqs, runs_queue)
        sample = json.loads(load_event("robot_runner/run_due.json")["Records"][0]["body"])
        assert queued["id"] == sample["id"] and queued["state"] == "queued"
        ran = runner.lambda_handler(load_event("robot_runner/run_due.json"), lambda_context())
        assert ran == {"batchItemFailures": []}
        timeline, _ = items.timeline("demo", "deal", "1", 10, None)
        assert [e.data["text"] for e in timeline if e.kind.value == "comment"] == ["Welcome, Forklift"]
    finally:
        clock.use_clock(clock.SystemClock())


def test_robot_sweeper_sample_event_sweeps(aws):
    sweeper = load_handler("robot_sweeper")
    answer = sweeper.lambda_handler(load_event("robot_sweeper/tick.json"), lambda_context())
    assert answer["sent"] == 0 and answer["minutes"] >= 1


def test_ingest_payments_sample_events_move_the_deal_on_the_invoice_and_count_the_payment_once(aws):
    from crm.adapters import payment_accounts
    from crm.domain import clock
    from crm.domain.payments import PaymentAccount, Provider
    from crm.domain.rules import RuleKind
    from crm.service import configuration, items, rules
    from crm.service.triggers import item_journal

    stages = [
        {"name": "Preparing documents", "id": "documents"},
        {"name": "Assembling goods", "id": "assembling"},
    ]
    configuration.create_pipeline(
        "demo", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages}
    )
    rule = {"type_code": "invoice_paid", "stage_id": "assembling", "name": "Invoice paid"}
    rules.create_rule("demo", "deal", "sales", RuleKind.TRIGGER, rule)
    items.create_item("demo", "deal", {"title": "Office chairs x40", "amount": 12800, "currency": "EUR"})
    # The account the samples name, with the secret they were signed with, at the time they were.
    signed_at = datetime.fromtimestamp(1795424400, UTC)
    secret = "whsec_demoSampleSigningSecret0123456789"
    account = PaymentAccount(
        "demo",
        "pa_demo_0a1b2c3d4e5f",
        "Stripe",
        Provider.STRIPE,
        signed_at,
        secret,
        "sk_test_0123456789ab",
        "https://shop.demo.example/paid",
    )
    payment_accounts.create(account)
    clock.use_clock(clock.FixedClock(signed_at + timedelta(seconds=1)))
    try:
        handler = load_handler("ingest_payments")
        for name in ("invoice_paid", "checkout_session_completed", "invoice_paid"):
            answer = handler.lambda_handler(load_event(f"ingest_payments/{name}.json"), lambda_context())
            assert answer["statusCode"] == 200, answer
        assert items.get_item("demo", "deal", "1").stage_id == "assembling"
        timeline, _ = items.timeline("demo", "deal", "1", 10, None)
        assert [e.data["paid"] for e in timeline if e.kind.value == "payment_received"] == ["12800.00"]
        journal, _ = item_journal("demo", "deal", "1", 10, None)
        assert sorted((e["event"]["type"], e["outcome"]) for e in journal) == [
            ("invoice_paid", "moved"),
            ("order_paid", "no_trigger_of_type"),
        ]
    finally:
        clock.use_clock(clock.SystemClock())


def test_ingest_telephony_sample_events_move_the_deal_on_the_missed_call_once(aws, monkeypatch):
    from crm.adapters import telephony_lines
    from crm.domain import clock
    from crm.domain.rules import RuleKind
    from crm.domain.telephony import Line, Provider
    from crm.service import configuration, items, rules
    from crm.service.triggers import item_journal

    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # the execute-api URL the samples were signed over
    stages = [
        {"name": "New", "id": "new"},
        {"name": "Call back", "id": "call_back"},
        {"name": "Talked", "id": "talked"},
    ]
    configuration.create_pipeline(
        "demo", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages}
    )
    for type_code, stage_id in (("missed_call", "call_back"), ("incoming_call", "talked")):
        rules.create_rule(
            "demo", "deal", "sales", RuleKind.TRIGGER, {"type_code": type_code, "stage_id": stage_id}
        )
    items.create_item("demo", "deal", {"title": "Forklift rental", "phones": ["+4915112345678"]})
    # The lines the samples name, with the token and secret they were signed with, at that time.
    signed_at = datetime.fromtimestamp(1795424400, UTC)
    for line_id, provider, secret in (
        ("tl_demo_0a1b2c3d4e5f", Provider.TWILIO, "0123456789abcdef0123456789abcdef"),
        ("tl_demo_1a2b3c4d5e6f", Provider.PBX, "demoPbxSigningSecret0123456789abcdefgh"),
    ):
        telephony_lines.create(Line("demo", line_id, "Office", provider, signed_at, secret))
    clock.use_clock(clock.FixedClock(signed_at + timedelta(seconds=1)))
    try:
        handler = load_handler("ingest_telephony")
        for name in ("twilio_ringing", "twilio_no_answer", "pbx_missed_call", "twilio_no_answer"):
            answer = handler.lambda_handler(load_event(f"ingest_telephony/{name}.json"), lambda_context())
            assert answer["statusCode"] == 200, answer
        assert items.get_item("demo", "deal", "1").stage_id == "call_back"
        timeline, _ = items.timeline("demo", "deal", "1", 10, None)
        assert sorted(e.data["provider"] for e in timeline if e.kind.value == "call") == ["pbx", "twilio"]
        for name in ("twilio_completed", "twilio_outbound_completed"):
            answer = handler.lambda_handler(load_event(f"ingest_telephony/{name}.json"), lambda_context())
            assert answer["statusCode"] == 200, answer
        assert items.get_item("demo", "deal", "1").stage_id == "talked"
        journal, _ = item_journal("demo", "deal", "1", 10, None)
        assert sorted((e["event"]["type"], e["outcome"]) for e in journal) == [
            ("incoming_call", "moved"),
            ("missed_call", "moved"),
            ("missed_call", "not_moved"),
        ]
        timeline, _ = items.timeline("demo", "deal", "1", 10, None)
        calls = sorted(e.data["outcome"] for e in timeline if e.kind.value == "call")
        assert calls == ["incoming_call", "missed_call", "missed_call", "outgoing_call"]
    finally:
        clock.use_clock(clock.SystemClock())


def test_ingest_payments_generic_sample_event_moves_the_deal_on_the_invoice(aws):
    from crm.adapters import payment_accounts
    from crm.domain import clock
    from crm.domain.payments import PaymentAccount, Provider
    from crm.domain.rules import RuleKind
    from crm.service import configuration, items, rules

    stages = [{"name": "New", "id": "new"}, {"name": "Assembling goods", "id": "assembling"}]
    configuration.create_pipeline(
        "demo", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages}
    )
    rule = {"type_code": "invoice_paid", "stage_id": "assembling", "name": "Invoice paid"}
    rules.create_rule("demo", "deal", "sales", RuleKind.TRIGGER, rule)
    items.create_item("demo", "deal", {"title": "Office chairs x40", "amount": 12800, "currency": "EUR"})
    signed_at = datetime.fromtimestamp(1795424400, UTC)
    secret = "whsec_demoGenericSigningSecret0123456789"
    account = PaymentAccount("demo", "pa_demo_1a2b3c4d5e6f", "Bank", Provider.GENERIC, signed_at, secret)
    payment_accounts.create(account)
    clock.use_clock(clock.FixedClock(signed_at + timedelta(seconds=1)))
    try:
        handler = load_handler("ingest_payments")
        for _ in range(2):
            answer = handler.lambda_handler(
                load_event("ingest_payments/generic_payment.json"), lambda_context()
            )
            assert answer["statusCode"] == 200, answer
        assert items.get_item("demo", "deal", "1").stage_id == "assembling"
        timeline, _ = items.timeline("demo", "deal", "1", 10, None)
        assert [e.data["paid"] for e in timeline if e.kind.value == "payment_received"] == ["12800.00"]
    finally:
        clock.use_clock(clock.SystemClock())
