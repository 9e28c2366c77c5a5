"""Operator command: create a tenant and its operator key (printed once), give a tenant made before
usage plans its usage key, or grant a tenant the sender domains and addresses its mail may come from
(or withdraw them).

    make tenant ARGS="--stack crm-automation-dev --name 'Acme Ltd' --id acme --sender-domain acme.com"
    make tenant ARGS="--endpoint http://127.0.0.1:PORT --name 'Acme Ltd' --id acme"  # the local runtime
    make tenant ARGS="--stack crm-automation-dev --attach-usage-plan --id acme"   # existing tenant
    make tenant ARGS="--stack crm-automation-dev --id acme --sender-address ceo@acme.org"
    make tenant ARGS="--stack crm-automation-dev --id acme --withdraw-sender-domain acme.com"

SES's verified identities belong to the whole AWS account: without a grant, a tenant could send
mail as another tenant's domain. A tenant sends only from a granted address, or from any address at
exactly a granted domain (verify the domain in SES too); withdrawing a grant stops its mail at once.

Standard output is one JSON document (tenant id, key, key id, scope, mailbox, usage key id, sender
identities; for a grant or withdrawal, the tenant id and its sender identities); advice goes to
standard error. With --stack the table names and the usage plan come from the
stack's outputs (your AWS credentials and region): the tenant gets an API Gateway API key in the
plan (its usage key, by which API Gateway throttles it), or nothing is created. With --endpoint
(the runtime's moto endpoint, in .local/demo.json) the names come from the template, and no usage
key is made: the local runtime does not emulate usage plans.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:  # the application's code is imported once its table names are set (main)
    from crm.domain.senders import SenderIdentities

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = {
    "ItemsTableName": "ITEMS_TABLE",
    "AutomationTableName": "AUTOMATION_TABLE",
    "TenantsTableName": "TENANTS_TABLE",
}
USAGE_PLAN_OUTPUT = "TenantUsagePlanId"


def _arguments(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", help="the new tenant's display name")
    parser.add_argument(
        "--id", help="tenant id (3-40 of a-z, 0-9, '-'); generated for a new tenant if omitted"
    )
    parser.add_argument(
        "--attach-usage-plan",
        action="store_true",
        help="give the existing tenant --id its usage key in the stack's usage plan (needs --stack)",
    )
    for kind, example in (("domain", "acme.com"), ("address", "sales@acme.com")):
        parser.add_argument(
            f"--sender-{kind}",
            action="append",
            default=[],
            metavar=kind.upper(),
            help=f"grant the tenant a sender {kind} (like {example}); repeatable",
        )
        parser.add_argument(
            f"--withdraw-sender-{kind}",
            action="append",
            default=[],
            metavar=kind.upper(),
            help=f"withdraw a sender {kind} from the existing tenant --id; repeatable",
        )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="name of a deployed CloudFormation stack")
    where.add_argument("--endpoint", help="AWS endpoint of the local runtime (its moto server)")
    args = parser.parse_args(argv)
    withdrawn = args.withdraw_sender_domain or args.withdraw_sender_address
    granted = args.sender_domain or args.sender_address
    args.senders_only = bool(not args.name and not args.attach_usage_plan and (granted or withdrawn))
    if args.attach_usage_plan and not (args.id and args.stack):
        parser.error("--attach-usage-plan needs --id and --stack")
    if args.attach_usage_plan and (granted or withdrawn):
        parser.error("--attach-usage-plan takes no sender domain or address: run the grant on its own")
    if args.senders_only and not args.id:
        parser.error("granting or withdrawing sender identities needs the tenant's --id")
    if withdrawn and not args.senders_only:
        parser.error("--withdraw-sender-* is for an existing tenant: give --id without --name")
    if not args.attach_usage_plan and not args.senders_only and not args.name:
        parser.error("--name is required to create a tenant")
    return parser, args


def _stack_settings(stack_name: str) -> tuple[dict[str, str], str | None, str | None]:
    """(environment, usage plan id, API URL) from a deployed stack's outputs and parameters."""
    try:
        stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    except (BotoCoreError, ClientError) as error:
        raise SystemExit(f"create_tenant: stack {stack_name}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    environment = {variable: outputs[output] for output, variable in OUTPUTS.items() if output in outputs}
    if "InboundDomain" in parameters:
        environment["INBOUND_DOMAIN"] = parameters["InboundDomain"]
    return environment, outputs.get(USAGE_PLAN_OUTPUT), outputs.get("ApiUrl")


def _local_settings(endpoint: str) -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    from infra.template import Stack

    environment = Stack.load(ROOT / "template.yaml").environment()
    environment.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    environment.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"))
    return environment


def _advise(*lines: str) -> None:
    print("\n".join(lines), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser, args = _arguments(argv)
    plan_id = api_url = None
    if args.stack:
        environment, plan_id, api_url = _stack_settings(args.stack)
        if plan_id is None and not args.senders_only:
            parser.error(
                f"stack {args.stack} has no {USAGE_PLAN_OUTPUT} output: deploy the current template first"
            )
    else:
        environment = _local_settings(args.endpoint)
    os.environ.update(environment)
    missing = [v for v in OUTPUTS.values() if v not in os.environ]
    if missing:
        parser.error(f"table names not found: {missing}")

    # The application's code reads the table names when imported: only now.
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from crm.adapters.usage_plans import ApiGatewayUsagePlan
    from crm.domain.errors import CrmError
    from crm.domain.senders import SenderIdentities
    from crm.service import tenants
    from crm.service.mail import mailbox_address

    usage_plan = ApiGatewayUsagePlan(boto3.client("apigateway"), plan_id) if plan_id else None
    result: dict[str, Any]
    try:
        granted = SenderIdentities.granted(args.sender_domain, args.sender_address)
        withdrawn = SenderIdentities.granted(args.withdraw_sender_domain, args.withdraw_sender_address)
        if args.attach_usage_plan:
            usage_key = tenants.attach_usage_plan(args.id, usage_plan)
            result = {"tenant_id": args.id, "usage_key_id": usage_key.id}
        elif args.senders_only:
            if granted:
                tenants.grant_sender_identities(args.id, granted)
            if withdrawn:
                tenants.withdraw_sender_identities(args.id, withdrawn)
            identities = tenants.sender_identities(args.id)
            result = {"tenant_id": args.id, "sender_identities": identities.values()}
        else:
            issued = tenants.create_tenant(args.name, args.id, usage_plan, granted)
            result = {
                "tenant_id": issued.tenant_id,
                "name": args.name,
                "api_key": issued.api_key,
                "key_id": issued.key_id,
                "scope": issued.scope.value,
                "operator": True,
                "mailbox": mailbox_address(issued.tenant_id, os.environ.get("INBOUND_DOMAIN", "")),
                "usage_key_id": tenants.usage_key_id(issued.tenant_id),
                "sender_identities": granted.values(),
            }
    except CrmError as error:
        print(f"create_tenant: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        # create_tenant and attach_usage_plan undo the usage key when the rest fails.
        print(f"create_tenant: AWS refused: {error} (nothing was created)", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    if args.attach_usage_plan:
        _advise(f"Tenant {args.id}'s requests now count against usage plan {plan_id}.")
        return 0
    if args.senders_only:
        _advise_senders(args.id, identities, withdrawn)
        return 0
    _advise(
        "Store the api_key now: only its hash is kept. It is the tenant's operator key (scope admin):",
        "no other key of the tenant can revoke it.",
        f"  curl -H 'Authorization: Bearer <api_key>' {api_url or '<api url>'}/pipelines",
    )
    if usage_plan is None:
        _advise("No usage key: the local runtime does not emulate API Gateway usage plans.")
    _advise_senders(issued.tenant_id, granted, withdrawn)
    return 0


def _advise_senders(tenant_id: str, identities: SenderIdentities, withdrawn: SenderIdentities) -> None:
    """What the tenant may send mail from now, and what is left to do."""
    if withdrawn:
        _advise(f"Withdrawn: mail from {withdrawn.described()} is refused from now on (409).")
    if not identities:
        _advise(
            f"Tenant {tenant_id} may send no mail yet: grant it a domain (--id {tenant_id} --sender-domain)."
        )
        return
    _advise(
        f"Tenant {tenant_id} may send mail from {identities.described()}: it chooses its sender with",
        "PUT /mailbox/sender; verify each domain or address in SES too (aws ses verify-domain-identity).",
    )


if __name__ == "__main__":
    raise SystemExit(main())
