"""REQUEST authorizer: `Authorization: Bearer <key>` -> the key's tenant, or 401.

The tenant id goes into the authorizer context; routes read it from there and nowhere else. The
policy allows the whole API for the tenant so API Gateway can cache it (ReauthorizeEvery).

The event is read as a plain dict: powertools' data_classes package imports every event class,
which costs this function (on the path of every uncached request) a sixth of its cold start."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.service.tenants import authenticate

logger = Logger()


def _policy(principal: str, method_arn: str, context: dict) -> dict:
    # arn:aws:execute-api:{region}:{account}:{api id}/{stage}/{method}/{path}: allow every route
    # of this API and stage, so the cached answer serves the tenant's other requests too.
    prefix, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0]
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{prefix}/{stage}/*/*"]}
            ],
        },
        "context": context,
    }


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme, _, key = (headers.get("authorization") or "").partition(" ")
    found = authenticate(key.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        source_ip = event.get("requestContext", {}).get("identity", {}).get("sourceIp")
        logger.info("refused API key", extra={"source_ip": source_ip})
        # API Gateway answers 401 for exactly this exception message.
        raise Exception("Unauthorized")
    tenant_id, key_id = found
    return _policy(f"{tenant_id}/{key_id}", event["methodArn"], {"tenant_id": tenant_id, "key_id": key_id})
