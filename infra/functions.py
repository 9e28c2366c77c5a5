"""The template's functions, imported and called in this process the way Lambda calls them.

Every handler file is ``app.py``, so each is loaded under a module name of its own. A function's
environment is in ``os.environ`` while its module is imported, because pynamodb binds table names
and powertools reads its settings when their classes and objects are created.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.template import Stack

log = logging.getLogger("infra.functions")

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Invocations of one function running at once, unless the template reserves a concurrency for it.
DEFAULT_CONCURRENCY = 10

# powertools' event handler keeps the event it is resolving in class-level state
# (``BaseRouter.current_event``) that every resolver in the process shares: two events resolved at
# once would read each other's request, tenant included. Lambda never runs two events in one
# process; here, the functions that resolve events with it take turns.
_RESOLVER_TURN = threading.Lock()


@dataclass
class LambdaContext:
    """The context object Lambda passes as the handler's second argument."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


class FunctionError(Exception):
    """The handler raised, or returned something Lambda could not serialise."""

    def __init__(self, function: str, error_type: str, message: str, trace: str = "") -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.function = function
        self.error_type = error_type
        self.message = message
        self.trace = trace


class Function:
    def __init__(self, stack: Stack, logical_id: str, sqs: Any = None) -> None:
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        self.logical_id = logical_id
        self.name = stack.name(logical_id)
        self.arn = stack.attribute(logical_id, "Arn")
        self.timeout = float(props.get("Timeout", 3))
        self.memory = int(props.get("MemorySize", 128))
        self.environment = stack.function_environment(logical_id)
        self.events: dict[str, dict[str, Any]] = props.get("Events", {})
        # Asynchronous invocations (EventBridge, schedules, SES Event actions): Lambda retries a
        # failure twice unless EventInvokeConfig says otherwise, then uses the dead-letter queue.
        self.async_retries = int(props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2))
        dead_letter = props.get("DeadLetterQueue", {})
        self.dead_letter_queue = dead_letter.get("TargetArn") if dead_letter.get("Type") == "SQS" else None
        self.sqs = sqs
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            raise ValueError(f"{logical_id}: CodeUri must be a local folder to run locally, not {code_uri!r}")
        self.code_dir = (stack.root / code_uri).resolve()
        self.handler_name: str = props["Handler"]
        layer_dirs = {
            stack.attribute(lid, "Ref"): (stack.root / res["Properties"]["ContentUri"]).resolve()
            for lid, res in stack.of_type("AWS::Serverless::LayerVersion").items()
        }
        # A layer that is not in this template (an ARN from elsewhere) has no source here to run.
        self.layer_dirs = [layer_dirs[arn] for arn in props.get("Layers", []) if arn in layer_dirs]
        self._handler: Callable[[Any, Any], Any] | None = None
        # Lambda runs each event in a sandbox of its own, up to the function's concurrency; here the
        # sandboxes share the handler's module (its warm caches and clients). 0 (throttled) is not
        # emulated.
        self.concurrency = int(props.get("ReservedConcurrentExecutions") or DEFAULT_CONCURRENCY)
        self._sandboxes = threading.BoundedSemaphore(self.concurrency)
        self._turn: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()

    def load(self) -> None:
        """Import the handler module (its layers must be on sys.path already)."""
        module_path, _, attribute = self.handler_name.rpartition(".")
        source = self.code_dir / f"{module_path.replace('.', '/')}.py"
        module_name = f"lambda_{self.logical_id}"
        spec = importlib.util.spec_from_file_location(module_name, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"{self.logical_id}: no handler module at {source}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        # The function's own folder comes first on the path while it imports, as /var/task does.
        sys.path.insert(0, str(self.code_dir))
        try:
            with _environment(self.environment):
                spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(self.code_dir))
        self.use(getattr(module, attribute))

    def use(self, handler: Callable[[Any, Any], Any]) -> None:
        """Run ``handler`` for this function: what ``load`` imported, or a handler the caller has
        imported itself (to drive the gateway in-process)."""
        self._handler = handler
        module = sys.modules.get(getattr(handler, "__module__", ""))
        resolves = module is not None and _resolves_with_powertools(module)
        if resolves:
            log.info("%s resolves events with powertools: one at a time in this process", self.name)
        self._turn = _RESOLVER_TURN if resolves else contextlib.nullcontext()

    def context(self) -> LambdaContext:
        return LambdaContext(self.name, self.arn, self.memory, self.timeout)

    def invoke(self, event: Any) -> Any:
        """Call the handler with ``event`` as Lambda would: the event and the result cross a JSON
        boundary; up to ``concurrency`` invocations run at once, the next waits for a free sandbox.
        Raises FunctionError when the handler fails."""
        if self._handler is None:
            raise RuntimeError(f"{self.logical_id} is not loaded")
        payload = json.loads(json.dumps(event))
        with self._sandboxes, self._turn:
            context = self.context()
            try:
                result = self._handler(payload, context)
            except Exception as error:
                raise FunctionError(
                    self.name, type(error).__name__, str(error), traceback.format_exc()
                ) from error
            finally:
                elapsed = time.monotonic() - context._started
                if elapsed > self.timeout:
                    log.warning(
                        "%s ran %.1fs, over its %.0fs Timeout: Lambda would have stopped it",
                        self.name,
                        elapsed,
                        self.timeout,
                    )
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            raise FunctionError(self.name, "Runtime.MarshalError", str(error)) from error

    def invoke_async(self, event: Any, source: str) -> None:
        """An asynchronous invocation: failures are logged and retried as Lambda retries them
        (without Lambda's minutes of back-off), then the event goes to the dead-letter queue."""
        for attempt in range(1 + self.async_retries):
            try:
                self.invoke(event)
                return
            except FunctionError as error:
                log.error(
                    "%s <- %s failed (attempt %d): %s\n%s", self.name, source, attempt + 1, error, error.trace
                )
                failure = error
        if self.dead_letter_queue is not None and self.sqs is not None:
            url = self.sqs.get_queue_url(QueueName=self.dead_letter_queue.rsplit(":", 1)[1])["QueueUrl"]
            # What Lambda sends to a function's dead-letter queue: the event, the error as attributes.
            self.sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {
                        "DataType": "String",
                        "StringValue": failure.message[:1000] or failure.error_type,
                    },
                },
            )
            log.error("%s: event from %s sent to the dead-letter queue", self.name, source)


def _resolves_with_powertools(module: Any) -> bool:
    api_gateway = sys.modules.get("aws_lambda_powertools.event_handler.api_gateway")
    return api_gateway is not None and any(
        isinstance(value, api_gateway.BaseRouter) for value in vars(module).values()
    )


@contextlib.contextmanager
def _environment(variables: dict[str, str]):
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def functions_of(stack: Stack, sqs: Any = None) -> dict[str, Function]:
    """Every AWS::Serverless::Function of the stack by logical id, not imported yet. ``sqs``
    reaches their dead-letter queues."""
    return {lid: Function(stack, lid, sqs) for lid in stack.of_type(SERVERLESS_FUNCTION)}


def by_arn(functions: dict[str, Function]) -> dict[str, Function]:
    return {function.arn: function for function in functions.values()}
