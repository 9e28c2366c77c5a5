"""Stopping the local runtime stops everything it started: its HTTP and SMTP listeners, moto's
server, and every worker thread (``make run``'s Ctrl-C; measured: about 0.5 s, see the README)."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest

from infra.runtime import Options
from tests.e2e.harness import running

pytestmark = pytest.mark.e2e


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_stopping_the_runtime_closes_its_ports_and_ends_its_threads() -> None:
    before = set(threading.enumerate())
    with running(Options(api_port=0, smtp_port=0, demo=False, demo_file=None)) as runtime:
        api_port, smtp_port = runtime.http.port, runtime.smtp.port
        moto_port = int(runtime.moto.endpoint.rsplit(":", 1)[1])
        with urllib.request.urlopen(f"{runtime.api_url}/_local/clock", timeout=10) as answer:
            assert answer.status == 200
        workers = list(runtime.workers)

    assert all(_refused("127.0.0.1", port) for port in (api_port, smtp_port, moto_port))
    assert not [worker.name for worker in workers if worker.is_alive()]
    # Request threads may still be finishing their connection; the runtime's own threads are gone.
    left = {thread.name for thread in set(threading.enumerate()) - before if thread.is_alive()}
    assert not left & {"api", *(worker.name for worker in workers)}
