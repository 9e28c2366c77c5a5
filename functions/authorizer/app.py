"""REQUEST authorizer: `Authorization: Bearer <key>` -> the key's tenant and scope, or 401.

The tenant id, key id and scope go into the authorizer context; routes read them from there and
nowhere else. The policy allows what the key's scope covers, on every method, so API Gateway itself
refuses the rest (403) and can cache the answer per key (ReauthorizeEvery, 60 s: a revoked key may
pass that long, except on the key routes, which re-read the calling key). ``usageIdentifierKey``
names the tenant's usage key, by which API Gateway throttles the tenant (its usage plan).

This function is on the path of every request API Gateway has not cached, so it imports nothing
it can do without: the event is read as a plain dict (powertools' data_classes package imports
every event class) and it logs with the standard library, one JSON object a line as powertools'
Logger writes them (importing any of powertools loads its Logger, Metrics and tracer modules: a
twentieth of this function's cold start, which botocore's import and first client fill already)."""

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from crm.domain.keys import Scope
from crm.service.tenants import authenticate


class _JsonLines(logging.Handler):
    """One JSON object a line on standard output, which Lambda ships to CloudWatch Logs."""

    def emit(self, record: logging.LogRecord) -> None:
        entry = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "service": os.environ.get("POWERTOOLS_SERVICE_NAME", "authorizer"),
        }
        if record.exc_info:
            entry["exception"] = logging.Formatter().formatException(record.exc_info)
        print(json.dumps(entry | getattr(record, "fields", {}), default=str), flush=True)


logger = logging.getLogger("crm.authorizer")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper())
logger.propagate = False  # not again through the runtime's own handler on the root logger
if not logger.handlers:  # once a process: the local runtime and the tests may load this module again
    logger.addHandler(_JsonLines())


def _policy(method_arn: str, scope: Scope) -> dict:
    # arn:aws:execute-api:{region}:{account}:{api id}/{stage}/{method}/{path}: the scope's paths on
    # any method of this API and stage, so the cached answer serves the key's other requests too.
    prefix, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0]
    resources = [f"{prefix}/{stage}/*{pattern}" for pattern in scope.paths]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}],
    }


def lambda_handler(event: dict, context: Any) -> dict:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme, _, api_key = (headers.get("authorization") or "").partition(" ")
    found = authenticate(api_key.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        source_ip = event.get("requestContext", {}).get("identity", {}).get("sourceIp")
        fields = {"source_ip": source_ip, "function_request_id": context.aws_request_id}
        logger.info("refused API key", extra={"fields": fields})
        # API Gateway answers 401 for exactly this exception message.
        raise Exception("Unauthorized")
    key = found.key
    answer = {
        "principalId": f"{key.tenant_id}/{key.id}",
        "policyDocument": _policy(event["methodArn"], key.scope),
        "context": {"tenant_id": key.tenant_id, "key_id": key.id, "scope": key.scope.value},
    }
    if found.usage_key:
        answer["usageIdentifierKey"] = found.usage_key
    return answer
