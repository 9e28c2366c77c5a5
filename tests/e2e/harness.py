"""Starting the local runtime inside the test process, and talking to it as a user would.

The runtime owns process-wide state while it runs: os.environ (moto's endpoint, its table names),
the application's modules (pynamodb binds table names at import) and the installed clock. The
other test packages set up their own (tests/conftest.py), so ``running`` puts everything back when
the runtime stops: the ``crm`` modules imported before it are reinstated, its own are dropped.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.runtime import Options, Runtime


def _owned(name: str) -> bool:
    """The application's modules and the runtime's handler modules."""
    return name == "crm" or name.startswith(("crm.", "lambda_"))


@contextmanager
def running(options: Options) -> Iterator[Runtime]:
    environ, path = dict(os.environ), list(sys.path)
    before = {name: module for name, module in sys.modules.items() if _owned(name)}
    for name in before:
        del sys.modules[name]
    runtime = Runtime(options)
    try:
        runtime.start()
        yield runtime
    finally:
        runtime.stop()
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        for name in [name for name in sys.modules if _owned(name)]:
            del sys.modules[name]
        sys.modules.update(before)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> Answer:
    """One request with urllib; JSON bodies in and out, errors returned rather than raised."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, answer_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, answer_headers = error.code, error.read(), dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return Answer(status, parsed, answer_headers)


def eventually(probe: Callable[[], Any], timeout: float = 15.0, interval: float = 0.2) -> Any:
    """The first truthy value ``probe`` returns within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# A handler that writes every event it receives to RECORD_DIR/<function name>.jsonl, then does
# what the test's ``behave(event)`` says.
RECORDING_HANDLER = """
import json
import os
from pathlib import Path


def lambda_handler(event, context):
    with (Path(os.environ["RECORD_DIR"]) / f"{context.function_name}.jsonl").open("a") as log:
        log.write(json.dumps(event) + "\\n")
    return behave(event, context)

"""


def write_app(root: Path, template: str, handlers: dict[str, str]) -> Path:
    """A throwaway SAM application: ``template`` (``{record_dir}`` is filled in) and, per code
    folder, a recording handler whose ``behave(event, context)`` is the given source."""
    records = root / "records"
    records.mkdir(parents=True, exist_ok=True)
    for folder, behave in handlers.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "app.py").write_text(RECORDING_HANDLER + textwrap.dedent(behave))
    path = root / "template.yaml"
    path.write_text(textwrap.dedent(template).replace("{record_dir}", str(records)))
    return path


def recorded(template: Path, function: str) -> list[Any]:
    """The events a recording handler has received so far."""
    path = template.parent / "records" / f"{function}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
