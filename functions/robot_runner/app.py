"""Robot runner: each message of the run queue is one due run, run once (``crm.service.robots.runner``).

A run that another runner still holds is handed back to the queue for later; one that failed every
attempt goes to the run queue's dead-letter queue and counts in the ``RobotRunFailed`` metric."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm import batches
from crm.adapters.run_queue import SqsRunQueue
from crm.adapters.runs import Busy
from crm.domain.robots import RunState
from crm.service.robots.ports import deployed_ports
from crm.service.robots.runner import LEASE, handle

if (PUBLIC_BASE_URL := os.environ.get("PUBLIC_BASE_URL")) is None:
    raise OSError("PUBLIC_BASE_URL is not set: the template sets it to the API's public URL")

logger = Logger()
metrics = Metrics()
QUEUE = SqsRunQueue()
_ports = None


def _run(body: str) -> None:
    global _ports
    if _ports is None:
        # Made on first use: the local runtime gives its API's address once it listens.
        _ports = deployed_ports(os.environ["PUBLIC_BASE_URL"], LEASE)
    ran = handle(body, _ports, QUEUE)
    if ran is not None and ran.run.state is RunState.FAILED:
        metrics.add_metric(name="RobotRunFailed", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return batches.each(event["Records"], _run, logger, "a robot run", later=(Busy,))
