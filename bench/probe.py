"""Cold-start probe, run by bench/.venv-runtime's python in a fresh process per sample:

    python -I bench/probe.py boto3|<function name> <repository root>

Imports boto3, or the function's app.py as Lambda does (its directory first on sys.path, the layer
after it), and prints the nanoseconds (wall clock) the import took. Only the standard library's
already loaded modules are used before the clock starts, so nothing is imported for free.
"""

import os
import sys
import time


def main() -> None:
    subject, root = sys.argv[1], sys.argv[2]
    if subject != "boto3":
        sys.path[:0] = [os.path.join(root, "functions", subject), os.path.join(root, "layers", "shared")]
    started = time.perf_counter_ns()
    __import__("boto3" if subject == "boto3" else "app")
    sys.stdout.write(f"{time.perf_counter_ns() - started}\n")


if __name__ == "__main__":
    main()
