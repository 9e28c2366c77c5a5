"""The local runtime's event sources on a throwaway template: the DynamoDB stream (shape, partial
failures, bisect, retries, on-failure destination), SQS (partial failures, redrive to the DLQ),
EventBridge rules with function and queue targets, asynchronous retries into a function's DLQ,
schedules fired by the clock, SMTP mail handed over as SES does, and the outbox."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.runtime import Options, Runtime
from tests.e2e.harness import eventually, http, recorded, running, write_app

pytestmark = pytest.mark.e2e

TEMPLATE = """
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Globals:
      Function:
        Runtime: python3.13
        Handler: app.lambda_handler
        Timeout: 5
        Environment:
          Variables:
            RECORD_DIR: "{record_dir}"
    Resources:
      Bus:
        Type: AWS::Events::EventBus
        Properties: {Name: !Sub "test-bus-${AWS::Region}"}
      Table:
        Type: AWS::DynamoDB::Table
        Properties:
          BillingMode: PAY_PER_REQUEST
          AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
          KeySchema: [{AttributeName: pk, KeyType: HASH}]
          StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      StreamDLQ:
        Type: AWS::SQS::Queue
      StreamFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: stream/
          Events:
            Changes:
              Type: DynamoDB
              Properties:
                Stream: !GetAtt Table.StreamArn
                StartingPosition: TRIM_HORIZON
                BatchSize: 10
                MaximumBatchingWindowInSeconds: 1
                BisectBatchOnFunctionError: true
                MaximumRetryAttempts: 1
                FunctionResponseTypes: [ReportBatchItemFailures]
                DestinationConfig:
                  OnFailure: {Type: SQS, Destination: !GetAtt StreamDLQ.Arn}
      WorkQueue:
        Type: AWS::SQS::Queue
        Properties:
          VisibilityTimeout: 1
          RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDLQ.Arn, maxReceiveCount: 2}
      WorkDLQ:
        Type: AWS::SQS::Queue
      QueueFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: queue/
          Events:
            Work:
              Type: SQS
              Properties:
                Queue: !GetAtt WorkQueue.Arn
                BatchSize: 5
                FunctionResponseTypes: [ReportBatchItemFailures]
      RuleFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: rule/
          Events:
            OnPing:
              Type: EventBridgeRule
              Properties:
                EventBusName: !Ref Bus
                Pattern: {source: [test], detail-type: [Ping]}
            Nightly:
              Type: Schedule
              Properties: {Schedule: "cron(0 3 * * ? *)"}
            Hourly:
              Type: ScheduleV2
              Properties: {ScheduleExpression: rate(1 hour), Input: '{"job": "hourly"}'}
      FailingFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: failing/
          EventInvokeConfig: {MaximumRetryAttempts: 1}
          DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt AsyncDLQ.Arn}
          Events:
            OnBoom:
              Type: EventBridgeRule
              Properties:
                EventBusName: !Ref Bus
                Pattern: {source: [test], detail-type: [Boom]}
      AsyncDLQ:
        Type: AWS::SQS::Queue
      PingQueue:
        Type: AWS::SQS::Queue
      PingRule:
        Type: AWS::Events::Rule
        Properties:
          EventBusName: !Ref Bus
          EventPattern: {source: [test]}
          Targets: [{Id: ping-queue, Arn: !GetAtt PingQueue.Arn}]
      MailBucket:
        Type: AWS::S3::Bucket
      MailRuleSet:
        Type: AWS::SES::ReceiptRuleSet
      MailRule:
        Type: AWS::SES::ReceiptRule
        Properties:
          RuleSetName: !Ref MailRuleSet
          Rule:
            Name: inbound
            Enabled: true
            Recipients: [mail.test]
            Actions:
              - S3Action: {BucketName: !Ref MailBucket, ObjectKeyPrefix: raw/}
              - LambdaAction: {FunctionArn: !GetAtt MailFunction.Arn, InvocationType: Event}
      MailFunction:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: mail/
      Sender:
        Type: AWS::SES::EmailIdentity
        Properties: {EmailIdentity: robot@mail.test}
"""

STREAM = """
    def behave(event, context):
        for record in event["Records"]:
            image = record["dynamodb"].get("NewImage", {})
            if "fail" in image:
                raise RuntimeError("poison record")
            if "partial" in image:
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}
"""

QUEUE = """
    def behave(event, context):
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "fail"]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
"""

FAILING = """
    def behave(event, context):
        raise RuntimeError("always")
"""

PLAIN = """
    def behave(event, context):
        return None
"""


@dataclass
class App:
    runtime: Runtime
    template: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.runtime.moto.endpoint,
            region_name="eu-west-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def events(self, function: str) -> list[Any]:
        return recorded(self.template, function)

    def queue(self, name: str) -> list[dict[str, Any]]:
        return http("GET", f"{self.runtime.api_url}/_local/queues/{name}").body


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    handlers = {"stream": STREAM, "queue": QUEUE, "rule": PLAIN, "failing": FAILING, "mail": PLAIN}
    template = write_app(tmp_path_factory.mktemp("sources"), TEMPLATE, handlers)
    options = Options(template=template, api_port=0, smtp_port=0, demo=False, demo_file=None)
    with running(options) as runtime:
        yield App(runtime, template)


def stream_records(app: App) -> list[dict[str, Any]]:
    return [record for event in app.events("StreamFunction") for record in event["Records"]]


def delivered_keys(app: App) -> list[list[str]]:
    return [
        [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]] for event in app.events("StreamFunction")
    ]


def test_stream_records_have_lambdas_shape(app: App) -> None:
    app.client("dynamodb").put_item(
        TableName="Table", Item={"pk": {"S": "shape"}, "blob": {"B": b"\x00\x01"}}
    )

    record = eventually(
        lambda: next((r for r in stream_records(app) if r["dynamodb"]["Keys"]["pk"]["S"] == "shape"), None)
    )

    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventSourceARN"].startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/Table/stream/")
    change = record["dynamodb"]
    assert change["NewImage"]["blob"] == {"B": "AAE="}
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(change["ApproximateCreationDateTime"], int)
    assert change["SequenceNumber"] and change["SizeBytes"] > 0


def test_a_poison_record_is_isolated_retried_and_sent_to_the_on_failure_destination(app: App) -> None:
    # Given four records written at once, the third of which always fails
    items = [{"pk": {"S": key}} for key in ("b1", "b2", "b3-poison", "b4")]
    items[2]["fail"] = {"BOOL": True}
    app.client("dynamodb").transact_write_items(
        TransactItems=[{"Put": {"TableName": "Table", "Item": i}} for i in items]
    )

    # Then the batch is split until the poison record is alone, which is tried twice (one retry)
    # and given up; the other records are delivered
    pointer = eventually(lambda: app.queue("StreamDLQ")["waiting"])
    batches = [keys for keys in delivered_keys(app) if keys and keys[0].startswith("b")]
    assert batches[0] == ["b1", "b2", "b3-poison", "b4"]
    assert ["b1", "b2"] in batches and ["b4"] in batches
    assert batches.count(["b3-poison"]) == 2
    poison = next(r for r in stream_records(app) if r["dynamodb"]["Keys"]["pk"]["S"] == "b3-poison")
    info = json.loads(pointer[0])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert info["DDBStreamBatchInfo"]["startSequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert info["DDBStreamBatchInfo"]["streamArn"] == poison["eventSourceARN"]


def test_a_partial_failure_resumes_from_the_failed_record(app: App) -> None:
    items = [{"pk": {"S": "c1"}}, {"pk": {"S": "c2-partial"}, "partial": {"BOOL": True}}, {"pk": {"S": "c3"}}]
    app.client("dynamodb").transact_write_items(
        TransactItems=[{"Put": {"TableName": "Table", "Item": i}} for i in items]
    )

    def retried() -> list[list[str]] | None:
        batches = [keys for keys in delivered_keys(app) if keys and keys[0].startswith("c")]
        return batches if len(batches) >= 2 else None

    batches = eventually(retried)
    assert batches[0] == ["c1", "c2-partial", "c3"]
    assert batches[1] == ["c2-partial", "c3"]


def test_sqs_partial_failures_are_redelivered_then_dead_lettered(app: App) -> None:
    sqs = app.client("sqs")
    url = sqs.get_queue_url(QueueName="WorkQueue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="ok")
    sqs.send_message(QueueUrl=url, MessageBody="fail")

    dead = eventually(lambda: app.queue("WorkDLQ")["waiting"], timeout=20)

    assert dead == ["fail"]
    bodies = [r["body"] for e in app.events("QueueFunction") for r in e["Records"]]
    assert bodies.count("ok") == 1 and bodies.count("fail") == 2  # maxReceiveCount 2
    record = app.events("QueueFunction")[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:WorkQueue"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_a_bus_rule_invokes_its_function_and_fills_its_queue(app: App) -> None:
    app.client("events").put_events(
        Entries=[
            {
                "Source": "test",
                "DetailType": "Ping",
                "Detail": json.dumps({"n": 1}),
                "EventBusName": "test-bus-eu-west-1",
            }
        ]
    )

    event = eventually(
        lambda: next((e for e in app.events("RuleFunction") if e.get("detail-type") == "Ping"), None)
    )
    queued = eventually(lambda: app.queue("PingQueue")["waiting"])

    assert event["detail"] == {"n": 1}
    assert event["source"] == "test"
    assert json.loads(queued[0])["detail-type"] == "Ping"


def test_an_async_failure_is_retried_then_dead_lettered(app: App) -> None:
    app.client("events").put_events(
        Entries=[
            {"Source": "test", "DetailType": "Boom", "Detail": "{}", "EventBusName": "test-bus-eu-west-1"}
        ]
    )

    dead = eventually(lambda: app.queue("AsyncDLQ")["waiting"])

    assert json.loads(dead[0])["detail-type"] == "Boom"
    assert len(app.events("FailingFunction")) == 2  # the first try and MaximumRetryAttempts: 1


def test_advancing_the_clock_fires_the_schedules_that_fall_due(app: App) -> None:
    answer = http("POST", f"{app.runtime.api_url}/_local/clock", {"advance": "P1D"})

    assert answer.status == 200
    fired = [entry["schedule"] for entry in answer.body["fired"]]
    assert fired.count("RuleFunctionNightly") == 1
    assert fired.count("RuleFunctionHourly") == 24
    scheduled = [e for e in app.events("RuleFunction") if e.get("detail-type") == "Scheduled Event"]
    assert scheduled[0]["source"] == "aws.events"
    assert scheduled[0]["time"].endswith("T03:00:00Z")
    assert {"job": "hourly"} in app.events("RuleFunction")


def test_mail_over_smtp_reaches_the_function_as_an_ses_receipt(app: App) -> None:
    message = EmailMessage()
    message["From"] = "Ann <ann@sender.example>"
    message["To"] = "inbox@mail.test"
    message["Subject"] = "Quote"
    message.set_content("Please send a quote.")

    with smtplib.SMTP("127.0.0.1", app.runtime.smtp.port, timeout=30) as smtp:
        smtp.send_message(message)

    event = eventually(lambda: app.events("MailFunction"))[0]
    record = event["Records"][0]
    assert record["eventSource"] == "aws:ses"
    mail, receipt = record["ses"]["mail"], record["ses"]["receipt"]
    assert mail["source"] == "ann@sender.example"
    assert mail["destination"] == ["inbox@mail.test"]
    assert mail["commonHeaders"]["subject"] == "Quote"
    assert mail["commonHeaders"]["from"] == ["Ann <ann@sender.example>"]
    assert receipt["recipients"] == ["inbox@mail.test"]
    assert receipt["action"]["type"] == "Lambda"
    assert receipt["action"]["invocationType"] == "Event"
    raw = app.client("s3").get_object(Bucket="mailbucket", Key=f"raw/{mail['messageId']}")["Body"].read()
    assert b"Please send a quote." in raw
    assert raw.startswith(b"Return-Path: <ann@sender.example>")


def test_mail_and_sms_sent_by_the_application_are_in_the_outbox(app: App) -> None:
    # Given the template's verified sender identity, as a robot would send
    app.client("ses").send_email(
        Source="robot@mail.test",
        Destination={"ToAddresses": ["client@example.com"]},
        Message={"Subject": {"Data": "Your invoice"}, "Body": {"Text": {"Data": "Please pay."}}},
    )
    app.client("sns").publish(PhoneNumber="+447700900123", Message="Your order has shipped")

    messages = http("GET", f"{app.runtime.api_url}/_local/outbox").body["messages"]

    assert {"channel": "sms", "to": "+447700900123", "message": "Your order has shipped"}.items() <= messages[
        -1
    ].items()
    email = messages[-2]
    assert (email["channel"], email["from"], email["to"]) == (
        "email",
        "robot@mail.test",
        ["client@example.com"],
    )
    assert (email["subject"], email["body"]) == ("Your invoice", "Please pay.")
