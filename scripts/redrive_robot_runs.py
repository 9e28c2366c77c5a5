"""Operator command: re-drive the robot runs in the runs' dead-letter queue (RobotRunsDLQ).

    make redrive-robot-runs ARGS="--stack crm-automation-dev --queue-url https://sqs.../RobotRunsDLQ"
    make redrive-robot-runs ARGS="--endpoint http://127.0.0.1:PORT --queue-url ... --max 50"  # local

Reads the queue (long polling) until it is empty or --max messages were handled. A run that failed
every attempt is queued again with its attempts renewed, once (a run re-driven already is skipped);
a run the run queue gave up on is sent to it again (the runner runs it once); a run that ended
otherwise is skipped. Those messages are deleted. A message that is not a run, or whose re-drive
failed, stays in the queue (visible again when the command ends) and is reported.

Standard output is one JSON document: {"received", "re_driven", "skipped", "kept", "by_reason"}.
The exit status is 1 when a message was kept. The run queue is the one whose redrive policy
names this dead-letter queue (or --run-queue-url). With --stack the table names come from the
stack's outputs; with --endpoint (the local runtime's moto endpoint, in .local/demo.json) from the
template; with neither, from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = {
    "ItemsTableName": "ITEMS_TABLE",
    "AutomationTableName": "AUTOMATION_TABLE",
    "TenantsTableName": "TENANTS_TABLE",
    "RunsTableName": "RUNS_TABLE",
}
# A message being re-driven is hidden this long from other readers of the queue.
VISIBILITY_SECONDS = 60


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queue-url", required=True, help="the URL of the runs' dead-letter queue")
    parser.add_argument("--run-queue-url", help="the run queue (default: the one that dead-letters here)")
    parser.add_argument("--max", type=int, default=1000, help="handle at most this many messages (1000)")
    parser.add_argument(
        "--wait",
        type=int,
        default=10,
        choices=range(21),
        metavar="0-20",
        help="seconds each receive waits for a message (long polling; 10)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="name of the deployed CloudFormation stack")
    where.add_argument("--endpoint", help="AWS endpoint of the local runtime (its moto server)")
    args = parser.parse_args(argv)
    if args.max < 1:
        parser.error("--max: at least 1")
    return args


def _environment(args: argparse.Namespace) -> dict[str, str]:
    if args.stack:
        try:
            stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        except (BotoCoreError, ClientError) as error:
            raise SystemExit(f"redrive_robot_runs: stack {args.stack}: {error}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return {variable: outputs[output] for output, variable in OUTPUTS.items() if output in outputs}
    if args.endpoint:
        sys.path.insert(0, str(ROOT))
        from infra.template import Stack

        environment = Stack.load(ROOT / "template.yaml").environment()
        environment.update(
            AWS_ENDPOINT_URL=args.endpoint, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local"
        )
        environment.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"))
        return environment
    return {}


def _run_queue_url(sqs: Any, dead_letter_url: str) -> str:
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dead_letter_url).get("queueUrls", [])
    if len(sources) != 1:
        raise SystemExit(
            f"redrive_robot_runs: {len(sources)} queues dead-letter to {dead_letter_url}: name the run "
            "queue with --run-queue-url"
        )
    return sources[0]


def redrive(sqs: Any, dead_letter_url: str, run_queue_url: str, most: int, wait: int) -> dict[str, Any]:
    """Every message of the dead-letter queue, up to ``most``, handled once; the summary."""
    from crm.adapters.run_queue import SqsRunQueue
    from crm.service.robots.dead_letters import Handled, Outcome, redrive_message

    queue = SqsRunQueue(run_queue_url, dead_letter_url)
    counts: Counter[tuple[str, str]] = Counter()
    kept: list[str] = []  # receipt handles of the messages left in the queue
    received = 0
    while received < most:
        answer = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=min(10, most - received),
            WaitTimeSeconds=wait,
            VisibilityTimeout=VISIBILITY_SECONDS,
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            received += 1
            try:
                handled = redrive_message(message["Body"], queue)
            except Exception as error:  # reported, and the message kept: the others go on
                handled = Handled(Outcome.KEPT, f"re-drive failed: {type(error).__name__}: {error}")
            counts[(handled.outcome.value, handled.reason)] += 1
            if handled.outcome is Outcome.KEPT:
                kept.append(message["ReceiptHandle"])
            else:
                sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
    # What stays is visible again at once, for the next run of this command or a person.
    for start in range(0, len(kept), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for n, handle in enumerate(kept[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=dead_letter_url, Entries=entries)
    by_reason: dict[str, dict[str, int]] = {}
    for (outcome, reason), n in sorted(counts.items()):
        by_reason.setdefault(outcome, {})[reason] = n
    totals: Counter[str] = Counter()
    for (outcome, _), n in counts.items():
        totals[outcome] += n
    return {
        "received": received,
        "re_driven": totals[Outcome.RE_DRIVEN.value],
        "skipped": totals[Outcome.SKIPPED.value],
        "kept": totals[Outcome.KEPT.value],
        "by_reason": by_reason,
    }


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    os.environ.update(_environment(args))
    missing = [v for v in OUTPUTS.values() if v not in os.environ]
    if missing:
        print(f"redrive_robot_runs: table names not found: {missing}", file=sys.stderr)
        return 2
    # The application's code reads the table names when imported: only now.
    sys.path.insert(0, str(ROOT / "layers" / "shared"))
    from crm.adapters.clients import client

    sqs = client("sqs")
    try:
        run_queue_url = args.run_queue_url or _run_queue_url(sqs, args.queue_url)
        summary = redrive(sqs, args.queue_url, run_queue_url, args.max, args.wait)
    except (BotoCoreError, ClientError) as error:
        print(f"redrive_robot_runs: AWS refused: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 1 if summary["kept"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
