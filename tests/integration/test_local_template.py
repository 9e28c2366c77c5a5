"""infra.template: CloudFormation tags, SAM Globals, conditions and intrinsic functions resolved
to local names, and the template's tables created in moto exactly as declared."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from infra.template import NO_VALUE, CfnLoader, Stack, create_tables, load_template

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Email: {Type: String, Default: ""}
Conditions:
  HasEmail: !Not [!Equals [!Ref Email, ""]]
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 10
    Layers: [!Ref Layer]
    Environment:
      Variables: {STAGE: !Ref Stage, QUEUE_URL: !Ref Queue}
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {LayerName: !Sub "shared-${Stage}", ContentUri: layer/}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetters.Arn, maxReceiveCount: 3}
  DeadLetters:
    Type: AWS::SQS::Queue
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 30
      Layers: [arn:aws:lambda:eu-west-1:123456789012:layer:other:1]
      Environment:
        Variables: {OWN: !Sub "${AWS::Region}/${Queue.QueueName}/${!Literal}"}
      Tags:
        Email: !If [HasEmail, !Ref Email, !Ref AWS::NoValue]
        Joined: !Join ["-", [a, !Select [1, !Split [",", "x,y,z"]]]]
"""


def stack(**parameters: str) -> Stack:
    return Stack(yaml.load(TEMPLATE, Loader=CfnLoader), root=ROOT, parameters=parameters)


def test_short_tags_read_as_their_long_form() -> None:
    template = load_template(ROOT / "template.yaml")

    assert template["Resources"]["FanoutFunction"]["Properties"]["Events"]["ItemsStream"]["Properties"][
        "Stream"
    ] == {"Fn::GetAtt": ["ItemsTable", "StreamArn"]}
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


def test_globals_merge_into_functions_as_sam_merges_them() -> None:
    props = stack().resources["Function"]["Properties"]

    assert props["Timeout"] == 30  # the function's own value wins
    assert len(props["Layers"]) == 2  # lists add up, the global entries first
    assert set(props["Environment"]["Variables"]) == {"STAGE", "QUEUE_URL", "OWN"}


def test_intrinsic_functions_resolve_to_local_names() -> None:
    local = stack()
    local.set_attribute("Queue", "Ref", "http://moto/123456789012/Queue")

    assert local.function_environment("Function") == {
        "STAGE": "dev",
        "QUEUE_URL": "http://moto/123456789012/Queue",
        "OWN": "eu-west-1/Queue/${Literal}",
    }
    tags = local.resolve(local.resources["Function"]["Properties"]["Tags"])
    assert tags == {"Joined": "a-y"}  # AWS::NoValue removed the Email tag
    assert local.resolve({"Ref": "Layer"}) == "arn:aws:lambda:eu-west-1:123456789012:layer:shared-dev:1"
    assert local.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_conditions_decide_which_resources_exist() -> None:
    assert "ProdOnly" not in stack().resources
    assert "ProdOnly" in stack(Stage="prod").resources
    assert stack(Email="ops@example.com").resolve({"Fn::If": ["HasEmail", "yes", "no"]}) == "yes"
    with pytest.raises(ValueError, match="not one of"):
        stack(Stage="qa")


def test_resources_are_created_after_what_they_refer_to() -> None:
    local = stack()

    assert local.creation_order(["Queue", "DeadLetters"]) == ["DeadLetters", "Queue"]


def test_the_templates_tables_are_created_as_declared() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        real = Stack.load(ROOT / "template.yaml")

        names = create_tables(dynamodb, real)

        assert names["ItemsTable"] == "ItemsTable"
        items = dynamodb.describe_table(TableName="ItemsTable")["Table"]
        assert items["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert [index["IndexName"] for index in items["GlobalSecondaryIndexes"]] == ["ByPipeline"]
        assert real.resolve({"Fn::GetAtt": ["ItemsTable", "StreamArn"]}) == items["LatestStreamArn"]
        ttl = dynamodb.describe_time_to_live(TableName="ItemsTable")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
        assert set(real.environment()) >= {
            "ITEMS_TABLE",
            "AUTOMATION_TABLE",
            "TENANTS_TABLE",
            "EVENT_BUS_NAME",
        }
