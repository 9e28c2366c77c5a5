"""Writes at the floor (issue 8): what a warm container keeps (item types, default pipelines,
pipelines, mailbox tokens) is checked inside the write that relies on it, so a stale copy costs a
retry and never a wrong item; a create with an Idempotency-Key is one transaction with its answer;
a look-up by contact is the contact index's Query alone; inbound mail for all of a sender's items
is one transaction with its trigger event's decision, and a redelivery one refused transaction."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.client import BaseClient

from crm.domain.errors import Invalid
from tests.gateway import Gateway
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_inbound_mail import (  # noqa: F401 - mailbox: a fixture
    deliver,
    mail_entries,
    mailbox,
    message,
    outcome,
)

SOURCE_REQUIRED = [{"code": "source", "name": "Source", "type": "string", "required": True}]


@pytest.fixture
def sales(aws):
    from crm.service import configuration, items

    configuration.create_pipeline(
        "acme",
        {
            "id": "sales",
            "item_type": "deal",
            "name": "Sales",
            "stages": [{"name": "New"}, {"name": "Won", "semantic": "success"}],
        },
    )
    # A warm container: it has created an item, so it keeps the type, the default and the pipeline.
    items.create_item("acme", "deal", {"title": "Warm-up"})


@pytest.fixture
def inbound(mailbox):  # noqa: F811 - the fixture: a tenant with a deal and a lead of one sender
    return mailbox


def operations(dynamodb) -> list[str]:
    return [operation for operation, _ in dynamodb.calls]


@pytest.fixture
def transactions(monkeypatch):
    """The TransactItems of every TransactWriteItems call, by kind of action."""
    seen: list[list[str]] = []
    original = BaseClient._make_api_call

    def call(client, operation, params):
        if operation == "TransactWriteItems":
            seen.append([next(iter(action)) for action in params["TransactItems"]])
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    return seen


# ---------------------------------------------------------------- create: 2 calls, checked


def test_a_warm_create_is_the_id_counter_and_one_transaction(sales, dynamodb):
    from crm.service import items

    items.create_item("acme", "deal", {"title": "Forklift", "emails": ["buyer@client.test"]})
    assert operations(dynamodb) == ["UpdateItem", "TransactWriteItems"]
    dynamodb.calls.clear()
    items.create_item("acme", "deal", {"title": "Crane"}, idempotency_key="form-7")
    assert operations(dynamodb) == ["UpdateItem", "TransactWriteItems"]


def test_a_create_refused_for_its_size_uses_up_no_id_number(sales):
    from crm.domain.errors import CrmError
    from crm.service import configuration, items

    fields = [{"code": f"note{n}", "name": f"Note {n}", "type": "string", "multiple": True} for n in range(4)]
    configuration.update_item_type("acme", "deal", {"fields": fields})
    huge = {f"note{n}": ["x" * 2_000] * 20 for n in range(4)}  # each value within its caps, 160 KB in all
    before = items.create_item("acme", "deal", {"title": "Before"})

    with pytest.raises(CrmError, match=r"too large|KB"):
        items.create_item("acme", "deal", {"title": "Huge", "fields": huge})
    after = items.create_item("acme", "deal", {"title": "After"})

    assert int(after.id) == int(before.id) + 1


def test_a_create_on_a_stale_item_type_is_decided_again_on_the_stored_one(sales, dynamodb):
    from crm.adapters import automation
    from crm.service import configuration, items

    stale = automation.get_stored_item_type("acme", "deal", fresh=False)
    # Given another container making a field of deals required, this one still keeping the old type
    configuration.update_item_type("acme", "deal", {"fields": SOURCE_REQUIRED})
    automation._item_types[("acme", "deal")] = stale
    # When an item without it is created here
    dynamodb.calls.clear()
    with pytest.raises(Invalid, match="'source' is required"):
        items.create_item("acme", "deal", {"title": "No source"})
    # Then the write decided on the old type was refused, and the stored type refused the item
    # (the default pipeline, the pipeline and the type read afresh for the retry)
    assert operations(dynamodb) == ["UpdateItem", "TransactWriteItems", "GetItem", "Query", "GetItem"]
    # And an item naming the new field is judged by the stored type, not refused by the old one
    automation._item_types[("acme", "deal")] = stale
    created = items.create_item("acme", "deal", {"title": "From the web", "fields": {"source": "web"}})
    assert items.get_item("acme", "deal", created.id).fields == {"source": "web"}


def test_item_type_changes_are_versioned_and_never_lost(sales):
    from crm.adapters import automation
    from crm.domain.errors import StaleWrite
    from crm.service import configuration

    first = configuration.item_type("acme", "deal")
    assert first.version == 0  # a built-in type nobody has customised
    configuration.update_item_type("acme", "deal", {"fields": SOURCE_REQUIRED})
    assert configuration.item_type("acme", "deal").version == 1
    # A change decided on the version before is refused, not written over the other one.
    with pytest.raises(StaleWrite):
        automation.save_item_type("acme", first)
    assert [f.code for f in configuration.item_type("acme", "deal").fields] == ["source"]


def test_a_type_stored_before_versions_is_read_and_checked_as_version_0(sales):
    from crm.adapters import automation
    from crm.adapters.tables import ItemTypeRecord
    from crm.service import configuration, items

    # An item type record as written before types had versions
    data = configuration.item_type("acme", "deal").to_dict()
    ItemTypeRecord(pk="acme#TYPES", sk="deal", item_type={**data, "name": "Opportunity"}).save()
    automation.forget_item_type("acme", "deal")
    assert configuration.item_type("acme", "deal").version == 0
    assert items.create_item("acme", "deal", {"title": "Still fine"}).type == "deal"
    assert configuration.update_item_type("acme", "deal", {"name": "Deal"}).name == "Deal"
    assert configuration.item_type("acme", "deal").version == 1


def test_a_create_after_the_default_pipeline_moved_lands_in_the_new_default(sales):
    from crm.adapters import automation
    from crm.adapters.tables import DefaultPipelineRecord
    from crm.service import configuration, items

    configuration.create_pipeline(
        "acme", {"id": "wholesale", "item_type": "deal", "name": "Wholesale", "stages": [{"name": "New"}]}
    )
    assert automation.default_pipeline_id("acme", "deal", fresh=False) == "sales"
    # Given another container making Wholesale the deals' default (Sales stays as it is)
    DefaultPipelineRecord(pk="acme#PIPELINES", sk="DEFAULT#deal", pipeline_id="wholesale").save()
    # When this container, which keeps Sales as the default, creates a deal in no named pipeline
    created = items.create_item("acme", "deal", {"title": "Pallets"})
    # Then it lands in the default as stored
    assert created.pipeline_id == "wholesale"
    assert items.get_item("acme", "deal", created.id).pipeline_id == "wholesale"


def test_a_create_after_the_default_pipeline_was_deleted_lands_in_the_next_one(sales):
    from crm.adapters import automation
    from crm.service import configuration, items

    configuration.create_pipeline(
        "acme", {"id": "wholesale", "item_type": "deal", "name": "Wholesale", "stages": [{"name": "New"}]}
    )
    kept_config = automation.load("acme", "sales")
    # Given another container deleting Sales (Wholesale takes over as the default)
    items.delete_item("acme", "deal", "1")
    configuration.delete_pipeline("acme", "sales")
    automation._defaults[("acme", "deal")] = "sales"
    automation._cache[("acme", "sales")] = kept_config
    # Then an item is never created in the deleted pipeline
    assert items.create_item("acme", "deal", {"title": "Pallets"}).pipeline_id == "wholesale"


# ---------------------------------------------------------------- create: the employees it names


@pytest.fixture
def mia(sales):
    """An active employee a warm container has given an item to (so it keeps her)."""
    from crm.service import configuration, items

    configuration.create_employee("acme", {"id": "mia", "name": "Mia", "email": "mia@acme.example"})
    items.create_item("acme", "deal", {"title": "Warm-up", "responsible_id": "mia"})
    return "mia"


def test_a_create_naming_a_kept_employee_checks_her_in_its_transaction_without_reading(
    mia, dynamodb, transactions
):
    from crm.service import items

    dynamodb.calls.clear()
    items.create_item("acme", "deal", {"title": "Forklift", "responsible_id": mia}, by=mia)
    assert operations(dynamodb) == ["UpdateItem", "TransactWriteItems"]
    # the pipeline, the type, the default pipeline, and Mia (once, responsible and acting)
    assert transactions[-1].count("ConditionCheck") == 4


def test_a_kept_employee_deactivated_elsewhere_is_refused_and_nothing_is_created(mia, dynamodb):
    from crm.service import configuration, items

    # Given another container deactivating Mia after this one kept her
    configuration.update_employee("acme", mia, {"active": False})
    dynamodb.calls.clear()
    # When this container gives her a new deal
    with pytest.raises(Invalid, match="'mia' is inactive"):
        items.create_item("acme", "deal", {"title": "Forklift", "responsible_id": mia})
    # Then its write was refused on her record, and her record as stored refused the deal
    assert operations(dynamodb)[:2] == ["UpdateItem", "TransactWriteItems"]
    assert [i.title for i in items.list_items("acme", "deal", None, None, 50, None)[0]] == ["Warm-up"] * 2
    # And the container keeps her no more: the next create reads her (and is refused at once)
    dynamodb.calls.clear()
    with pytest.raises(Invalid, match="inactive"):
        items.create_item("acme", "deal", {"title": "Crane", "responsible_id": mia})
    assert operations(dynamodb) == ["GetItem"]


def test_a_kept_employee_changed_elsewhere_but_active_still_gets_the_item(mia):
    from crm.adapters.tables import EmployeeRecord
    from crm.service import configuration, items

    configuration.update_employee("acme", mia, {"name": "Mia Wallace"})
    created = items.create_item("acme", "deal", {"title": "Forklift", "responsible_id": mia})
    assert items.get_item("acme", "deal", created.id).responsible_id == mia
    # A record stored in another form than this version writes (a field it lacks) is no obstacle either
    EmployeeRecord(
        pk="acme#EMPLOYEES", sk=mia, employee={"id": mia, "name": "Mia", "email": "m@acme.test"}
    ).save()
    assert items.create_item("acme", "deal", {"title": "Crane", "responsible_id": mia}).responsible_id == mia


# ---------------------------------------------------------------- Idempotency-Key


def test_a_retry_with_the_same_key_answers_the_first_item_as_it_was_then(sales, dynamodb):
    from crm.service import items

    first = items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="form-42")
    items.update_item("acme", "deal", first.id, {"title": "Two forklifts"})
    dynamodb.calls.clear()
    again = items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="form-42")
    assert again == first
    # the id counter, the refused transaction, the read of the answer
    assert operations(dynamodb) == ["UpdateItem", "TransactWriteItems", "GetItem"]
    titles = [i.title for i in items.list_items("acme", "deal", None, None, 50, None)[0]]
    assert titles == ["Warm-up", "Two forklifts"]


def test_a_retry_refused_by_todays_state_still_answers_the_item_the_first_request_created(sales):
    from crm.service import configuration, items

    manager = configuration.create_employee("acme", {"name": "Mia", "email": "mia@acme.example"})
    first = items.create_item(
        "acme", "deal", {"title": "Forklift", "responsible_id": manager.id}, idempotency_key="form-7"
    )
    # The answer was lost; meanwhile the responsible left, so the same request is no longer valid.
    configuration.update_employee("acme", manager.id, {"active": False})
    with pytest.raises(Invalid, match="inactive"):
        items.create_item("acme", "deal", {"title": "Forklift", "responsible_id": manager.id})

    again = items.create_item(
        "acme", "deal", {"title": "Forklift", "responsible_id": manager.id}, idempotency_key="form-7"
    )

    assert again == first
    assert len(items.list_items("acme", "deal", None, None, 50, None)[0]) == 2  # the warm-up and it


def test_the_same_key_with_another_request_is_refused_and_creates_nothing(sales):
    from crm.service import configuration, items

    items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="form-42")
    for other in ({"title": "Crane"}, {"title": "Forklift", "amount": 10}):
        with pytest.raises(Invalid, match="Idempotency-Key was used with another request"):
            items.create_item("acme", "deal", other, idempotency_key="form-42")
    configuration.create_pipeline("acme", {"item_type": "lead", "name": "Leads", "stages": [{"name": "New"}]})
    with pytest.raises(Invalid, match="another request"):
        items.create_item("acme", "lead", {"title": "Forklift"}, idempotency_key="form-42")
    assert len(items.list_items("acme", "deal", None, None, 50, None)[0]) == 2


def test_a_key_creates_again_once_its_record_has_expired(sales):
    from crm.domain import clock
    from crm.service import items

    now = clock.FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    clock.use_clock(now)
    try:
        first = items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="form-42")
        now.advance(timedelta(hours=23))
        assert items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="form-42") == first
        # (DynamoDB's TTL deletes expired records within days: until then the condition lets them go)
        now.advance(timedelta(hours=2))
        later = items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="form-42")
    finally:
        clock.use_clock(clock.SystemClock())
    assert later.id != first.id


def test_concurrent_requests_with_one_key_create_one_item(sales):
    from crm.service import items

    answers, errors = [], []

    def create():
        try:
            answers.append(items.create_item("acme", "deal", {"title": "Forklift"}, idempotency_key="k"))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({item.id for item in answers}) == 1
    assert len(items.list_items("acme", "deal", None, None, 50, None)[0]) == 2


def test_a_keyed_create_answers_201_with_the_same_body_through_the_api(sales):
    from crm.service.tenants import create_tenant

    api, key = Gateway(), create_tenant("Acme", "acme").api_key
    headers = {"Idempotency-Key": "webform-submission-9"}
    body = {"title": "From the webform", "emails": ["lead@client.test"]}
    first = api.call("POST", "/items/deal", body, key, headers=headers)
    again = api.call("POST", "/items/deal", body, key, headers=headers)
    assert first.status == again.status == 201 and again.body == first.body
    refused = api.call("POST", "/items/deal", {**body, "title": "Else"}, key, headers=headers)
    assert refused.status == 422 and "Idempotency-Key" in refused.body["message"]


# ---------------------------------------------------------------- look-up by contact: 1 Query


def test_a_look_up_by_contact_is_one_query_answering_each_items_summary(sales, dynamodb):
    from crm.service import configuration, items

    configuration.create_pipeline("acme", {"item_type": "lead", "name": "Leads", "stages": [{"name": "New"}]})
    deal = items.create_item("acme", "deal", {"title": "Forklift", "emails": ["Ivan@Client.test"]})
    lead = items.create_item("acme", "lead", {"title": "Ivan", "emails": ["ivan@client.test"]})
    dynamodb.calls.clear()
    found = items.find_by_contact("acme", "IVAN@client.test", None)
    assert operations(dynamodb) == ["Query"]
    assert [(s.type, s.id, s.title, s.pipeline_id) for s in found] == [
        ("deal", deal.id, "Forklift", "sales"),
        ("lead", lead.id, "Ivan", "leads"),
    ]
    assert found[0].created_at == deal.created_at


def test_a_new_title_reaches_every_contact_record_and_a_stage_move_writes_none(sales, transactions):
    from crm.domain.model import Cause, CauseKind
    from crm.domain.transitions import MoveRequest
    from crm.service import items

    deal = items.create_item(
        "acme",
        "deal",
        {"title": "Forklift", "emails": ["a@client.test", "b@client.test"], "phones": ["+4930123456"]},
    )
    transactions.clear()
    items.move_stage("acme", "deal", deal.id, MoveRequest("won", Cause(CauseKind.API)))
    # the item, its timeline entry and the pipeline check: no contact record
    assert sorted(transactions[0]) == ["ConditionCheck", "Put", "Put"]
    transactions.clear()
    items.update_item("acme", "deal", deal.id, {"title": "Two forklifts"})
    assert sorted(transactions[0]) == ["Put"] * 5
    for email, phone in (("a@client.test", None), ("b@client.test", None), (None, "+4930123456")):
        assert [s.title for s in items.find_by_contact("acme", email, phone)] == ["Two forklifts"]


def test_index_records_written_before_they_carried_summaries_are_still_found(sales, dynamodb):
    from crm.adapters.tables import ContactRecord
    from crm.service import items

    deal = items.create_item("acme", "deal", {"title": "Forklift", "emails": ["old@client.test"]})
    # As the index recorded a contact before: the item's type and id only
    ContactRecord(
        pk="acme#CONTACT#email:old@client.test",
        sk=f"deal#{deal.id}",
        kind="contact",
        tenant_id="acme",
        item_type="deal",
        item_id=deal.id,
    ).save()
    dynamodb.calls.clear()
    (found,) = items.find_by_contact("acme", "old@client.test", None)
    assert (found.id, found.title, found.pipeline_id) == (deal.id, "Forklift", "sales")
    assert operations(dynamodb) == ["Query", "BatchGetItem"]


def test_the_api_answers_a_look_up_with_summaries(sales):
    from crm.service.tenants import create_tenant

    api, key = Gateway(), create_tenant("Acme", "acme").api_key
    created = api.call("POST", "/items/deal", {"title": "Forklift", "emails": ["ivan@client.test"]}, key).body
    found = api.call("GET", "/items?email=ivan@client.test", None, key)
    assert found.status == 200
    assert found.body == [
        {
            "type": "deal",
            "id": created["id"],
            "title": "Forklift",
            "pipeline_id": "sales",
            "created_at": created["created_at"],
        }
    ]


# ---------------------------------------------------------------- inbound mail: 3 calls + S3


# The message is its trigger event (issue 9), written with it; here, without incoming_email triggers:
# the contact index, the event's earlier answers, and the tenant's journal entry with the entries.
MAIL = ["Query", "Query", "TransactWriteItems"]


def test_a_delivery_is_the_floor_of_an_event_by_contact_and_so_is_a_redelivery(inbound, dynamodb):
    gateway, key, address = inbound
    dynamodb.calls.clear()
    assert deliver([address]) == outcome(recorded=2)
    assert operations(dynamodb) == MAIL
    dynamodb.calls.clear()
    assert deliver([address]) == outcome(recorded=0)
    # the redelivery finds the answer the first one got, and its entries are refused by their markers
    assert operations(dynamodb) == MAIL
    assert (
        len(mail_entries(gateway, key, "/items/deal/1"))
        == len(mail_entries(gateway, key, "/items/lead/1"))
        == 1
    )


def test_a_replaced_mailbox_token_works_at_once_and_the_old_one_stops_within_minutes(inbound, dynamodb):
    from crm.adapters import tenants
    from crm.adapters.tables import TenantsTableRecord

    _, _, address = inbound
    old_token, new_token = address.split("+", 1)[1].split("@", 1)[0], "f" * 16
    new_address = address.replace(old_token, new_token)

    def mail_to(to: str, n: int) -> dict:
        return deliver([to], raw=message(to=to, message_id=f"<mail-{n}@client.test>"), ses_id=f"ses-{n}")

    # Given a container that keeps the tenant's token (it answered GET /mailbox), which is then replaced
    TenantsTableRecord(pk="demo", sk="TENANT").update(
        actions=[TenantsTableRecord.mailbox_token.set(new_token)]
    )
    # When mail comes to the old address while the kept token is young, it is taken without a read
    dynamodb.calls.clear()
    assert mail_to(address, 1) == outcome(recorded=2)
    assert operations(dynamodb) == MAIL
    # And mail to the new address is taken at once: the miss reads the token again
    dynamodb.calls.clear()
    assert mail_to(new_address, 2) == outcome(recorded=2)
    assert operations(dynamodb) == ["GetItem", *MAIL]
    # But once a kept old token has aged out, the old address opens nothing
    tenants._tokens["demo"] = (time.monotonic() - 1, old_token)
    assert mail_to(address, 3) == outcome(tenants=0)
    assert mail_to(new_address, 4) == outcome(recorded=2)


def test_a_sender_with_more_items_than_a_transaction_holds_gets_the_mail_on_each(inbound):
    from crm.service import items

    gateway, key, address = inbound
    for n in range(60):
        items.create_item("demo", "deal", {"title": f"Deal {n}", "emails": ["ivan.petrov@client.test"]})
    assert deliver([address]) == outcome(recorded=62)
    assert deliver([address]) == outcome(recorded=0)
    assert len(mail_entries(gateway, key, "/items/deal/61")) == 1
