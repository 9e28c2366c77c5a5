"""Cold-start probe, run by bench/.venv-runtime's python in a fresh process per sample:

    python -I bench/probe.py boto3|floor|<function name> <repository root> [EVENTS_FILE]

Imports boto3, or the function's handler module as Lambda does (its directory first on sys.path,
the layer after it), then hands the handler each event of EVENTS_FILE (a JSON list) in turn, as
the first invocations of a new container, each with a new X-Ray trace id as Lambda sets one. The
last line of stdout (the handlers log above it) is JSON: the nanoseconds (wall clock) of the
import and of each invocation, and what each invocation answered.

Only the standard library's already loaded modules are used before the clock starts, so nothing is
imported for free; the events file is read then and parsed after the import (json is loaded by
botocore by then).
"""

import os
import sys
import time


class LambdaContext:
    """The attributes of Lambda's context object that powertools reads."""

    def __init__(self, number: int) -> None:
        region = os.environ["AWS_REGION"]
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.aws_request_id = f"00000000-0000-4000-8000-{number:012d}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]00000000000000000000000000000000"
        self._deadline = time.monotonic() + 10

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def floor_handler(boto3):
    """The "floor" subject's handler: one DynamoDB client and one GetItem (of the key the event
    names), what any function's first DynamoDB call costs at least after `import boto3`."""

    def handler(event, context):
        key = {"pk": {"S": event["pk"]}, "sk": {"S": event["sk"]}}
        answer = boto3.client("dynamodb").get_item(TableName=os.environ["ITEMS_TABLE"], Key=key)
        return {"statusCode": answer["ResponseMetadata"]["HTTPStatusCode"]}

    return handler


def main() -> None:
    subject, root = sys.argv[1], sys.argv[2]
    raw_events = None
    if len(sys.argv) > 3:
        with open(sys.argv[3], "rb") as file:
            raw_events = file.read()
    if subject not in ("boto3", "floor"):
        sys.path[:0] = [os.path.join(root, "functions", subject), os.path.join(root, "layers", "shared")]
    module, _, attribute = os.environ.get("_HANDLER", "app.lambda_handler").rpartition(".")
    started = time.perf_counter_ns()
    imported = __import__("boto3" if subject in ("boto3", "floor") else module)
    result = {"import_ns": time.perf_counter_ns() - started, "calls_ns": [], "answers": []}
    import json  # loaded by the import above

    if raw_events is not None:
        handler = floor_handler(imported) if subject == "floor" else getattr(imported, attribute)
        for number, event in enumerate(json.loads(raw_events)):
            os.environ["_X_AMZN_TRACE_ID"] = (
                f"Root=1-5759e988-bd862e3fe1be46a9{number:08x};Parent=53995c3f42cd8ad8;Sampled=1"
            )
            started = time.perf_counter_ns()
            try:
                answer = handler(event, LambdaContext(number))
            except Exception as error:  # the answer Lambda would report: the bench judges it
                answer = {"errorType": type(error).__name__, "errorMessage": str(error)}
            result["calls_ns"].append(time.perf_counter_ns() - started)
            result["answers"].append(answer)
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
