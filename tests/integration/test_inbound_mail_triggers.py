"""Incoming email as a trigger source: a recorded message from an authenticated sender is the
*incoming email* event (once per Message-ID) for the sender's open items; a reply to mail the CRM
sent applies to that mail's item only; a sender no item has gets the item the mail source settings
say, with the message on it; unauthenticated mail is journaled, never applied; a failed write is
retried, never taken for done."""

from __future__ import annotations

import os

import pytest

from crm.domain.errors import Throttled
from crm.domain.trigger_events import ItemRef
from tests.gateway import Gateway
from tests.integration.dynamodb_faults import dynamodb_faults, refused  # noqa: F401 - a fixture
from tests.integration.test_inbound_mail import FAILED, deliver, message, outcome

DOMAIN = "inbound.example.com"
STRANGER = "Pyotr Stranger <pyotr@newclient.test>"
CREATE_LEADS = {
    "unknown_contact": "create_item",
    "item_type": "lead",
    "pipeline_id": "leads",
    "responsible_id": "anna",
}


@pytest.fixture
def crm(aws):
    """Tenant demo: deals in "sales" (New -> Client wrote -> Won) with an incoming_email trigger on
    "Client wrote", leads in "leads" (no trigger); Ivan has a deal and a lead."""
    import boto3

    from crm.service import configuration, items, rules
    from crm.service.mail import mailbox_address
    from crm.service.tenants import create_tenant

    boto3.client("s3", region_name=os.environ["AWS_DEFAULT_REGION"]).create_bucket(
        Bucket=os.environ["INBOUND_BUCKET"],
        CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},
    )
    key = create_tenant("Demo", "demo").api_key
    configuration.create_employee("demo", {"id": "anna", "name": "Anna", "email": "anna@demo.test"})
    stages = [
        {"name": "New"},
        {"id": "wrote", "name": "Client wrote"},
        {"name": "Won", "semantic": "success"},
    ]
    configuration.create_pipeline(
        "demo", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages}
    )
    configuration.create_pipeline(
        "demo",
        {
            "id": "leads",
            "item_type": "lead",
            "name": "Leads",
            "stages": [
                {"name": "Unprocessed"},
                {"name": "In progress"},
                {"name": "Junk", "semantic": "failure"},
            ],
        },
    )
    rule = {"type_code": "incoming_email", "stage_id": "wrote", "name": "Client wrote"}
    trigger = rules.create_rule("demo", "deal", "sales", rules.RuleKind.TRIGGER, rule)
    ivan = {"emails": ["ivan.petrov@client.test"], "responsible_id": "anna"}
    deal = items.create_item("demo", "deal", {"title": "Two forklifts", **ivan})
    lead = items.create_item("demo", "lead", {"title": "Ivan", **ivan})
    return {
        "gateway": Gateway(),
        "key": key,
        "address": mailbox_address("demo", DOMAIN),
        "trigger": trigger.id,
        "deal": deal,
        "lead": lead,
    }


def stage(item) -> str:
    from crm.service import items

    return items.get_item("demo", item.type, item.id).stage_id


def journal_of(item) -> list[dict]:
    from crm.service import triggers

    return triggers.item_journal("demo", item.type, item.id, 50, None)[0]


def tenant_journal() -> list[dict]:
    from crm.service import triggers

    return triggers.tenant_journal("demo", "mail", None, 50, None)[0]


def timeline(crm, item, kind: str) -> list[dict]:
    entries = crm["gateway"].call("GET", f"/items/{item.type}/{item.id}/timeline", None, crm["key"]).body
    return [e for e in entries["entries"] if e["kind"] == kind]


def found(email: str):
    from crm.service import items

    return items.find_by_contact("demo", email, None)


def create_leads():
    from crm.service import sources

    sources.update_settings("demo", "mail", CREATE_LEADS)


def operations(dynamodb) -> list[str]:
    return [operation for operation, _ in dynamodb.calls]


# ---------------------------------------------------------------- a known sender


def test_mail_from_a_known_sender_moves_the_deal_and_the_journal_says_why(crm):
    assert deliver([crm["address"]]) == outcome(recorded=2, moved=1)

    deal, lead = crm["deal"], crm["lead"]
    assert stage(deal) == "wrote"
    (move,) = timeline(crm, deal, "stage_changed")
    assert move["by"] == "anna"  # the deal's responsible: the trigger names no one to run as
    assert move["data"]["trigger"] == {"id": crm["trigger"], "name": "Client wrote"}
    assert move["data"]["event"]["type"] == "incoming_email" and move["data"]["event"]["source"] == "mail"
    (entry,) = journal_of(deal)
    assert entry["outcome"] == "moved" and entry["id"] == move["data"]["journal_id"]
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(crm["trigger"], "moved")]
    assert entry["event"]["contact"] == {"kind": "email", "value": "ivan.petrov@client.test"}
    assert entry["event"]["data"] == {"message_id": "<CAF=quote-reply-42@client.test>", "reply_to": None}
    # The lead's pipeline has no incoming_email trigger: the mail is on it, and nothing else
    assert stage(lead) == "unprocessed" and journal_of(lead) == []
    assert len(timeline(crm, lead, "email_received")) == 1
    assert tenant_journal() == []


def test_a_redelivery_changes_nothing_and_answers_like_the_first(crm):
    from crm.service import items

    first = deliver([crm["address"]])
    # Given the manager moved the deal back meanwhile
    items.manual_move("demo", "deal", crm["deal"].id, "new", None, True)
    # When the sender's server sends the message again (a new SES message, the same Message-ID)
    again = deliver([crm["address"]], ses_id="retry0000000000000000000000000000000001")
    # Then it answers like the first and the deal stays where the manager put it
    assert first == outcome(recorded=2, moved=1) and again == outcome(recorded=0, moved=1)
    assert stage(crm["deal"]) == "new"
    assert len(journal_of(crm["deal"])) == 1
    assert len(timeline(crm, crm["deal"], "email_received")) == 1


def test_a_redelivery_after_the_deal_was_closed_answers_like_the_first_and_journals_nothing(crm):
    from crm.service import items

    assert deliver([crm["address"]]) == outcome(recorded=2, moved=1)
    items.manual_move("demo", "deal", crm["deal"].id, "won", None, False)
    # The closed deal is no longer among the sender's open items: the answer is the first one's
    assert deliver([crm["address"]], ses_id="after-closing-1") == outcome(recorded=0, moved=1)
    assert tenant_journal() == [] and len(journal_of(crm["deal"])) == 1


def test_a_closed_deal_does_not_move_and_the_mail_is_journaled_for_the_tenant(crm):
    from crm.service import items

    items.manual_move("demo", "deal", crm["deal"].id, "won", None, False)
    assert deliver([crm["address"]]) == outcome(recorded=2)
    assert stage(crm["deal"]) == "won"
    (entry,) = tenant_journal()
    assert entry["outcome"] == "no_item" and "in a pipeline with incoming_email triggers" in entry["note"]


def test_a_failed_write_raises_and_the_retry_moves_the_deal_once_with_the_mail(crm, dynamodb):
    # Given DynamoDB refusing the delivery's write (the deal's move with the message on both items)
    dynamodb.fail["TransactWriteItems"] = [refused("ProvisionedThroughputExceededException", "x")]
    with pytest.raises(Throttled):
        deliver([crm["address"]])
    assert stage(crm["deal"]) == "new" and journal_of(crm["deal"]) == []
    assert timeline(crm, crm["deal"], "email_received") == timeline(crm, crm["lead"], "email_received") == []
    # Then Lambda's retry is not taken for a redelivery: the deal moves, and the mail is there once
    assert deliver([crm["address"]]) == outcome(recorded=2, moved=1)
    assert stage(crm["deal"]) == "wrote"
    assert len(timeline(crm, crm["deal"], "email_received")) == 1
    assert len(timeline(crm, crm["lead"], "email_received")) == 1


def test_a_retry_after_a_partial_failure_writes_only_what_is_missing(crm, second_deal, dynamodb):
    # Given the first deal's write taken (with the message on all three items), the second's refused
    dynamodb.fail["TransactWriteItems"] = [None, refused("ProvisionedThroughputExceededException", "x")]
    with pytest.raises(Throttled):
        deliver([crm["address"]])
    assert stage(crm["deal"]) == "wrote" and stage(second_deal) == "new"
    # When Lambda retries the delivery
    dynamodb.calls.clear()
    assert deliver([crm["address"]]) == outcome(recorded=0, moved=2)
    # Then the first deal's answer is read once and the second deal moves; nothing is there twice
    assert operations(dynamodb) == [
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
        "Query",
        "TransactWriteItems",
    ]
    assert stage(crm["deal"]) == stage(second_deal) == "wrote"
    assert len(journal_of(crm["deal"])) == len(journal_of(second_deal)) == 1
    for item in (crm["deal"], second_deal, crm["lead"]):
        assert len(timeline(crm, item, "email_received")) == 1


def test_a_known_sender_costs_the_floor_of_an_event_by_contact(crm, dynamodb):
    dynamodb.calls.clear()
    deliver([crm["address"]])
    # The contact index (shared by the mail and its event), the sender's items in pipelines with
    # incoming_email triggers, and the deal's transaction: move, timeline, journal, once-record, and
    # the message on the deal and on the lead with their markers
    assert operations(dynamodb) == ["Query", "BatchGetItem", "TransactWriteItems"]
    # A redelivery is refused at that write, and answers from the event's once-record
    dynamodb.calls.clear()
    assert deliver([crm["address"]]) == outcome(recorded=0, moved=1)
    assert operations(dynamodb) == ["Query", "BatchGetItem", "TransactWriteItems", "Query"]


# ---------------------------------------------------------------- a sender the CRM does not know


def test_an_unknown_sender_gets_a_lead_once_with_the_mail_even_when_delivered_twice(crm):
    from crm.service import items

    create_leads()
    stranger = message(sender=STRANGER, subject="Quote for 40 chairs", message_id="<q-40@newclient.test>")
    first = deliver([crm["address"]], stranger, envelope="pyotr@newclient.test")
    again = deliver([crm["address"]], stranger, envelope="pyotr@newclient.test", ses_id="second-delivery-1")

    assert first == outcome(recorded=1, new_items=1) and again == outcome(recorded=0, new_items=1)
    (summary,) = found("pyotr@newclient.test")
    lead = items.get_item("demo", summary.type, summary.id)
    assert (lead.type, lead.pipeline_id, lead.stage_id) == ("lead", "leads", "unprocessed")
    assert (lead.title, lead.responsible_id, lead.emails) == (
        "Quote for 40 chairs",
        "anna",
        ["pyotr@newclient.test"],
    )
    (mail,) = timeline(crm, lead, "email_received")
    assert mail["data"]["from"] == "pyotr@newclient.test" and mail["data"]["subject"] == "Quote for 40 chairs"
    # The leads pipeline has no incoming_email trigger: the new lead stays in its first stage
    assert [e["outcome"] for e in journal_of(lead)] == ["no_trigger_of_type"]


def test_a_new_item_in_a_pipeline_with_the_trigger_is_created_and_moved(crm):
    from crm.service import sources

    sources.update_settings(
        "demo", "mail", {"unknown_contact": "create_item", "item_type": "deal", "pipeline_id": "sales"}
    )
    stranger = message(sender=STRANGER, subject="", message_id="<no-subject@newclient.test>")
    assert deliver([crm["address"]], stranger) == outcome(recorded=1, moved=1, new_items=1)
    (summary,) = found("pyotr@newclient.test")
    assert summary.title == f"Mail from {STRANGER}"
    assert stage(summary) == "wrote"


def test_with_the_default_setting_an_unknown_sender_creates_nothing_and_is_journaled(crm):
    stranger = message(sender=STRANGER, message_id="<ignored@newclient.test>")
    assert deliver([crm["address"]], stranger) == outcome()
    assert found("pyotr@newclient.test") == []
    (entry,) = tenant_journal()
    assert entry["outcome"] == "no_item" and entry["note"] == "no item has email pyotr@newclient.test"


def test_a_setting_whose_pipeline_was_deleted_since_is_journaled_and_creates_nothing(crm):
    from crm.service import configuration

    configuration.create_pipeline(
        "demo", {"id": "web", "item_type": "lead", "name": "Web", "stages": [{"name": "New"}]}
    )
    create_leads()
    from crm.service import sources

    sources.update_settings(
        "demo", "mail", {"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "web"}
    )
    configuration.delete_pipeline("demo", "web")
    stranger = message(sender=STRANGER, message_id="<gone@newclient.test>")
    assert deliver([crm["address"]], stranger) == outcome()
    assert found("pyotr@newclient.test") == []
    assert "creating one was refused" in tenant_journal()[0]["note"]


def test_an_unknown_sender_costs_the_settings_read_the_create_and_the_event(crm, dynamodb):
    create_leads()
    dynamodb.calls.clear()
    deliver([crm["address"]], message(sender=STRANGER, message_id="<cost@newclient.test>"))
    assert operations(dynamodb) == [
        "Query",  # the contact index (shared with the trigger event): nobody
        "GetItem",  # the mail source's settings
        "UpdateItem",  # the new lead's id
        # the lead, its contact index record, its once-record, and the check that the employee it is
        # given to is still as the container kept her (active)
        "TransactWriteItems",
        "TransactWriteItems",  # the event on the lead: journal, once-record, the mail and its marker
    ]


# ---------------------------------------------------------------- who may fire a trigger


def test_unauthenticated_mail_is_journaled_for_the_tenant_and_never_applied(crm):
    create_leads()
    # Given mail that claims to be Ivan's and mail from a stranger, neither authenticated
    assert deliver([crm["address"]], **FAILED) == outcome(unverified=1)
    forged = message(sender=STRANGER, message_id="<forged@newclient.test>")
    assert deliver([crm["address"]], forged, ses_id="forged-stranger-1", **FAILED) == outcome(unverified=1)
    # Then nothing moved, no lead was created, and the journal says why, once per message
    assert deliver([crm["address"]], **FAILED) == outcome(unverified=0)
    assert stage(crm["deal"]) == "new" and journal_of(crm["deal"]) == []
    assert found("pyotr@newclient.test") == []
    entries = tenant_journal()
    assert len(entries) == 2 and {e["outcome"] for e in entries} == {"no_item"}
    ivan = next(e for e in entries if e["event"]["contact"]["value"] == "ivan.petrov@client.test")
    assert ivan["note"].startswith("not applied: SES's verdicts do not authenticate the sender")
    assert "dmarc=FAIL" in ivan["note"] and ivan["event"]["type"] == "incoming_email"


def test_mail_without_one_from_address_is_kept_unverified_with_no_journal_entry(crm):
    raw = b"From: a@client.test, b@client.test\r\nMessage-ID: <two-froms@client.test>\r\n\r\nHello"
    assert deliver([crm["address"]], raw) == outcome(unverified=1)
    assert tenant_journal() == []


# ---------------------------------------------------------------- replies to mail the CRM sent


@pytest.fixture
def second_deal(crm):
    from crm.service import items

    return items.create_item(
        "demo",
        "deal",
        {"title": "Crane rental", "emails": ["ivan.petrov@client.test"], "responsible_id": "anna"},
    )


def sent_id(item) -> str:
    from crm.service import outbound_mail

    return outbound_mail.reply_id("demo", ItemRef(item.type, item.id), "AbCdEfGhIjKlMnOp", "mail.demo.test")


def test_a_reply_to_crm_mail_moves_that_deal_not_every_deal_of_the_sender(crm, second_deal):
    crm_mail = sent_id(second_deal)
    reply = message(In_Reply_To=crm_mail, References=f"<older@client.test> {crm_mail}")

    assert deliver([crm["address"]], reply) == outcome(recorded=3, moved=1)

    assert stage(second_deal) == "wrote" and stage(crm["deal"]) == "new"
    assert journal_of(crm["deal"]) == []
    (entry,) = journal_of(second_deal)
    assert entry["event"]["item"] == {"type": "deal", "id": second_deal.id}
    assert entry["event"]["contact"] is None
    assert entry["event"]["data"]["reply_to"] == crm_mail
    assert len(timeline(crm, crm["deal"], "email_received")) == 1  # still on all of Ivan's items


def test_a_reply_from_another_address_reaches_the_deal_and_creates_no_lead(crm):
    create_leads()
    colleague = message(sender="Olga <olga@client.test>", In_Reply_To=sent_id(crm["deal"]))

    assert deliver([crm["address"]], colleague, envelope="olga@client.test") == outcome(recorded=1, moved=1)

    assert stage(crm["deal"]) == "wrote"
    (mail,) = timeline(crm, crm["deal"], "email_received")
    assert mail["data"]["from"] == "olga@client.test"
    assert found("olga@client.test") == []


def test_a_reply_costs_the_senders_items_and_the_event_by_reference(crm, dynamodb):
    reply = message(In_Reply_To=sent_id(crm["deal"]))
    dynamodb.calls.clear()
    assert deliver([crm["address"]], reply) == outcome(recorded=2, moved=1)
    # Ivan's items, then the event by reference: the deal, and its transaction with the mail on
    # Ivan's items (the tenant's signing key is kept by the warm container that verified the reply's id)
    assert operations(dynamodb) == ["Query", "GetItem", "TransactWriteItems"]


def test_only_replies_leaves_a_new_thread_and_an_unsigned_reply_out(crm, second_deal):
    from crm.service import rules

    rules.update_rule(
        "demo",
        "deal",
        "sales",
        rules.RuleKind.TRIGGER,
        crm["trigger"],
        {
            "type_code": "incoming_email",
            "stage_id": "wrote",
            "name": "Client replied",
            "params": {"only_replies": True},
        },
    )
    forged = sent_id(second_deal).replace("<", "<x")  # not signed by the CRM
    assert deliver([crm["address"]], message(In_Reply_To=forged)) == outcome(recorded=3)
    assert stage(crm["deal"]) == stage(second_deal) == "new"
    assert {v["verdict"] for e in journal_of(crm["deal"]) for v in e["verdicts"]} == {"params_mismatch"}

    reply = message(message_id="<signed-reply@client.test>", In_Reply_To=sent_id(second_deal))
    assert deliver([crm["address"]], reply, ses_id="signed-reply-1") == outcome(recorded=3, moved=1)
    assert stage(second_deal) == "wrote" and stage(crm["deal"]) == "new"


# ---------------------------------------------------------------- the settings API


def api(crm, method: str, path: str, body=None):
    return crm["gateway"].call(method, path, body, crm["key"])


def test_the_settings_api_lists_reads_and_replaces_a_sources_settings(crm):
    listed = api(crm, "GET", "/automation/sources")
    assert listed.status == 200
    never_set = {"unknown_contact": "ignore", "item_type": None, "pipeline_id": None, "responsible_id": None}
    assert listed.body == [
        {"source": source, **never_set, "updated_at": None} for source in ("mail", "telephony")
    ]
    put = api(crm, "PUT", "/automation/sources/mail", CREATE_LEADS)
    assert put.status == 200, put.body
    assert {k: put.body[k] for k in CREATE_LEADS} == CREATE_LEADS and put.body["updated_at"]
    assert api(crm, "GET", "/automation/sources/mail").body == put.body
    telephony = {"source": "telephony", **never_set, "updated_at": None}
    assert api(crm, "GET", "/automation/sources").body == [put.body, telephony]
    back = api(crm, "PUT", "/automation/sources/mail", {"unknown_contact": "ignore"})
    assert back.status == 200 and back.body["item_type"] is None


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"unknown_contact": "create_item", "item_type": "quote", "pipeline_id": "leads"}, "leads"),
        ({"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "sales"}, "holds deal items"),
        (
            {"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "nope"},
            "'nope' does not exist",
        ),
        (
            {"unknown_contact": "create_item", "item_type": "robot", "pipeline_id": "leads"},
            "'robot' does not",
        ),
        ({**CREATE_LEADS, "responsible_id": "nobody"}, "employee 'nobody' does not exist"),
        ({"unknown_contact": "create_item", "item_type": "lead"}, "pipeline_id: required"),
        ({"unknown_contact": "ignore", "item_type": "lead"}, "only with unknown_contact"),
        ({"unknown_contact": "create"}, "unknown_contact"),
        ({"item_type": "lead", "pipeline_id": "leads"}, "unknown_contact"),
        ({"unknown_contact": "ignore", "colour": "red"}, "colour"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_422_and_change_nothing(crm, body, message_part):
    answer = api(crm, "PUT", "/automation/sources/mail", body)
    assert answer.status == 422, answer.body
    assert message_part in answer.body["message"] or message_part in str(answer.body.get("errors"))
    assert api(crm, "GET", "/automation/sources/mail").body["updated_at"] is None


def test_an_inactive_employee_cannot_be_given_the_new_items(crm):
    from crm.service import configuration

    configuration.update_employee("demo", "anna", {"active": False})
    answer = api(crm, "PUT", "/automation/sources/mail", CREATE_LEADS)
    assert answer.status == 422 and "inactive" in answer.body["message"]


def test_a_source_there_is_not_is_404(crm):
    assert api(crm, "GET", "/automation/sources/fax").status == 404
    assert api(crm, "PUT", "/automation/sources/fax", {"unknown_contact": "ignore"}).status == 404
    assert api(crm, "GET", "/automation/sources/FAX").status == 422  # not a source code at all


def test_settings_are_the_tenants_own(crm):
    from crm.service.tenants import create_tenant

    assert api(crm, "PUT", "/automation/sources/mail", CREATE_LEADS).status == 200
    other = create_tenant("Globex", "globex").api_key
    assert (
        crm["gateway"].call("GET", "/automation/sources/mail", None, other).body["unknown_contact"]
        == "ignore"
    )
