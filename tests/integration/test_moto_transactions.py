"""moto's DynamoDB as the local runtime and the tests use it (``infra.moto_dynamodb``): concurrent
writers lose nothing, a cancelled transaction changes nothing (items or stream), and the
cancellation reasons are DynamoDB's."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.conftest import REGION

TABLE = "writes"
FILLER = 300  # items already in the table, so a transaction has something to copy


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for start in range(0, FILLER, 25):
            client.batch_write_item(
                RequestItems={
                    TABLE: [
                        {"PutRequest": {"Item": _item(f"filler#{n}", "ITEM", title={"S": "x" * 400})}}
                        for n in range(start, start + 25)
                    ]
                }
            )
        yield client


def _item(pk: str, sk: str, **attributes) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **attributes}


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _all(client) -> dict[tuple[str, str], dict]:
    pages = client.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
    return {(i["pk"]["S"], i["sk"]["S"]): i for page in pages for i in page["Items"]}


def _stream(client) -> tuple[object, str]:
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")
    return streams, iterator["ShardIterator"]


def _cancelled(error: ClientError) -> list[dict]:
    assert error.response["Error"]["Code"] == "TransactionCanceledException", error.response
    return error.response["CancellationReasons"]


def test_concurrent_writers_lose_no_acknowledged_write(dynamodb):
    # Given a counter item, and writers of every kind the application has
    dynamodb.put_item(TableName=TABLE, Item=_item("counter", "ITEM", n={"N": "0"}))
    acknowledged: list[tuple[str, str]] = []
    increments = itertools.count()
    cancelled = itertools.count()
    lock = threading.Lock()

    def item_transaction(n: int) -> None:
        # An item, its timeline entry and the shared counter, as the items adapter writes them.
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": _item(f"item#{n}", "ITEM", version={"N": "1"}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": TABLE, "Item": _item(f"item#{n}", "TL#1")}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("counter", "ITEM"),
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
        next(increments)
        with lock:
            acknowledged.extend([(f"item#{n}", "ITEM"), (f"item#{n}", "TL#1")])

    def plain_put(n: int) -> None:
        dynamodb.put_item(TableName=TABLE, Item=_item(f"put#{n}", "ITEM"))
        with lock:
            acknowledged.append((f"put#{n}", "ITEM"))

    def update(n: int) -> None:
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key("counter", "ITEM"),
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        next(increments)

    def cancelled_transaction(n: int) -> None:
        # A new item, then a condition that fails: the item must not appear, the counter must not move.
        with pytest.raises(ClientError) as error:
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": _item(f"ghost#{n}", "ITEM")}},
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": _key("counter", "ITEM"),
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        assert [r["Code"] for r in _cancelled(error.value)] == ["None", "ConditionalCheckFailed"]
        next(cancelled)

    writers = [item_transaction, plain_put, update, cancelled_transaction]
    jobs = [(writers[n % len(writers)], n) for n in range(240)]

    # When they all write at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(writer, n) for writer, n in jobs]:
            future.result()

    # Then every acknowledged write is there, the counter counts every acknowledged increment,
    # and nothing of the cancelled transactions is
    stored = _all(dynamodb)
    missing = [key for key in acknowledged if key not in stored]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged writes lost"
    assert int(stored[("counter", "ITEM")]["n"]["N"]) == next(increments)
    assert not [key for key in stored if key[0].startswith("ghost#")]
    assert next(cancelled) == 60
    assert len([key for key in stored if key[0].startswith("filler#")]) == FILLER


def test_a_cancelled_transaction_leaves_items_and_stream_untouched(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item=_item("deal#1", "ITEM", stage={"S": "new"}, version={"N": "1"}))
    streams, iterator = _stream(dynamodb)
    before = _all(dynamodb)

    # When a transaction moves the deal and writes its timeline entry, but another item's check fails
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("deal#1", "ITEM"),
                        "UpdateExpression": "SET stage = :to, version = version + :one",
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {
                            ":to": {"S": "won"},
                            ":one": {"N": "1"},
                            ":v": {"N": "1"},
                        },
                    }
                },
                {"Put": {"TableName": TABLE, "Item": _item("deal#1", "TL#2", kind={"S": "stage_changed"})}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("pipeline#sales", "CONFIG"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    # Then nothing changed and the stream has no record of it
    assert [r["Code"] for r in _cancelled(error.value)] == ["None", "None", "ConditionalCheckFailed"]
    assert _all(dynamodb) == before
    page = streams.get_records(ShardIterator=iterator)
    assert page["Records"] == []
    # And the stream the readers hold goes on: a later write is seen through the same iterator
    dynamodb.put_item(TableName=TABLE, Item=_item("deal#2", "ITEM"))
    later = streams.get_records(ShardIterator=page["NextShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in later] == ["deal#2"]


def test_an_action_failing_after_others_were_applied_rolls_them_back(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item=_item("deal#1", "ITEM", title={"S": "Chairs"}))
    streams, iterator = _stream(dynamodb)
    before = _all(dynamodb)

    # The second action passes its (absent) condition but cannot be applied: title is a string.
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item("deal#9", "ITEM")}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _key("deal#1", "ITEM"),
                        "UpdateExpression": "SET title = title + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    assert _all(dynamodb) == before
    assert streams.get_records(ShardIterator=iterator)["Records"] == []


def test_cancellation_reasons_are_dynamodbs(dynamodb):
    dynamodb.put_item(TableName=TABLE, Item=_item("deal#1", "ITEM", version={"N": "3"}))

    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item("deal#2", "ITEM")}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("deal#1", "ITEM"),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {
                    "Delete": {
                        "TableName": TABLE,
                        "Key": _key("deal#3", "ITEM"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    assert _cancelled(error.value) == [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": _item("deal#1", "ITEM", version={"N": "3"}),
        },
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
    ]
    assert ("deal#2", "ITEM") not in _all(dynamodb)


def test_two_actions_on_one_item_are_refused_as_a_validation_error(dynamodb):
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item("deal#1", "ITEM")}},
                {"Delete": {"TableName": TABLE, "Key": _key("deal#1", "ITEM")}},
            ]
        )

    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert ("deal#1", "ITEM") not in _all(dynamodb)
