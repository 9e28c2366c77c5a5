"""The operator command (`make tenant`) as an operator runs it, in a process of its own: standard
output is one JSON document, advice goes to standard error. Against the local runtime (--endpoint),
and against a "deployed stack" (--stack) that lives in the runtime's moto: a CloudFormation stack
whose outputs name the runtime's tables and an API Gateway usage plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import boto3
import pytest

from infra.template import Stack
from tests.conftest import REGION, ROOT
from tests.e2e.conftest import Local

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def operator_command(local: Local) -> Run:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "scripts/create_tenant.py", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            # --stack reaches "AWS" through the usual SDK settings: here the runtime's moto.
            env={**os.environ, "AWS_ENDPOINT_URL": local.demo["moto_endpoint"], "AWS_DEFAULT_REGION": REGION},
        )

    return run


def client(local: Local, service: str):
    return boto3.client(service, endpoint_url=local.demo["moto_endpoint"], region_name=REGION)


def deploy(local: Local, name: str, **outputs: str) -> None:
    """A stack with the outputs and the InboundDomain parameter the command reads."""
    tables = Stack.load(ROOT / "template.yaml").environment()
    values = {
        "ItemsTableName": tables["ITEMS_TABLE"],
        "AutomationTableName": tables["AUTOMATION_TABLE"],
        "TenantsTableName": tables["TENANTS_TABLE"],
        "ApiUrl": local.api_url,
        **outputs,
    }
    body = {
        "Parameters": {"InboundDomain": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in values.items()},
    }
    client(local, "cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": "InboundDomain", "ParameterValue": "mail.crm.test"}],
    )


@pytest.fixture
def usage_plan(local: Local) -> str:
    plan = client(local, "apigateway").create_usage_plan(name="crm-tenants-test")["id"]
    deploy(local, f"crm-{plan}", TenantUsagePlanId=plan)
    return plan


def usage_keys(local: Local, plan: str) -> dict[str, str]:
    apigateway = client(local, "apigateway")
    in_plan = {key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=plan)["items"]}
    values = {key["id"]: key["value"] for key in apigateway.get_api_keys(includeValues=True)["items"]}
    return {key_id: values[key_id] for key_id in in_plan}


def test_stdout_is_one_json_document_and_advice_goes_to_stderr(local: Local, operator_command: Run) -> None:
    done = operator_command("--name", "Initech", "--id", "initech", "--endpoint", local.demo["moto_endpoint"])
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert set(created) == {
        "tenant_id",
        "name",
        "api_key",
        "key_id",
        "scope",
        "operator",
        "mailbox",
        "usage_key_id",
        "sender_identities",
    }
    assert (created["tenant_id"], created["name"], created["scope"], created["operator"]) == (
        "initech",
        "Initech",
        "admin",
        True,
    )
    assert created["api_key"].startswith(f"crm_initech_{created['key_id']}_")
    assert created["mailbox"].startswith("initech+") and created["mailbox"].endswith("@inbound.example.com")
    # The local runtime does not emulate usage plans: no usage key, and the operator is told so.
    assert created["usage_key_id"] is None
    assert created["sender_identities"] == [] and "may send no mail yet" in done.stderr
    assert (
        "Store the api_key now" in done.stderr and "does not emulate API Gateway usage plans" in done.stderr
    )
    (listed,) = local.call("GET", "/api-keys", key=created["api_key"]).body
    assert (listed["id"], listed["scope"], listed["operator"]) == (created["key_id"], "admin", True)


def test_against_a_stack_the_tenant_gets_a_usage_key_in_its_plan(
    local: Local, operator_command: Run, usage_plan: str
) -> None:
    done = operator_command("--name", "Hooli", "--id", "hooli", "--stack", f"crm-{usage_plan}")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["usage_key_id"] in usage_keys(local, usage_plan)
    assert created["mailbox"].endswith("@mail.crm.test")
    assert f"{local.api_url}/pipelines" in done.stderr
    assert local.call("GET", "/pipelines", key=created["api_key"]).status == 200

    # A second tenant of that id is refused, and its usage key is taken back out of the plan.
    again = operator_command("--name", "Hooli", "--id", "hooli", "--stack", f"crm-{usage_plan}")
    assert again.returncode == 1 and "exists already" in again.stderr and again.stdout == ""
    assert list(usage_keys(local, usage_plan)) == [created["usage_key_id"]]


def test_a_tenant_made_before_usage_plans_gets_its_usage_key_attached(
    local: Local, operator_command: Run, usage_plan: str
) -> None:
    endpoint = local.demo["moto_endpoint"]
    created = json.loads(
        operator_command("--name", "Umbrella", "--id", "umbrella", "--endpoint", endpoint).stdout
    )
    assert created["usage_key_id"] is None

    done = operator_command("--attach-usage-plan", "--id", "umbrella", "--stack", f"crm-{usage_plan}")
    assert done.returncode == 0, done.stderr
    attached = json.loads(done.stdout)
    assert attached["tenant_id"] == "umbrella"
    assert list(usage_keys(local, usage_plan)) == [attached["usage_key_id"]]
    assert local.call("GET", "/pipelines", key=created["api_key"]).status == 200

    again = operator_command("--attach-usage-plan", "--id", "umbrella", "--stack", f"crm-{usage_plan}")
    assert again.returncode == 1 and "has a usage key already" in again.stderr
    assert list(usage_keys(local, usage_plan)) == [attached["usage_key_id"]]
    unknown = operator_command("--attach-usage-plan", "--id", "nobody", "--stack", f"crm-{usage_plan}")
    assert unknown.returncode == 1 and "tenant 'nobody' does not exist" in unknown.stderr


def test_a_stack_without_a_usage_plan_creates_nothing(local: Local, operator_command: Run) -> None:
    deploy(local, "crm-before-usage-plans")
    done = operator_command("--name", "Vandelay", "--id", "vandelay", "--stack", "crm-before-usage-plans")
    assert done.returncode == 2 and "no TenantUsagePlanId output" in done.stderr and done.stdout == ""
    retry = operator_command(
        "--name", "Vandelay", "--id", "vandelay", "--endpoint", local.demo["moto_endpoint"]
    )
    assert retry.returncode == 0, retry.stderr


def test_the_operator_grants_a_tenant_its_sender_identities_and_withdraws_them(
    local: Local, operator_command: Run
) -> None:
    endpoint = local.demo["moto_endpoint"]
    done = operator_command(
        "--name", "Stark", "--id", "stark", "--sender-domain", "Stark.test", "--endpoint", endpoint
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["sender_identities"] == ["stark.test"]
    assert "may send mail from any address at stark.test" in done.stderr
    key = created["api_key"]
    assert local.call("PUT", "/mailbox/sender", {"address": "sales@stark.test"}, key=key).status == 200
    # The demo tenant's domain is verified in SES for the whole account, but it is not Stark's.
    taken = local.call("PUT", "/mailbox/sender", {"address": "sales@demo.example"}, key=key)
    assert taken.status == 422 and "not granted to this tenant" in taken.body["message"]

    more = operator_command("--id", "stark", "--sender-address", "tony@avengers.test", "--endpoint", endpoint)
    assert more.returncode == 0, more.stderr
    assert json.loads(more.stdout) == {
        "tenant_id": "stark",
        "sender_identities": ["stark.test", "tony@avengers.test"],
    }
    withdrawn = operator_command(
        "--id", "stark", "--withdraw-sender-domain", "stark.test", "--endpoint", endpoint
    )
    assert json.loads(withdrawn.stdout)["sender_identities"] == ["tony@avengers.test"]
    assert "refused from now on" in withdrawn.stderr
    assert local.call("GET", "/mailbox/sender", key=key).body["granted"] is False

    # A grant that is no domain creates nothing; a grant for no tenant changes nothing.
    bad = operator_command(
        "--name", "Wayne", "--id", "wayne", "--sender-domain", "not a domain", "--endpoint", endpoint
    )
    assert bad.returncode == 1 and "is not a domain name" in bad.stderr and bad.stdout == ""
    assert operator_command("--name", "Wayne", "--id", "wayne", "--endpoint", endpoint).returncode == 0
    unknown = operator_command("--id", "nobody", "--sender-domain", "x.test", "--endpoint", endpoint)
    assert unknown.returncode == 1 and "tenant 'nobody' does not exist" in unknown.stderr
