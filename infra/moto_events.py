"""moto's EventBridge without its slowest step: for every event it delivers to a target, moto
compiles the input paths of the target's input template with ``jsonpath_ng.ext.parse``, and the
parser is rebuilt each time (about 3 ms an event, most of a PutEvents call). The local runtime
compiles each path once.
"""

from __future__ import annotations

import functools
import threading

import jsonpath_ng.ext

_guard = threading.Lock()


def install() -> None:
    """Memoise ``jsonpath_ng.ext.parse``, which moto imports at each delivery (idempotent)."""
    with _guard:
        if not hasattr(jsonpath_ng.ext.parse, "cache_info"):
            # A compiled path is not changed by finding matches with it: one per expression serves all.
            jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
