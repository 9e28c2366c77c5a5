"""Operator command: create a tenant and its first API key (printed once).

    make tenant ARGS="--name 'Acme Ltd' --id acme --stack crm-automation-dev"   # a deployed stack
    make tenant ARGS="--name 'Acme Ltd' --endpoint http://127.0.0.1:PORT"        # the local runtime

With --stack the table names come from the stack's outputs (your AWS credentials and region);
with --endpoint (the runtime's moto endpoint, in .local/demo.json) from the template, as the local
runtime names them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = {
    "ItemsTableName": "ITEMS_TABLE",
    "AutomationTableName": "AUTOMATION_TABLE",
    "TenantsTableName": "TENANTS_TABLE",
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", required=True, help="the tenant's display name")
    parser.add_argument("--id", help="tenant id (3-40 of a-z, 0-9, '-'); generated if omitted")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="name of a deployed CloudFormation stack")
    where.add_argument("--endpoint", help="AWS endpoint of the local runtime (its moto server)")
    args = parser.parse_args()

    if args.stack:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        for output in stack.get("Outputs", []):
            if output["OutputKey"] in OUTPUTS:
                os.environ[OUTPUTS[output["OutputKey"]]] = output["OutputValue"]
    else:
        sys.path.insert(0, str(ROOT))
        from infra.template import Stack

        os.environ.update(Stack.load(ROOT / "template.yaml").environment())
        os.environ.update(AWS_ENDPOINT_URL=args.endpoint, AWS_ACCESS_KEY_ID="local")
        os.environ.update(AWS_SECRET_ACCESS_KEY="local")
        os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    missing = [v for v in OUTPUTS.values() if v not in os.environ]
    if missing:
        parser.error(f"table names not found: {missing}")
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from crm.domain.errors import CrmError
    from crm.service.tenants import create_tenant

    try:
        issued = create_tenant(args.name, args.id)
    except CrmError as error:
        print(f"create_tenant: {error}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {"tenant_id": issued.tenant_id, "key_id": issued.key_id, "api_key": issued.api_key}, indent=2
        )
    )
    print("Store the key now: only its hash is kept.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
