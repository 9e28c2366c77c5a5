"""Robot sweeper: every minute (a scheduled rule), the delayed runs that fell due go to the run queue
(``crm.service.robots.sweeper``)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm.adapters.run_queue import SqsRunQueue
from crm.service.robots.sweeper import sweep

logger = Logger()
QUEUE = SqsRunQueue()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    swept = sweep(QUEUE)
    logger.info("swept", extra=vars(swept))
    return vars(swept)
