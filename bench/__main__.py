"""`python -m bench [--quick] [--only PATTERN ...] [--output PATH] [--markdown] [--show] [--list]`

Exits 1 when a figure could not be measured; a figure over its budget is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.registry import Run, as_json, measure_all, selected, table, write_json

RESULTS = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a reduced run (up to 1,000 rules, fewer cold starts)"
    )
    parser.add_argument("--only", action="append", metavar="PATTERN", help="figures matching a glob")
    parser.add_argument(
        "--output",
        type=Path,
        help="results file (default: bench/results.json after a full run; --quick and --only runs "
        "write one only when given this)",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--show", action="store_true", help="print bench/results.json's table, measure nothing"
    )
    parser.add_argument("--list", action="store_true", help="list the figures and exit")
    args = parser.parse_args(argv)

    if args.show:
        print(table(json.loads((args.output or RESULTS).read_text()), markdown=args.markdown))
        return 0

    import bench.figures  # noqa: F401  (registers the figures)

    figures = selected(args.only, args.quick)
    if args.list:
        for fig in figures:
            print(f"{fig.name:40} {fig.title}")
        return 0
    if not figures:
        print("no figure matches", file=sys.stderr)
        return 1

    started = time.perf_counter()
    run = Run(quick=args.quick)
    try:
        results = measure_all(run, figures, lambda text: print(text, file=sys.stderr, flush=True))
    finally:
        run.close()
    data = as_json(results)
    print(table(data, markdown=args.markdown))
    output = args.output or (None if args.quick or args.only else RESULTS)
    if output is not None:
        write_json(data, output)
        print(f"wrote {output}", file=sys.stderr)
    print(f"{len(results)} figures in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 1 if any(r.verdict == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
