"""REQUEST authorizer: `Authorization: Bearer <key>` -> the key's tenant, or 401.

The tenant id goes into the authorizer context; routes read it from there and nowhere else. The
policy allows the whole API for the tenant so API Gateway can cache it (ReauthorizeEvery)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.service.tenants import authenticate

logger = Logger()


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict:
    header = event.headers.get("authorization") or event.headers.get("Authorization") or ""
    scheme, _, key = header.partition(" ")
    found = authenticate(key.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        logger.info("refused API key", extra={"source_ip": event.request_context.identity.source_ip})
        # API Gateway answers 401 for exactly this exception message.
        raise Exception("Unauthorized")
    tenant_id, key_id = found
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=f"{tenant_id}/{key_id}",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"tenant_id": tenant_id, "key_id": key_id},
    )
    policy.allow_all_routes()
    return policy.asdict()
