"""Tenants' usage keys in the stack's API Gateway usage plan (used by the operator command only:
the authorizer reads the key's value from the tenant record and never calls API Gateway)."""

from __future__ import annotations

from typing import Any

from crm.domain.keys import UsageKey


class ApiGatewayUsagePlan:
    def __init__(self, client: Any, plan_id: str) -> None:
        self._client = client  # a boto3 "apigateway" client
        self.plan_id = plan_id

    def subscribe(self, tenant_id: str) -> UsageKey:
        created = self._client.create_api_key(
            name=f"crm-tenant-{tenant_id}",
            description=f"Usage key of CRM tenant {tenant_id} (usage plan {self.plan_id})",
            enabled=True,
            tags={"crm-tenant": tenant_id},
        )
        usage_key = UsageKey(created["id"], created["value"])
        try:
            self._client.create_usage_plan_key(
                usagePlanId=self.plan_id, keyId=usage_key.id, keyType="API_KEY"
            )
        except BaseException:
            self._client.delete_api_key(apiKey=usage_key.id)
            raise
        return usage_key

    def unsubscribe(self, usage_key: UsageKey) -> None:
        self._client.delete_usage_plan_key(usagePlanId=self.plan_id, keyId=usage_key.id)
        self._client.delete_api_key(apiKey=usage_key.id)
