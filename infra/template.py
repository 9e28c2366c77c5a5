"""template.yaml as the local runtime and the tests see it: CloudFormation tags, SAM Globals,
conditions, and Ref/GetAtt/Sub resolved to local physical names and ARNs.

Nothing about the wiring is copied by hand: everything the runtime creates or connects is read
from the template through ``Stack``. ``create_tables`` builds the template's DynamoDB tables with
any boto3 DynamoDB client (moto's ``mock_aws`` in integration tests, the moto server here).

Local physical names are the logical ids (``ItemsTable``, ``StageChangedQueue``) unless the template
names the resource; CloudFormation would add the stack name and a random suffix.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "eu-west-1"
STACK_NAME = "crm-local"


class NotEmulated(Exception):
    """The template asks for something the local runtime cannot run here: it refuses at start, with
    what and why, rather than run a different application than the template describes."""


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags into their long form: ``!Ref X`` -> ``{"Ref": "X"}``."""


def _short_tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            # !GetAtt Resource.Attribute; attribute names may contain dots (Endpoint.Address).
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _short_tag)


def load_template(path: Path | str) -> dict[str, Any]:
    return yaml.load(Path(path).read_text(), Loader=CfnLoader)


def merge_globals(global_value: Any, own_value: Any) -> Any:
    """SAM's Globals rule: maps merge (the resource wins), lists add up (globals first), scalars are
    overridden by the resource."""
    if isinstance(global_value, dict) and isinstance(own_value, dict):
        merged = dict(global_value)
        for key, value in own_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(own_value, list):
        return global_value + own_value
    return own_value


class _NoValue:
    """``AWS::NoValue``: the property or list entry that holds it disappears."""


NO_VALUE = _NoValue()

_GLOBALS_SECTION = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api"}

# The property that names a resource, where the template may set it.
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::SES::ReceiptRuleSet": "RuleSetName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Stack:
    """One template with its parameters and conditions evaluated for the local account and region."""

    def __init__(
        self,
        template: dict[str, Any],
        *,
        root: Path,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        stack_name: str = STACK_NAME,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.template = template
        self.root = root
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name
        self.parameters = self._parameters(parameters or {})
        self._conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)
        self.resources = self._resources()
        # Attributes that only exist once the resource does (a stream ARN, a queue URL).
        self._created: dict[str, dict[str, Any]] = {}

    @classmethod
    def load(cls, path: Path | str, **options: Any) -> Stack:
        path = Path(path).resolve()
        return cls(load_template(path), root=path.parent, **options)

    # ------------------------------------------------------------ parameters, conditions, Globals

    def _parameters(self, overrides: dict[str, str]) -> dict[str, Any]:
        declared = self.template.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise ValueError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name not in overrides and "Default" not in spec:
                raise ValueError(f"template parameter {name} has no default: pass it")
            value = str(overrides.get(name, spec.get("Default")))
            allowed = spec.get("AllowedValues")
            if allowed and value not in [str(v) for v in allowed]:
                raise ValueError(f"parameter {name}={value!r} is not one of {allowed}")
            kind = spec.get("Type", "String")
            is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
            values[name] = [part.strip() for part in value.split(",")] if is_list else value
        return values

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.template.get("Conditions", {}):
                raise KeyError(f"condition {name} is not in the template")
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def _resources(self) -> dict[str, dict[str, Any]]:
        global_sections = self.template.get("Globals", {})
        resources = {}
        for logical_id, resource in self.template.get("Resources", {}).items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            resource = dict(resource)
            section = _GLOBALS_SECTION.get(resource["Type"])
            if section and section in global_sections:
                resource["Properties"] = merge_globals(
                    global_sections[section], resource.get("Properties", {})
                )
            resource.setdefault("Properties", {})
            resources[logical_id] = resource
        return resources

    # ------------------------------------------------------------ names and attributes

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res["Type"] in types}

    def name(self, logical_id: str) -> str:
        resource = self._resource(logical_id)
        kind = resource["Type"]
        if kind == "AWS::SES::ReceiptRule":
            return self.resolve(resource["Properties"].get("Rule", {})).get("Name", logical_id)
        own = resource["Properties"].get(_NAME_PROPERTY.get(kind, ""))
        if own is not None:
            return self.resolve(own)
        if kind == "AWS::S3::Bucket":
            return logical_id.lower()  # bucket names are lower case
        if kind == "AWS::SQS::Queue" and self.resolve(resource["Properties"].get("FifoQueue", False)):
            return f"{logical_id}.fifo"
        return logical_id

    def set_attribute(self, logical_id: str, attribute: str, value: Any) -> None:
        """Record what creating the resource returned (``Ref`` is stored as the attribute "Ref")."""
        self._created.setdefault(logical_id, {})[attribute] = value

    def attribute(self, logical_id: str, attribute: str) -> Any:
        created = self._created.get(logical_id, {})
        if attribute in created:
            return created[attribute]
        attributes = self._attributes(logical_id)
        if attribute not in attributes:
            kind = self._resource(logical_id)["Type"]
            raise KeyError(
                f"{logical_id}.{attribute} ({kind}) is unknown locally until the resource is created, "
                "or infra/template.py does not model it"
            )
        return attributes[attribute]

    def _resource(self, logical_id: str) -> dict[str, Any]:
        if logical_id not in self.resources:
            raise KeyError(f"{logical_id} is not a resource of the template (or its condition is false)")
        return self.resources[logical_id]

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        where = f"{self.region if region else ''}:{self.account_id if account else ''}"
        return f"arn:aws:{service}:{where}:{resource}"

    def _attributes(self, logical_id: str) -> dict[str, Any]:
        kind = self._resource(logical_id)["Type"]
        name = self.name(logical_id)
        props = self.resources[logical_id]["Properties"]
        match kind:
            case "AWS::DynamoDB::Table":
                return {"Ref": name, "Arn": self.arn("dynamodb", f"table/{name}")}
            case "AWS::SQS::Queue":
                # Ref is the queue's URL; moto finds a queue by the account and name in its path,
                # whatever host the URL names, so the URL AWS would give works against moto too.
                url = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
                return {"Arn": self.arn("sqs", name), "QueueName": name, "Ref": url}
            case "AWS::SNS::Topic":
                arn = self.arn("sns", name)
                return {"Ref": arn, "TopicArn": arn, "TopicName": name}
            case "AWS::S3::Bucket":
                return {
                    "Ref": name,
                    "Arn": f"arn:aws:s3:::{name}",
                    "DomainName": f"{name}.s3.amazonaws.com",
                    "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
                }
            case "AWS::Events::EventBus":
                return {"Ref": name, "Name": name, "Arn": self.arn("events", f"event-bus/{name}")}
            case "AWS::Events::Rule":
                bus = self.resolve(props.get("EventBusName", "default"))
                path = name if bus == "default" else f"{bus}/{name}"
                return {"Ref": name, "Arn": self.arn("events", f"rule/{path}")}
            case "AWS::Serverless::Function" | "AWS::Lambda::Function":
                return {"Ref": name, "Arn": self.arn("lambda", f"function:{name}")}
            case "AWS::Serverless::Api" | "AWS::ApiGateway::RestApi":
                return {"Ref": logical_id.lower()[:10], "RootResourceId": "root"}
            case "AWS::Serverless::LayerVersion":
                return {"Ref": self.arn("lambda", f"layer:{name}:1")}
            case "AWS::IAM::Role":
                return {"Ref": name, "Arn": self.arn("iam", f"role/{name}", region=False)}
            case "AWS::Logs::LogGroup":
                return {"Ref": name, "Arn": self.arn("logs", f"log-group:{name}:*")}
            case _:
                # For most other types Ref is an opaque physical id; the name stands in for it.
                return {"Ref": name}

    def depends_on(self, logical_id: str) -> set[str]:
        """The resources this one refers to (Ref, GetAtt, Sub) or waits for (DependsOn)."""
        resource = self.resources[logical_id]
        explicit = resource.get("DependsOn", [])
        found = set([explicit] if isinstance(explicit, str) else explicit)
        for reference in _references(resource.get("Properties", {})):
            if reference in self.resources:
                found.add(reference)
        return found

    def creation_order(self, logical_ids: Iterator[str] | list[str]) -> list[str]:
        """The given resources, each after the ones it refers to (e.g. a dead-letter queue first)."""
        wanted = list(logical_ids)
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(lid: str) -> None:
            if lid in ordered:
                return
            if lid in visiting:
                raise ValueError(f"circular reference through {lid}")
            visiting.add(lid)
            for dependency in sorted(self.depends_on(lid)):
                if dependency in wanted:
                    visit(dependency)
            visiting.discard(lid)
            ordered.append(lid)

        for lid in wanted:
            visit(lid)
        return ordered

    # ------------------------------------------------------------ intrinsic functions

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated; AWS::NoValue entries removed."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                    return self._intrinsic(key, argument)
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        return value

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.arn("cloudformation", f"stack/{self.stack_name}/local"),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.attribute(name, "Ref")

    def _intrinsic(self, key: str, argument: Any) -> Any:
        match key:
            case "Ref":
                return self._ref(argument)
            case "Condition":
                return self.condition(argument)
            case "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attribute(logical_id, self.resolve(attribute))
            case "Fn::Sub":
                return self._sub(argument)
            case "Fn::Join":
                delimiter, parts = argument
                return self.resolve(delimiter).join(str(part) for part in self.resolve(parts))
            case "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            case "Fn::Split":
                delimiter, text = argument
                return self.resolve(text).split(self.resolve(delimiter))
            case "Fn::If":
                name, when_true, when_false = argument
                return self.resolve(when_true if self.condition(name) else when_false)
            case "Fn::Equals":
                left, right = self.resolve(argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not self.resolve(argument[0])
            case "Fn::And":
                return all(self.resolve(argument))
            case "Fn::Or":
                return any(self.resolve(argument))
            case "Fn::FindInMap":
                mapping, top, second = self.resolve(argument)
                return self.template["Mappings"][mapping][top][second]
            case "Fn::Base64":
                return base64.b64encode(str(self.resolve(argument)).encode()).decode()
            case "Fn::GetAZs":
                return [f"{self.region}{zone}" for zone in "abc"]
            case "Fn::ToJsonString":
                return json.dumps(self.resolve(argument), separators=(",", ":"))
            case _:
                raise NotEmulated(f"{key} cannot be evaluated locally (no other stacks exist here)")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(variables)

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"  # ${!Literal} is written as ${Literal}
            if expression in variables:
                return str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return str(self.attribute(logical_id, attribute))
            return str(self._ref(expression))

        return _SUB_VARIABLE.sub(replace, text)

    # ------------------------------------------------------------ functions' environment

    def environment(self) -> dict[str, str]:
        """Every function's resolved environment variables, in one map (the handlers share a process).

        A variable that differs between functions keeps the first function's value here; each
        handler still imports under its own values (see ``infra.functions``)."""
        merged: dict[str, str] = {}
        for logical_id in self.of_type("AWS::Serverless::Function"):
            for key, value in self.function_environment(logical_id).items():
                merged.setdefault(key, value)
        return merged

    def function_environment(self, logical_id: str) -> dict[str, str]:
        props = self.resources[logical_id]["Properties"]
        variables = self.resolve(props.get("Environment", {})).get("Variables", {})
        return {key: str(value) for key, value in variables.items()}


def _references(value: Any) -> Iterator[str]:
    """Logical ids (or parameter names) a property value mentions."""
    if isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                yield argument
            elif key == "Fn::GetAtt":
                yield (argument[0] if isinstance(argument, list) else argument.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                for expression in _SUB_VARIABLE.findall(text):
                    yield expression.split(".", 1)[0]
            yield from _references(argument)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def create_tables(dynamodb: Any, stack: Stack) -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of the stack through ``dynamodb`` (a boto3 client): keys,
    indexes, billing, stream and TTL as declared. Returns {logical id: table name}.

    Each table's StreamArn is recorded on the stack, so ``!GetAtt Table.StreamArn`` resolves."""
    names = {}
    for logical_id in stack.of_type("AWS::DynamoDB::Table"):
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        name = stack.name(logical_id)
        billing = props.get("BillingMode", "PROVISIONED")
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": billing,
        }
        if billing == "PROVISIONED":
            arguments["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        for section in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if section in props:
                arguments[section] = [
                    {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                    | (
                        {"ProvisionedThroughput": index["ProvisionedThroughput"]}
                        if billing == "PROVISIONED"
                        else {}
                    )
                    for index in props[section]
                ]
        if "StreamSpecification" in props:
            arguments["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        table = dynamodb.create_table(**arguments)["TableDescription"]
        if "LatestStreamArn" in table:
            stack.set_attribute(logical_id, "StreamArn", table["LatestStreamArn"])
        ttl = props.get("TimeToLiveSpecification", {})
        if ttl.get("Enabled") in (True, "true"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        names[logical_id] = name
    return names
