"""The robot runs' dead-letter queue, re-driven by an operator (``scripts/redrive_robot_runs.py``).

The queue holds two kinds of message, both a run's JSON form:

- a run that failed every attempt (the runner sent it, state ``failed``): queued again with its
  attempts renewed (``runner.redrive``), once: a run re-driven already is not failed any more;
- a run the run queue gave up on after five deliveries (the runner could not take it: its storage
  was down, it crashed), still ``queued`` or ``running`` in its record: nothing else would run it,
  so its message goes back to the run queue as it was; the runner's claim runs it once.

A run that is neither (done, cancelled, skipped, re-driven already, expired) is skipped; a message
that is not a run is kept in the queue for a person to read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from crm.adapters import runs
from crm.domain.robots import Run, RunState
from crm.service.robots import RunQueue
from crm.service.robots.runner import redrive


class Outcome(StrEnum):
    RE_DRIVEN = "re_driven"
    SKIPPED = "skipped"  # the message is deleted: there is nothing to run
    KEPT = "kept"  # the message stays in the dead-letter queue


@dataclass(frozen=True)
class Handled:
    outcome: Outcome
    reason: str
    run_id: str | None = None


NOT_A_RUN = "not a robot run"
# Runs the run queue gave up on: their records say they still wait for a runner.
_STUCK = (RunState.QUEUED, RunState.RUNNING)


def redrive_message(body: str, queue: RunQueue) -> Handled:
    """One message of the dead-letter queue: the run it names re-driven, or why not."""
    try:
        message = Run.from_dict(json.loads(body))
    except (TypeError, ValueError, KeyError, AttributeError):
        return Handled(Outcome.KEPT, NOT_A_RUN)
    if message.state is RunState.FAILED and redrive(message, queue) is not None:
        return Handled(Outcome.RE_DRIVEN, "failed: queued again with its attempts renewed", message.id)
    stored = runs.get(message.tenant_id, message.item, message.id)
    if message.state is not RunState.FAILED and stored is not None and stored.state in _STUCK:
        queue.send([message])
        return Handled(Outcome.RE_DRIVEN, f"{stored.state}: the run queue had given up on it", message.id)
    if stored is None:
        return Handled(Outcome.SKIPPED, "the run is gone (expired)", message.id)
    return Handled(Outcome.SKIPPED, f"not failed any more: {stored.state}", message.id)
