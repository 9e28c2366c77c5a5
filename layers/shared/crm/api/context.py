"""What every route needs from the request: the tenant, set by the authorizer and nowhere else."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router


def tenant_id(router: Router) -> str:
    # The authorizer puts the tenant of the verified key into the request context; a body or a
    # header never names the tenant. No context means the route was reached without the authorizer.
    authorizer = router.current_event.request_context.authorizer.raw_event or {}
    tenant = authorizer.get("tenant_id")
    if not tenant:
        raise PermissionError("no tenant in the authorizer context")
    return tenant
