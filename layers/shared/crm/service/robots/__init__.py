"""Robots: the planner (an item entered a stage: plan that stage's robots, cancel the runs of the
stage it left), the runner (run one due run, once) and the sweeper (every minute: queue the delayed
runs that fell due). Each takes the run queue and the ports it acts through, so the local runtime,
the tests and the deployed functions give each their own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crm.domain.robots import Run


class RunQueue(Protocol):
    def send(self, runs: Sequence[Run]) -> None:
        """Each run to the runner (the run queue)."""

    def dead_letter(self, run: Run, reason: str) -> None:
        """A run that failed every attempt, kept for an operator (the run queue's DLQ)."""
