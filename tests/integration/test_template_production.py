"""The template is production-grade, checked on the CloudFormation that SAM makes of template.yaml
(aws-sam-translator, offline) for EVERY table, bucket, queue, function, rule, API and role in it:
a resource added later without retention, a log group, a dead-letter queue or an alarm fails here.

What checkov cannot see (its skips in .checkov.yaml say why) is asserted here instead: every queue
encrypted, a dead-letter queue on every asynchronously invoked function."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from infra.template import Stack

ROOT = Path(__file__).resolve().parents[2]

# Narrow AWS managed policies a role may carry (read and accepted): logs of its own function,
# X-Ray segments, API Gateway's account logging. AWSLambdaDynamoDBExecutionRole is not one of them.
ACCEPTED_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess",
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}
STREAM_READ_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
# Services that invoke a function asynchronously: what fails after Lambda's retries must be kept.
ASYNC_INVOKERS = {"ses.amazonaws.com", "s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"}


@functools.cache
def _translated() -> dict[str, Any]:
    sam = yaml_parse((ROOT / "template.yaml").read_text())
    # The translator wants code in S3, as `sam package` leaves it; local folders stand for it here.
    for resource in sam["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if isinstance(resource.get("Properties", {}).get(key), str):
                resource["Properties"][key] = f"s3://code/{resource['Properties'][key]}"
    return Translator(managed_policy_map={}, sam_parser=Parser()).translate(sam, parameter_values={})


@pytest.fixture
def cfn() -> dict[str, Any]:
    return copy.deepcopy(_translated())


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in cfn["Resources"].items() if res["Type"] == kind}


def resources(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of a kind, at least one: a check over none would prove nothing."""
    found = of_type(cfn, kind)
    assert found, f"the template has no {kind}"
    return found


def evaluated(cfn: dict[str, Any], value: Any, stage: str = "dev") -> Any:
    """The value with conditions and parameters evaluated for a stage (the local runtime's resolver)."""
    return Stack(cfn, root=ROOT, parameters={"Stage": stage}).resolve(value)


def target(value: Any) -> str | None:
    """The logical id a Ref or GetAtt points at."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        argument = value["Fn::GetAtt"]
        return argument[0] if isinstance(argument, list) else argument.split(".", 1)[0]
    return None


def mentions(value: Any) -> set[str]:
    """Every logical id a value refers to (Ref, GetAtt, ${X} or ${X.Attr} in Sub)."""
    if isinstance(value, list):
        return set().union(*map(mentions, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if (found := target(value)) is not None:
        return {found}
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        names = {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
        return {name for name in names if not name.startswith("AWS::")}
    return set().union(*map(mentions, value.values())) if value else set()


def statements(value: Any) -> Iterator[dict[str, Any]]:
    """Every statement of every policy document anywhere in a value (roles, queue/bucket policies)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy"):
                listed = item["Statement"]
                yield from listed if isinstance(listed, list) else [listed]
            else:
                yield from statements(item)
    elif isinstance(value, list):
        for item in value:
            yield from statements(item)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def watched(alarm: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, {dimension: value}) of every metric an alarm watches, plain or in math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        metrics = [props]
    else:
        metrics = [query["MetricStat"]["Metric"] for query in props["Metrics"] if "MetricStat" in query]
    for metric in metrics:
        dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        yield metric["Namespace"], metric["MetricName"], dimensions


def alarmed(cfn: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        metric for alarm in resources(cfn, "AWS::CloudWatch::Alarm").values() for metric in watched(alarm)
    ]


def stream_mappings(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Event source mappings that read a DynamoDB or Kinesis stream (Lambda polls them in order)."""
    return {
        lid: res
        for lid, res in resources(cfn, "AWS::Lambda::EventSourceMapping").items()
        if "StreamArn" in json.dumps(res["Properties"]["EventSourceArn"])
        or ":kinesis:" in json.dumps(res["Properties"]["EventSourceArn"])
    }


# ---------------------------------------------------------------- data is kept


def test_every_table_is_retained_recoverable_and_protected_on_prod(cfn) -> None:
    for name, table in resources(cfn, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert table.get("DeletionPolicy") == "Retain", name
        assert table.get("UpdateReplacePolicy") == "Retain", name
        assert props.get("PointInTimeRecoverySpecification") == {"PointInTimeRecoveryEnabled": True}, name
        assert props.get("SSESpecification", {}).get("SSEEnabled") is True, name
        assert evaluated(cfn, props.get("DeletionProtectionEnabled", False), stage="prod") is True, name


def test_the_mail_bucket_is_retained_versioned_private_and_old_versions_expire(cfn) -> None:
    for name, bucket in resources(cfn, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert bucket.get("DeletionPolicy") == "Retain", name
        assert bucket.get("UpdateReplacePolicy") == "Retain", name
        assert props.get("VersioningConfiguration") == {"Status": "Enabled"}, name
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        assert any("NoncurrentVersionExpiration" in rule for rule in rules), f"{name}: versions pile up"
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
        assert set(props["PublicAccessBlockConfiguration"].values()) == {True}, name


def test_every_queue_is_encrypted_at_rest(cfn) -> None:
    for name, queue in resources(cfn, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, name
        # EventBridge cannot use the aws/sqs key: SSE-SQS keeps the rules' queues deliverable.
        assert props.get("KmsMasterKeyId") != "alias/aws/sqs", name


# ---------------------------------------------------------------- logs


def test_every_function_logs_to_a_group_of_its_own(cfn) -> None:
    groups = resources(cfn, "AWS::Logs::LogGroup")
    used = []
    for name, function in resources(cfn, "AWS::Lambda::Function").items():
        group = target(function["Properties"].get("LoggingConfig", {}).get("LogGroup"))
        assert group in groups, f"{name} logs to Lambda's default group, kept forever"
        used.append(group)
    assert len(used) == len(set(used))


def test_every_log_group_keeps_a_month_on_dev_and_a_year_on_prod(cfn) -> None:
    for name, group in resources(cfn, "AWS::Logs::LogGroup").items():
        retention = group["Properties"].get("RetentionInDays")
        assert evaluated(cfn, retention, stage="dev") == 30, name
        assert evaluated(cfn, retention, stage="prod") == 365, name


def test_api_access_logs_say_who_did_what_and_how_it_went(cfn) -> None:
    groups = resources(cfn, "AWS::Logs::LogGroup")
    for name, stage in resources(cfn, "AWS::ApiGateway::Stage").items():
        setting = stage["Properties"].get("AccessLogSetting")
        assert setting is not None, f"{name} has no access log"
        assert target(setting["DestinationArn"]) in groups, name
        line = json.loads(setting["Format"])
        assert line["requestId"] == "$context.requestId"
        assert line["ip"] == "$context.identity.sourceIp"
        assert line["tenant"] == "$context.authorizer.tenant_id"
        assert line["status"] == "$context.status"
        assert line["latency"] == "$context.responseLatency"


def test_api_gateway_may_write_logs_before_the_api_exists(cfn) -> None:
    (account,) = resources(cfn, "AWS::ApiGateway::Account")
    role = target(cfn["Resources"][account]["Properties"]["CloudWatchRoleArn"])
    assert cfn["Resources"][role]["Type"] == "AWS::IAM::Role"
    for name, api in resources(cfn, "AWS::ApiGateway::RestApi").items():
        assert account in as_list(api.get("DependsOn", [])), name


def test_the_api_is_reachable_only_through_its_configured_stages(cfn) -> None:
    # A Deployment with a StageName creates a stage of its own (SAM's "Stage"), without the access
    # log and the throttle of the declared stage.
    for name, deployment in resources(cfn, "AWS::ApiGateway::Deployment").items():
        assert "StageName" not in deployment["Properties"], name


# ---------------------------------------------------------------- nothing is lost


def test_every_rule_target_retries_and_then_keeps_the_event(cfn) -> None:
    queues = resources(cfn, "AWS::SQS::Queue")
    policies = resources(cfn, "AWS::SQS::QueuePolicy").values()
    for rule_name, rule in resources(cfn, "AWS::Events::Rule").items():
        for rule_target in rule["Properties"]["Targets"]:
            retry = rule_target.get("RetryPolicy", {})
            assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(retry), rule_name
            dlq = target(rule_target.get("DeadLetterConfig", {}).get("Arn"))
            assert dlq in queues, f"{rule_name}: events it cannot deliver are dropped"
            # EventBridge may send to the dead-letter queue, for this rule only.
            allowed = [
                statement
                for policy in policies
                if dlq in map(target, policy["Properties"]["Queues"])
                for statement in statements(policy["Properties"])
                if statement["Effect"] == "Allow"
                and statement["Principal"] == {"Service": "events.amazonaws.com"}
                and "sqs:SendMessage" in as_list(statement["Action"])
            ]
            assert allowed, f"{dlq}: EventBridge may not write to it"
            for statement in allowed:
                source = statement.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
                assert target(source) == rule_name, f"{dlq}: any rule may write to it"


def test_every_asynchronously_invoked_function_keeps_what_still_fails(cfn) -> None:
    functions = resources(cfn, "AWS::Lambda::Function")
    invoke_configs = of_type(cfn, "AWS::Lambda::EventInvokeConfig")
    async_functions = {
        target(permission["Properties"]["FunctionName"])
        for permission in resources(cfn, "AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] in ASYNC_INVOKERS
    }
    assert async_functions
    for name in async_functions:
        dead_letter = functions[name]["Properties"].get("DeadLetterConfig", {}).get("TargetArn")
        on_failure = [
            config
            for config in invoke_configs.values()
            if target(config["Properties"]["FunctionName"]) == name
            and "OnFailure" in config["Properties"].get("DestinationConfig", {})
        ]
        assert dead_letter or on_failure, f"{name}: events that fail after Lambda's retries are dropped"


def test_every_stream_consumer_sets_failed_batches_aside(cfn) -> None:
    for name, mapping in stream_mappings(cfn).items():
        assert mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"], name


# ---------------------------------------------------------------- alarms


def test_every_function_alarms_on_errors_and_throttles(cfn) -> None:
    watched_metrics = alarmed(cfn)
    for name in resources(cfn, "AWS::Lambda::Function"):
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, {"FunctionName": {"Ref": name}}) in watched_metrics, (name, metric)


def test_every_stream_consumer_alarms_when_it_falls_behind(cfn) -> None:
    watched_metrics = alarmed(cfn)
    for name, mapping in stream_mappings(cfn).items():
        function = target(mapping["Properties"]["FunctionName"])
        assert ("AWS/Lambda", "IteratorAge", {"FunctionName": {"Ref": function}}) in watched_metrics, name


def test_every_api_stage_alarms_on_server_errors(cfn) -> None:
    server_errors = [
        evaluated(cfn, dimensions)
        for namespace, metric, dimensions in alarmed(cfn)
        if (namespace, metric) == ("AWS/ApiGateway", "5XXError")
    ]
    apis = resources(cfn, "AWS::ApiGateway::RestApi")
    for name, stage in resources(cfn, "AWS::ApiGateway::Stage").items():
        api_name = evaluated(cfn, apis[target(stage["Properties"]["RestApiId"])]["Properties"]["Name"])
        stage_name = evaluated(cfn, stage["Properties"]["StageName"])
        assert {"ApiName": api_name, "Stage": stage_name} in server_errors, name


def test_every_table_alarms_on_throttled_reads_and_writes(cfn) -> None:
    watched_metrics = alarmed(cfn)
    for name in resources(cfn, "AWS::DynamoDB::Table"):
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
            assert ("AWS/DynamoDB", metric, {"TableName": {"Ref": name}}) in watched_metrics, (name, metric)


def test_every_dead_letter_queue_alarms_on_its_first_message(cfn) -> None:
    queues = dead_letter_queues(cfn)
    assert queues
    watched_metrics = alarmed(cfn)
    for queue in queues:
        dimensions = {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", dimensions) in watched_metrics, queue


def dead_letter_queues(cfn: dict[str, Any]) -> set[str]:
    """Queues that hold what failed: a queue's redrive target, a function's dead-letter queue, a
    stream mapping's on-failure destination, a rule target's dead-letter queue."""
    found = set()
    for resource in cfn["Resources"].values():
        props = resource.get("Properties", {})
        if "RedrivePolicy" in props:
            found.add(target(props["RedrivePolicy"]["deadLetterTargetArn"]))
        if "TargetArn" in props.get("DeadLetterConfig", {}):
            found.add(target(props["DeadLetterConfig"]["TargetArn"]))
        if "OnFailure" in props.get("DestinationConfig", {}):
            found.add(target(props["DestinationConfig"]["OnFailure"]["Destination"]))
        for rule_target in props.get("Targets", []):
            if "DeadLetterConfig" in rule_target:
                found.add(target(rule_target["DeadLetterConfig"]["Arn"]))
    return found


def test_every_alarm_notifies_the_alarm_topic(cfn) -> None:
    for name, alarm in resources(cfn, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_cloudwatch_can_publish_to_the_alarm_topic(cfn) -> None:
    # The aws/sns key's policy leaves CloudWatch out: alarms on a topic under it notify no one.
    key = cfn["Resources"]["AlarmTopic"]["Properties"].get("KmsMasterKeyId")
    assert key is None or target(key) in cfn["Resources"]


# ---------------------------------------------------------------- least privilege


def test_roles_carry_only_narrow_managed_policies(cfn) -> None:
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            text = arn if isinstance(arn, str) else arn["Fn::Sub"]
            assert text.split(":policy/", 1)[1] in ACCEPTED_MANAGED_POLICIES, (name, text)


def test_stream_consumers_read_only_their_own_stream(cfn) -> None:
    functions = resources(cfn, "AWS::Lambda::Function")
    readers: dict[str, set[str]] = {}  # role -> tables whose stream its function consumes
    for mapping in stream_mappings(cfn).values():
        function = functions[target(mapping["Properties"]["FunctionName"])]
        readers.setdefault(target(function["Properties"]["Role"]), set()).add(
            target(mapping["Properties"]["EventSourceArn"])
        )
    assert readers
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for statement in statements(role["Properties"].get("Policies", [])):
            if not STREAM_READ_ACTIONS & set(as_list(statement["Action"])):
                continue
            for resource in as_list(statement["Resource"]):
                tables = mentions(resource)  # "*" or a written-out ARN mention none
                assert tables and tables <= readers.get(name, set()), (name, resource)


def test_no_policy_grants_a_wildcard_action(cfn) -> None:
    # A wildcard action is an Action string with "*" in it ("sqs:SendMessage*", "xray:*", "*"), or
    # a NotAction. Resources of "*" stay allowed where an action takes no resource (X-Ray).
    found = 0
    for name, resource in cfn["Resources"].items():
        for statement in statements(resource.get("Properties", {})):
            found += 1
            assert "NotAction" not in statement, name
            for action in as_list(statement["Action"]):
                assert "*" not in action, (name, action)
    assert found


# ---------------------------------------------------------------- the local runtime follows


def test_the_local_runtime_resolves_what_the_api_and_functions_refer_to() -> None:
    # The local runtime resolves the API's and each function's properties when it starts: the
    # access log group, the functions' log groups and the fan-out's role must resolve locally too.
    local = Stack.load(ROOT / "template.yaml")
    local.set_attribute("ItemsTable", "StreamArn", "arn:aws:dynamodb:eu-west-1:123456789012:table/x/stream/1")

    api = local.resolve(local.resources["CrmApi"]["Properties"])
    functions = {
        name: local.resolve(res["Properties"])
        for name, res in local.of_type("AWS::Serverless::Function").items()
    }

    access_log = api["AccessLogSetting"]["DestinationArn"]
    assert access_log == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/crm-local/access:*"
    for name, props in functions.items():
        assert props["LoggingConfig"]["LogGroup"] == f"/aws/lambda/crm-local/{name}"
    assert functions["FanoutFunction"]["Role"] == "arn:aws:iam::123456789012:role/FanoutRole"
