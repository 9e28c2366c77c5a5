"""What a refused DynamoDB call means: a failed condition is a domain refusal (a version conflict
is StaleWrite, a once-only marker is AlreadyRecorded); a throttled call (after botocore's retries)
is Throttled and an item over DynamoDB's 400 KB is TooLarge, for every call of every adapter, and
the API answers them 503 (with Retry-After) and 413; any other refusal propagates as itself. None
is ever taken for "changed meanwhile", and a refused write changes nothing."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import TransactWriteError

from crm.domain.errors import StaleWrite, Throttled, TooLarge
from tests.gateway import Gateway
from tests.integration.dynamodb_faults import (  # noqa: F401 - a fixture
    ITEM_TOO_LARGE,
    cancelled,
    dynamodb_faults,
    refused,
)

THROTTLED = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded")


@pytest.fixture
def deal(aws):
    from crm.service import configuration, items

    configuration.create_pipeline("acme", {"item_type": "deal", "name": "Sales", "stages": [{"name": "New"}]})
    return items.create_item("acme", "deal", {"title": "Forklift", "emails": ["buyer@client.test"]})


def update(deal):
    from crm.service import items

    return items.update_item(
        "acme", "deal", deal.id, {"title": "Two forklifts"}, expected_version=deal.version
    )


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_throttled_update_is_throttled_not_a_version_conflict(deal, dynamodb, reason):
    dynamodb.fail["TransactWriteItems"] = cancelled(reason, "None")
    with pytest.raises(Throttled) as raised:
        update(deal)
    assert raised.value.__cause__.cancellation_reasons[0].code == reason


def test_an_invalid_write_propagates(deal, dynamodb):
    dynamodb.fail["TransactWriteItems"] = cancelled("ValidationError", "None")
    with pytest.raises(TransactWriteError):
        update(deal)


def test_a_failed_version_condition_or_a_conflicting_transaction_is_a_stale_write(deal, dynamodb):
    for reasons in (("ConditionalCheckFailed", "None"), ("TransactionConflict", "None")):
        dynamodb.fail["TransactWriteItems"] = cancelled(*reasons)
        with pytest.raises(StaleWrite):
            update(deal)
    dynamodb.fail.clear()
    assert update(deal).title == "Two forklifts"


def test_a_throttled_comment_is_throttled_not_already_recorded(deal, dynamodb):
    from crm.service import items

    dynamodb.fail["PutItem"] = refused("ProvisionedThroughputExceededException", "PutItem")
    with pytest.raises(Throttled):
        items.add_comment("acme", "deal", deal.id, "Call back on Monday", None)


def _reads_and_writes(deal):
    from crm.service import configuration, items, tenants

    return {
        "GetItem": lambda: items.get_item("acme", "deal", deal.id),
        "Query": lambda: configuration.pipelines("acme", "deal"),
        # (a look-up by contact is the index's Query alone; the authorizer's key check batch-reads)
        "BatchGetItem": lambda: tenants.authenticate(f"crm_acme_{'a' * 8}_{'0' * 48}"),
        "UpdateItem": lambda: items.create_item("acme", "deal", {"title": "Crane"}),
        "PutItem": lambda: items.add_comment("acme", "deal", deal.id, "Call back", None),
        "TransactWriteItems": lambda: update(deal),
    }


@pytest.mark.parametrize("code", THROTTLED)
@pytest.mark.parametrize(
    "operation", ["GetItem", "Query", "BatchGetItem", "UpdateItem", "PutItem", "TransactWriteItems"]
)
def test_every_throttled_call_is_throttled(deal, dynamodb, operation, code):
    # Given DynamoDB throttling one kind of call, past botocore's retries
    dynamodb.fail[operation] = refused(code, operation)
    # Then whatever the adapter and the use-case, the caller sees the one meaning
    with pytest.raises(Throttled):
        _reads_and_writes(deal)[operation]()
    assert operation in [called for called, _ in dynamodb.calls]


def test_an_item_over_the_size_limit_is_too_large(deal, dynamodb):
    from crm.service import items

    dynamodb.fail["TransactWriteItems"] = cancelled(ITEM_TOO_LARGE, "None")
    with pytest.raises(TooLarge):
        update(deal)
    dynamodb.fail["PutItem"] = refused("ValidationException", "PutItem", ITEM_TOO_LARGE[1])
    with pytest.raises(TooLarge):
        items.add_comment("acme", "deal", deal.id, "Call back", None)


def test_a_record_over_400_kb_is_too_large_in_the_store_itself(deal):
    from crm.service import items

    # moto refuses the 500 KB entry as DynamoDB does (ValidationException: Item size has exceeded ...)
    with pytest.raises(TooLarge):
        items.add_comment("acme", "deal", deal.id, "x" * 500_000, None)
    assert [e.kind.value for e in items.timeline("acme", "deal", deal.id, 50, None)[0]] == ["created"]


# ---------------------------------------------------------------- what the API answers


@pytest.fixture
def api(deal):
    from crm.service.tenants import create_tenant

    gateway = Gateway()
    gateway.key = create_tenant("Acme", "acme").api_key
    return gateway


def test_a_throttled_store_answers_503_with_retry_after_and_changes_nothing(api, deal, dynamodb):
    # Given the store throttling writes
    dynamodb.fail["TransactWriteItems"] = refused(
        "ProvisionedThroughputExceededException", "TransactWriteItems"
    )
    # When a client changes the deal
    answer = api.call("PATCH", f"/items/deal/{deal.id}", {"title": "Two forklifts"}, api.key)
    # Then it is told to come back, in the API's error shape, and the deal is as it was
    assert answer.status == 503, answer.body
    assert answer.headers["Retry-After"] == "2"
    assert "retry" in answer.body["message"] and answer.body["request_id"]
    dynamodb.fail.clear()
    assert api.call("GET", f"/items/deal/{deal.id}", key=api.key).body["title"] == "Forklift"
    # And reads are throttled the same way
    dynamodb.fail["Query"] = refused("ThrottlingException", "Query")
    assert api.call("GET", "/items/deal", key=api.key).status == 503


def test_a_record_over_the_size_limit_answers_413(api, deal, dynamodb):
    dynamodb.fail["TransactWriteItems"] = cancelled(ITEM_TOO_LARGE, "None")
    answer = api.call("PATCH", f"/items/deal/{deal.id}", {"title": "Two forklifts"}, api.key)
    assert answer.status == 413 and "400 KB" in answer.body["message"], answer.body


def test_the_document_declares_503_with_retry_after_on_every_operation(api):
    spec = api.call("GET", "/openapi.json").body
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            declared = operation["responses"].get("503", {})
            assert "Retry-After" in declared.get("headers", {}), (method, path)
