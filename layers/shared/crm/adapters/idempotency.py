"""Exactly-once effects for requests that may be repeated (a client retrying a POST with the same
Idempotency-Key, later a provider redelivering its event): powertools idempotency on the
idempotency table, with keys that begin with the tenant id."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from crm.domain.errors import Conflict, Invalid

# The key and the body decide: the same key with another body is a client mistake, not a repeat.
CONFIG = IdempotencyConfig(
    event_key_jmespath="key",
    payload_validation_jmespath="body",
    expires_after_seconds=24 * 3600,
)


@cache
def _store() -> DynamoDBPersistenceLayer:
    # Built on first use: its boto3 client must see the region and endpoint of the process.
    return DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


def once(
    tenant_id: str, scope: str, key: str, body: dict[str, Any], action: Callable[[], dict], context: Any
) -> dict:
    """``action()``'s result, computed once per (tenant, scope, key) within a day. ``context`` (the
    Lambda context) lets an in-progress record expire with the invocation that wrote it."""
    CONFIG.register_lambda_context(context)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=_store(),
        config=CONFIG,
        key_prefix=f"{tenant_id}#{scope}",
    )
    def run(request: dict[str, Any]) -> dict:
        return action()

    try:
        return run(request={"key": key, "body": body})
    except IdempotencyValidationError:
        raise Invalid("this Idempotency-Key was used with another request body") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("a request with this Idempotency-Key is still being processed") from None
