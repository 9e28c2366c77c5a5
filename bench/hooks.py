"""Every AWS call the process makes, by function, service and operation, from botocore's events.

``install()`` adds handlers to ``botocore.handlers.BUILTIN_HANDLERS``: every botocore session made
afterwards registers them (moto reaches every client the same way), including the sessions pynamodb
makes for itself, which a hook on boto3's default session would miss. It must therefore run before
the first client is made. 'before-parameter-build' fires once per API call (not per retry), with
the call's parameters; 'after-call' sees the parsed response, from which DynamoDB request units are
estimated (``bench.capacity``).

Time spent inside moto's backend (the fake service) is accumulated too, so a timing can be reduced
to the client side: what would run inside the Lambda function.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from bench import capacity


@dataclass
class Call:
    function: str  # the label of the scope that made it ("api", "authorizer", "fanout", ...)
    service: str  # botocore service id: "DynamoDB", "EventBridge", ...
    operation: str
    params: dict[str, Any]
    units: capacity.Units = field(default_factory=capacity.Units)

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


class Calls(list[Call]):
    """The calls of one measured operation, with the views the figures need."""

    def of(self, function: str | None = None, service: str | None = None) -> Calls:
        return Calls(
            c
            for c in self
            if (function is None or c.function == function) and (service is None or c.service == service)
        )

    def by_operation(self) -> dict[str, int]:
        return dict(sorted(Counter(c.name for c in self).items()))

    def by_function(self) -> dict[str, dict[str, int]]:
        return {f: self.of(function=f).by_operation() for f in dict.fromkeys(c.function for c in self)}

    def units(self) -> capacity.Units:
        return sum((c.units for c in self), capacity.Units())


class CallLog:
    def __init__(self) -> None:
        self.calls = Calls()
        self.function = "setup"
        self.backend_seconds = 0.0  # CPU seconds inside moto's backend
        self.enabled = True
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        BUILTIN_HANDLERS.append(("before-parameter-build", self._before_call))
        BUILTIN_HANDLERS.append(("after-call", self._after_call))
        self._time_moto_backend()
        self._installed = True

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self.enabled:
            return
        call = Call(self.function, model.service_model.service_id, model.name, params)
        if call.service == "DynamoDB":
            capacity.before(call.operation, params, context)
        context["bench_call"] = call
        self.calls.append(call)

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = context.get("bench_call")
        if call is not None and call.service == "DynamoDB":
            call.units = capacity.units(call.operation, call.params, parsed, context)

    def _time_moto_backend(self) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        if getattr(BotocoreStubber.__call__, "bench_timed", False):
            return
        original = BotocoreStubber.__call__
        log = self

        def timed(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return original(stubber, event_name, request, **kwargs)
            finally:
                log.backend_seconds += time.process_time() - started

        timed.bench_timed = True  # type: ignore[attr-defined]
        BotocoreStubber.__call__ = timed  # type: ignore[method-assign]

    @contextmanager
    def scope(self, function: str) -> Iterator[None]:
        """Calls made inside are attributed to ``function``."""
        outer, self.function = self.function, function
        try:
            yield
        finally:
            self.function = outer

    @contextmanager
    def off(self) -> Iterator[None]:
        """Calls made inside are not logged (bulk setup: no bookkeeping for 100,000 writes)."""
        outer, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = outer

    @contextmanager
    def recording(self) -> Iterator[Calls]:
        """The calls made inside the block (filled in when it ends)."""
        start = len(self.calls)
        made = Calls()
        try:
            yield made
        finally:
            made.extend(self.calls[start:])


LOG = CallLog()
