"""Figures: one small function each, registered with ``@figure``; a run measures them in order.

A figure function takes the ``Run`` and returns a number or a ``Measured`` (the number with the
detail behind it). Work that several figures share (a moto world, the calls of one operation) goes
through ``run.shared(fn)``, which computes ``fn(run)`` once per run.

    @figure("calls.rules_load.cold", unit="calls", budget=1)
    def rules_load_cold(run: Run) -> Measured:
        ...

The verdict is "ok" when the value is at most the budget (at least it, for a figure registered with
``at_least=True``, such as a rate), "over budget" otherwise, "info" for figures without a budget,
and "error" when the figure could not be measured (the run then exits 1).
"""

from __future__ import annotations

import fnmatch
import json
import math
import sys
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measured:
    value: float
    detail: dict[str, Any] = field(default_factory=dict)
    informative: bool = False  # measured under conditions the budget does not apply to: "info"


@dataclass(frozen=True)
class Figure:
    name: str
    measure: Callable[[Run], Measured | float]
    unit: str
    budget: float | None
    title: str
    full_only: bool  # skipped by --quick
    at_least: bool = False  # the budget is a floor (a rate), not a ceiling


@dataclass(frozen=True)
class Result:
    figure: Figure
    value: float | None
    verdict: str
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.figure.unit,
            "budget": self.figure.budget,
            "verdict": self.verdict,
            "title": self.figure.title,
        }
        if self.figure.at_least:
            out["at_least"] = True
        if self.detail:
            out["detail"] = self.detail
        return out


FIGURES: dict[str, Figure] = {}


def figure(
    name: str,
    *,
    unit: str,
    budget: float | None = None,
    at_least: bool = False,
    full_only: bool = False,
    title: str | None = None,
) -> Callable[[Callable[[Run], Measured | float]], Callable[[Run], Measured | float]]:
    """Registers a figure; its title is the first line of the function's docstring unless given."""

    def register(measure: Callable[[Run], Measured | float]) -> Callable[[Run], Measured | float]:
        if name in FIGURES:
            raise ValueError(f"figure {name} is registered twice")
        title_ = title or (measure.__doc__ or name).strip().splitlines()[0]
        FIGURES[name] = Figure(name, measure, unit, budget, title_, full_only, at_least)
        return measure

    return register


class Run:
    """What the figures of one run share: the mode, memoised measurements, resources to close."""

    def __init__(self, *, quick: bool = False) -> None:
        self.quick = quick
        self.resources = ExitStack()
        self._shared: dict[Callable[[Run], Any], Any] = {}

    def shared(self, fn: Callable[[Run], Any]) -> Any:
        if fn not in self._shared:
            try:
                self._shared[fn] = fn(self)
            except Exception as error:
                # Every figure that needs it fails the same way; do not measure it again.
                self._shared[fn] = error
        found = self._shared[fn]
        if isinstance(found, Exception):
            raise found
        return found

    def close(self) -> None:
        self.resources.close()


def verdict(value: float, budget: float | None, at_least: bool = False) -> str:
    if budget is None:
        return "info"
    return "ok" if (value >= budget if at_least else value <= budget) else "over budget"


def _rounded(value: float) -> float:
    if isinstance(value, int) or value == int(value):
        return int(value)
    digits = 2 - math.floor(math.log10(abs(value)))  # three significant digits
    return round(value, max(digits, 2))


def selected(patterns: list[str] | None, quick: bool) -> list[Figure]:
    figures = [f for f in FIGURES.values() if not (quick and f.full_only)]
    if patterns:
        figures = [f for f in figures if any(fnmatch.fnmatchcase(f.name, p) for p in patterns)]
    return figures


def measure_all(run: Run, figures: list[Figure], progress: Callable[[str], None]) -> list[Result]:
    results = []
    for fig in figures:
        progress(f"measuring {fig.name} ...")
        try:
            measured = fig.measure(run)
            if not isinstance(measured, Measured):
                measured = Measured(measured)
            value: float | None = _rounded(measured.value)
            outcome = "info" if measured.informative else verdict(value, fig.budget, fig.at_least)
            detail = measured.detail
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            value, outcome, detail = None, "error", {"error": f"{type(error).__name__}: {error}"}
        results.append(Result(fig, value, outcome, detail))
    return results


def as_json(results: list[Result]) -> dict[str, dict[str, Any]]:
    """The results file's content: one key per figure."""
    return {r.figure.name: r.as_json() for r in results}


def write_json(data: dict[str, dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,}"


def table(data: dict[str, dict[str, Any]], markdown: bool = False) -> str:
    """Results (as in the results file) as a plain-text table, or a Markdown one for the docs."""
    head = ("figure", "value", "unit", "budget", "verdict")
    rows = [
        (
            name,
            _number(f["value"]),
            f["unit"],
            ("≥ " if f.get("at_least") else "") + _number(f["budget"]),
            f["verdict"],
        )
        for name, f in data.items()
    ]
    if markdown:
        lines = ["| figure | value | unit | budget | verdict | what |", "|---|--:|---|--:|---|---|"]
        lines += [f"| `{row[0]}` | {' | '.join(row[1:])} | {data[row[0]]['title']} |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in column) for column in zip(head, *rows, strict=True)]
    align = ["<", ">", "<", ">", "<"]
    fmt = "  ".join(f"{{:{a}{w}}}" for a, w in zip(align, widths, strict=True))
    lines = [fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row).rstrip() for row in rows]
    return "\n".join(lines)
