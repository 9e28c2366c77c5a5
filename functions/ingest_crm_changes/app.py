"""CRM changes -> triggers: ``ItemUpdated`` events (ItemUpdatedRule -> CrmChangesQueue) applied to
their items as *field value changed* and *responsible changed* events (``crm.ingest.crm_changes``).

The batch is read as plain dicts, as the fan-out reads its stream: powertools' batch utility
imports every one of its event classes, a cold-start cost this function does not need. A message
that fails is reported alone (ReportBatchItemFailures), so SQS delivers only it again."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.ingest.crm_changes import handle_batch, logger


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle_batch(event["Records"])
