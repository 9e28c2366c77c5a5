"""What powertools' Tracer adds to a cold start, run by bench/.venv-runtime's python in a fresh
process with a function's Lambda environment (the tracer on, as with Tracing: Active, unless
POWERTOOLS_TRACE_DISABLED is set):

    python -I bench/tracer_probe.py

boto3 and the ``aws_lambda_powertools`` package (Logger, Metrics) are imported first, as every
handler does; the clock then runs over ``Tracer()``, which with tracing on imports the X-Ray SDK
(lazily, on first use) and patches botocore. Prints JSON: the milliseconds, the modules it
imported, and the botocore clients made meanwhile (outside Lambda the X-Ray SDK's default
sampler makes one for its sampling rules; inside Lambda it uses local rules and makes none).
"""

import json
import sys
import time

import boto3  # noqa: F401  (the handlers import it first)
import botocore.session
from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: F401

clients = []
_create_client = botocore.session.Session.create_client


def _counted(session, service_name, *args, **kwargs):
    clients.append(service_name)
    return _create_client(session, service_name, *args, **kwargs)


botocore.session.Session.create_client = _counted
before = set(sys.modules)
started = time.perf_counter_ns()
Tracer()
elapsed = time.perf_counter_ns() - started
sys.stdout.write(
    json.dumps({"ms": elapsed / 1e6, "modules": len(set(sys.modules) - before), "clients": clients}) + "\n"
)
