"""What every route needs from the request: the caller (tenant, API key, scope), set by the
authorizer and nowhere else, and checked against the route once more here."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.domain.errors import Forbidden
from crm.domain.keys import Scope


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    key_id: str
    scope: Scope


def caller(router: Router) -> Caller:
    # The authorizer puts the tenant of the verified key into the request context; a body or a
    # header never names the tenant. No context means the route was reached without the authorizer.
    authorizer = router.current_event.request_context.authorizer.raw_event or {}
    tenant, key_id = authorizer.get("tenant_id"), authorizer.get("key_id")
    if not tenant or not key_id:
        raise Forbidden("no tenant in the authorizer context")
    # Authorizations cached before scopes existed carry none: every key was a full key then.
    scope = Scope(authorizer.get("scope") or Scope.ADMIN)
    # The authorizer's policy already keeps a key to its scope; this holds if a policy is too wide.
    path = router.current_event.path
    if not scope.allows(path):
        raise Forbidden(f"an API key of scope {scope!s} cannot reach {path}")
    return Caller(tenant, key_id, scope)


def tenant_id(router: Router) -> str:
    return caller(router).tenant_id
