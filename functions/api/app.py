"""Management API: employees, item types, pipelines and stages, items, automation rules, API keys."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.api import app

# No powertools Tracer: with the template's active tracing Lambda records this function's segments
# itself, and the X-Ray SDK the Tracer imports would cost every cold start (docs/performance.md).
logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
