"""EventBridge as the template wires it: rules, their targets, and schedules.

moto matches events against rule patterns and delivers to SQS targets itself, but it never invokes
a Lambda target (it raises NotImplementedError for one) and never fires a schedule. So a function
target is given to moto as a private SQS queue that a worker here drains into the function, and
schedules are fired by ``Scheduler`` from the application's clock.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from moto.events.models import EventTemplateParser

from infra.functions import Function, by_arn
from infra.schedules import Expression, parse
from infra.sources import QueueReader, Worker, queue_name
from infra.template import Stack

log = logging.getLogger("infra.events")

# The function event types this module wires (the others are the API's or the event sources').
FUNCTION_EVENT_TYPES = ("EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2")


@dataclass
class Schedule:
    name: str
    expression: Expression
    deliver: Callable[[datetime], None]
    due: datetime | None = None


class Scheduler(Worker):
    """Fires schedules when the clock reaches them: each second in real time, and at once for
    the schedules that fall due when the clock is advanced (``advance``). The clock is the
    application's OffsetClock."""

    def __init__(self, clock: Any, stop: threading.Event) -> None:
        super().__init__("scheduler", stop)
        self.clock = clock
        self.schedules: list[Schedule] = []
        self._lock = threading.Lock()

    def add(self, name: str, expression: Expression, deliver: Callable[[datetime], None]) -> None:
        self.schedules.append(Schedule(name, expression, deliver, expression.next_after(self.clock.now())))

    def poll(self) -> None:
        with self._lock:
            while (schedule := self._next_due()) is not None and schedule.due <= self.clock.now():
                self._fire(schedule)
        self.stop.wait(1)

    def advance(self, by: timedelta) -> list[dict[str, str]]:
        """Move the clock forward by ``by``, stopping at each schedule's due time on the way so the
        function sees the time it was due at. Returns what fired."""
        with self._lock:
            # Real time flows meanwhile: aim at an offset, not at a moment.
            target = self.clock.offset + by
            fired = []
            while (schedule := self._next_due()) is not None:
                ahead = schedule.due - self.clock.now()
                if ahead > target - self.clock.offset:
                    break
                if ahead > timedelta(0):
                    self.clock.advance(ahead)
                fired.append({"schedule": schedule.name, "at": schedule.due.isoformat()})
                self._fire(schedule)
            self.clock.advance(max(timedelta(0), target - self.clock.offset))
            return fired

    def _next_due(self) -> Schedule | None:
        waiting = [schedule for schedule in self.schedules if schedule.due is not None]
        return min(waiting, key=lambda schedule: schedule.due) if waiting else None

    def _fire(self, schedule: Schedule) -> None:
        due = schedule.due
        assert due is not None
        log.info("schedule %s fires (due %s)", schedule.name, due.isoformat())
        schedule.deliver(due)
        schedule.due = schedule.expression.next_after(due)


class RuleTarget(Worker):
    """A rule's function target: the private queue moto delivers matching events to, drained into
    the function as asynchronous invocations."""

    def __init__(
        self,
        rule: str,
        target: dict[str, Any],
        function: Function,
        sqs: Any,
        account: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(f"rule {rule}->{function.name}", stop)
        self.rule = rule
        self.target = target
        self.function = function
        self.account = account
        self.reader = QueueReader(sqs, target["QueueArn"], batch_size=10, window=0)

    def poll(self) -> None:
        messages = self.reader.receive(self.stop)
        for message in messages:
            event = json.loads(message["Body"])
            if isinstance(event, dict):
                event.setdefault("account", self.account)  # moto leaves it out of the events it delivers
            log.info("%s <- rule %s", self.function.name, self.rule)
            self.function.invoke_async(target_input(self.target, event), f"rule {self.rule}")
        if messages:
            self.reader.delete(messages)


def target_input(target: dict[str, Any], event: Any) -> Any:
    """What a target receives: its constant Input, the InputPath part, or the whole event.
    (moto applies InputTransformer itself before the event reaches the private queue.)"""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        for key in target["InputPath"].removeprefix("$").strip(".").split("."):
            if key:
                event = event[key]
    return event


def wire(
    stack: Stack,
    functions: dict[str, Function],
    clients: dict[str, Any],
    scheduler: Scheduler,
    stop: threading.Event,
) -> list[Worker]:
    """Create the template's rules in moto (explicit AWS::Events::Rule resources and the rules SAM
    makes for EventBridgeRule/Schedule/ScheduleV2 function events) and return the workers that
    deliver to function targets."""
    wiring = _Wiring(stack, functions, clients, scheduler, stop)
    for logical_id in stack.of_type("AWS::Events::Rule"):
        props = stack.resolve(stack.resources[logical_id]["Properties"])
        wiring.rule(stack.name(logical_id), props, props.get("Targets", []))
    for function in functions.values():
        for event_name, event in function.events.items():
            wiring.function_event(function, event_name, event)
    return wiring.workers


class _Wiring:
    def __init__(
        self,
        stack: Stack,
        functions: dict[str, Function],
        clients: dict[str, Any],
        scheduler: Scheduler,
        stop: threading.Event,
    ) -> None:
        self.stack = stack
        self.functions = by_arn(functions)
        self.events = clients["events"]
        self.sqs = clients["sqs"]
        self.scheduler = scheduler
        self.stop = stop
        self.workers: list[Worker] = []

    def function_event(self, function: Function, event_name: str, event: dict[str, Any]) -> None:
        props = event.get("Properties", {})
        # The name SAM gives the rule or schedule it generates for the event.
        name = props.get("RuleName", props.get("Name", f"{function.logical_id}{event_name}"))
        state = props.get("State", "ENABLED" if props.get("Enabled", True) else "DISABLED")
        target = {"Id": props.get("Target", {}).get("Id", f"{name}LambdaTarget"), "Arn": function.arn}
        match event["Type"]:
            case "EventBridgeRule" | "CloudWatchEvent":
                target |= {
                    key: props[key] for key in ("Input", "InputPath", "InputTransformer") if key in props
                }
                bus = props.get("EventBusName", "default")
                self.rule(
                    name, {"EventPattern": props["Pattern"], "EventBusName": bus, "State": state}, [target]
                )
            case "Schedule" if state == "ENABLED":
                target |= {key: props[key] for key in ("Input",) if key in props}
                rule_arn = self.stack.arn("events", f"rule/{name}")
                self.schedule(name, props["Schedule"], "UTC", [target], rule_arn)
            case "ScheduleV2" if state == "ENABLED":
                # EventBridge Scheduler sends its Input verbatim, not an EventBridge event.
                payload = json.loads(props.get("Input", "{}"))
                zone = props.get("ScheduleExpressionTimezone", "UTC")
                expression = parse(props["ScheduleExpression"], anchor=self.scheduler.clock.now(), zone=zone)
                self.scheduler.add(
                    name, expression, lambda _due: function.invoke_async(payload, f"schedule {name}")
                )

    def rule(self, name: str, props: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        bus = props.get("EventBusName", "default").rsplit("event-bus/", 1)[-1]
        state = props.get("State", "ENABLED")
        if "ScheduleExpression" in props:
            if state == "ENABLED":
                arn = self.stack.arn("events", f"rule/{name}")
                self.schedule(name, props["ScheduleExpression"], "UTC", targets, rule_arn=arn)
            return
        pattern = props["EventPattern"]
        self.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=pattern if isinstance(pattern, str) else json.dumps(pattern),
            State=state,
        )
        moto_targets = []
        for target in targets:
            function = self.functions.get(target["Arn"])
            if function is None:
                moto_targets.append(_moto_target(target))
                continue
            queue = re.sub(r"[^A-Za-z0-9_-]", "-", f"local-{name}-{target['Id']}")[:80]
            url = self.sqs.create_queue(QueueName=queue)["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            moto_targets.append(_moto_target({**target, "Arn": arn}))
            account = self.stack.account_id
            self.workers.append(
                RuleTarget(name, {**target, "QueueArn": arn}, function, self.sqs, account, self.stop)
            )
        if moto_targets:
            self.events.put_targets(Rule=name, EventBusName=bus, Targets=moto_targets)

    def schedule(
        self, name: str, expression: str, zone: str, targets: list[dict[str, Any]], rule_arn: str
    ) -> None:
        def deliver(due: datetime) -> None:
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": self.stack.account_id,
                "time": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.stack.region,
                "resources": [rule_arn],
                "detail": {},
            }
            for target in targets:
                payload = target_input(target, event)
                if "InputTransformer" in target:
                    transformer = target["InputTransformer"]
                    payload = EventTemplateParser.parse(
                        transformer["InputTemplate"], transformer.get("InputPathsMap", {}), event
                    )
                function = self.functions.get(target["Arn"])
                if function is not None:
                    function.invoke_async(payload, f"schedule {name}")
                elif ":sqs:" in target["Arn"]:
                    url = self.sqs.get_queue_url(QueueName=queue_name(target["Arn"]))["QueueUrl"]
                    self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(payload))
                else:
                    log.warning("schedule %s: target %s is not emulated locally", name, target["Arn"])

        self.scheduler.add(name, parse(expression, anchor=self.scheduler.clock.now(), zone=zone), deliver)


def _moto_target(target: dict[str, Any]) -> dict[str, Any]:
    keys = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "SqsParameters", "RoleArn")
    return {key: target[key] for key in keys if key in target}
