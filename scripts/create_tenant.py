"""Operator command: create a tenant and its first API key (printed once).

    make tenant ARGS="--name 'Acme Ltd' --id acme --stack crm-automation-dev"   # a deployed stack
    make tenant ARGS="--name 'Acme Ltd' --endpoint http://127.0.0.1:PORT"        # the local runtime

With --stack the table names come from the stack's outputs (your AWS credentials and region);
with --endpoint from .local/demo.json's table names, or from --tables-from-env.
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
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint
        demo = json.loads((ROOT / ".local" / "demo.json").read_text())
        os.environ.update({k: v for k, v in demo.get("tables", {}).items() if k in OUTPUTS.values()})
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    missing = [v for v in OUTPUTS.values() if v not in os.environ]
    if missing:
        parser.error(f"table names not found: {missing}")
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from crm.service.tenants import create_tenant

    issued = create_tenant(args.name, args.id)
    print(
        json.dumps(
            {"tenant_id": issued.tenant_id, "key_id": issued.key_id, "api_key": issued.api_key}, indent=2
        )
    )
    print("Store the key now: only its hash is kept.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
