"""The performance harness: `python -m bench` (or `make bench`) measures what the application costs
per operation and how that grows, and writes bench/results.json. See docs/performance.md.

The repository root (for ``tests`` and ``infra``) and the layer (for ``crm``, as Lambda puts it on
the path) are importable from here on."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "layers" / "shared", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
