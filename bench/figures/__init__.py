"""The figures. Each module registers its own with ``@figure``; they run and print in the order
they were registered. A new figure is one function in one of these modules, or in a new module
added to this import."""

from bench.figures import calls, cold_start, cost, local_runtime, robots, rule_scale, sources  # noqa: F401  (registers the figures)
