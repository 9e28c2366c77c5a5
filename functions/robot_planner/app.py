"""Robot planner: ``StageChanged`` and ``ItemCreated`` (StageChangedRule -> StageChangedQueue) plan the
robots of the stage the item entered and cancel the pending runs of the stage it left
(``crm.service.robots.planner``)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm import batches
from crm.adapters.run_queue import SqsRunQueue
from crm.service.robots.planner import handle

logger = Logger()
QUEUE = SqsRunQueue()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return batches.each(event["Records"], lambda body: handle(body, QUEUE), logger, "a stage entry")
