"""The local runtime: ``python -m infra.runtime`` (``make run``).

Starts moto on loopback with every resource of template.yaml, imports the handlers in-process,
serves the API on http://127.0.0.1:3000, polls the stream and the queues, fires schedules from the
application's clock, listens for mail on 127.0.0.1:2525, and creates a demo tenant whose key is
written to ``.local/demo.json``. Ctrl-C (SIGINT) or SIGTERM stops everything it started.

Its own routes, next to the API's: ``GET|POST /_local/clock`` (``{"advance": "PT2H"}``),
``GET /_local/outbox``, ``GET /_local/queues/{name}``, ``GET /_local``, and the local payment
provider's pay page ``GET|POST /_local/pay/{tenant}/{link id}`` (``infra.payments``).
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import logging
import os
import re
import signal
import sys
import threading
import urllib.request
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from moto.sqs.models import sqs_backends

from infra import aws, demo, events, in_process, moto_dynamodb, moto_events, payments, state
from infra.api import Gateway, HttpServer, Request, Response
from infra.functions import Function, functions_of
from infra.mail import Mailroom, Outbox, SmtpServer
from infra.sources import Deliveries, SqsEventSource, StreamEventSource, Worker
from infra.template import REGION, Stack

log = logging.getLogger("infra.runtime")

ROOT = Path(__file__).resolve().parent.parent
_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


@dataclass
class Options:
    template: Path = ROOT / "template.yaml"
    api_port: int = 3000  # 0: a free port
    smtp_port: int = 2525
    moto_port: int = 0
    persist: Path | None = None
    demo: bool = True
    demo_file: Path | None = ROOT / ".local" / "demo.json"
    parameters: dict[str, str] = field(default_factory=dict)
    region: str = REGION


def parse_duration(text: str) -> timedelta:
    """ISO-8601 durations in weeks, days, hours, minutes and seconds (``PT2H``, ``P1DT30M``).
    Years and months have no fixed length and are refused."""
    match = _DURATION.fullmatch(text.strip().upper())
    if match is None or not any(match.groups()):
        raise ValueError(f"not an ISO-8601 duration in W/D/H/M/S: {text!r}")
    weeks, days, hours, minutes, seconds = (float(group or 0) for group in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


class Runtime:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.stack = Stack.load(options.template, region=options.region, parameters=options.parameters)
        self.stop_event = threading.Event()
        self.moto = aws.Moto(options.moto_port)
        self.deliveries = Deliveries()
        self.functions: dict[str, Function] = {}
        self.workers: list[Worker] = []
        self.clients: dict[str, Any] = {}
        self.http: HttpServer | None = None
        self.smtp: SmtpServer | None = None
        self.demo: dict[str, Any] | None = None
        self.started = False

    @property
    def api_url(self) -> str:
        assert self.http is not None, "not started"
        return f"http://127.0.0.1:{self.http.port}"

    def start(self) -> None:
        offset = self._start_aws()
        self._load_handlers(offset)
        self._serve()
        # What the deployed runner's environment names (the API's public URL, for the tracked links of
        # robots' mail) is this runtime's own address, known once it listens: before any run arrives.
        os.environ["PUBLIC_BASE_URL"] = self.api_url
        self._start_workers()
        if self.options.demo and self.demo is None:
            self.demo = demo.build(self.api_url)
        if self.demo is not None:
            self.demo |= self._urls()
            if self.options.demo_file is not None:
                self.options.demo_file.parent.mkdir(parents=True, exist_ok=True)
                self.options.demo_file.write_text(json.dumps(self.demo, indent=2) + "\n")
        self.started = True

    def _start_aws(self) -> timedelta:
        """moto with the template's resources (and the saved state); returns the saved clock offset."""
        stack, persist = self.stack, self.options.persist
        moto_dynamodb.install()  # DynamoDB's isolation for concurrent writers, cheap transactions
        moto_events.install()  # PutEvents without recompiling input paths per event
        endpoint = self.moto.start()
        # moto's backends are process-wide: an earlier runtime or mock in this process may have
        # left resources behind, and this runtime creates its own from scratch.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
        aws.point_sdk_at(endpoint, stack.region)
        in_process.install(endpoint)
        self.clients = {
            service: aws.client(service, endpoint, stack.region)
            for service in ("dynamodb", "dynamodbstreams", "sqs", "sns", "s3", "events", "ses")
        }
        aws.create_resources(stack, endpoint)
        restored = state.load(persist, stack, self.clients) if persist else None
        if restored is None:
            return timedelta(0)
        offset, self.demo = restored
        return offset

    def _load_handlers(self, offset: timedelta) -> None:
        # Handlers read their environment when imported (pynamodb binds table names then).
        os.environ.update(self.stack.environment())
        # Robots' outgoing webhooks may reach receivers on this machine (deployed: public HTTPS only).
        os.environ["ROBOT_HTTP_ALLOW_LOOPBACK"] = "1"
        # The local payment provider (its pay page is /_local/pay/...) exists here only.
        os.environ["LOCAL_PAYMENTS"] = "1"
        self.functions = functions_of(self.stack, self.clients["sqs"])
        for path in [self.stack.root, *{d for f in self.functions.values() for d in f.layer_dirs}]:
            if str(path) not in sys.path:
                sys.path.append(str(path))
        # The application's one clock, from its layer (now on the path), before any handler runs.
        from crm.domain import clock as app_clock

        self.clock = app_clock.OffsetClock(offset)
        app_clock.use_clock(self.clock)
        for function in self.functions.values():
            function.load()

    def _start_workers(self) -> None:
        self.scheduler = events.Scheduler(self.clock, self.stop_event)
        self.outbox = Outbox(self.stack.account_id, self.stack.region, self.stop_event)
        self.workers = [self.scheduler, self.outbox, *self._event_sources()]
        self.workers += events.wire(self.stack, self.functions, self.clients, self.scheduler, self.stop_event)
        for worker in self.workers:
            worker.start()

    def _serve(self) -> None:
        self.http = HttpServer(
            Gateway.from_stack(self.stack, self.functions), self._local, self.options.api_port
        )
        self.http.start()
        self.mailroom = Mailroom(self.stack, self.functions, self.clients["s3"])
        if self.mailroom.rules:
            self.smtp = SmtpServer(self.mailroom, self.options.smtp_port)
            self.smtp.start()

    def _urls(self) -> dict[str, Any]:
        urls: dict[str, Any] = {"api_url": self.api_url, "moto_endpoint": self.moto.endpoint}
        if self.smtp is not None:
            urls["smtp"] = {"host": "127.0.0.1", "port": self.smtp.port}
        return urls

    def _event_sources(self) -> list[Worker]:
        sources: list[Worker] = []
        for function in self.functions.values():
            for name, event in function.events.items():
                props = event.get("Properties", {})
                if not props.get("Enabled", True):
                    continue
                region, stop = self.stack.region, self.stop_event
                if event["Type"] == "DynamoDB":
                    sources.append(StreamEventSource(function, props, self.clients, region, stop))
                elif event["Type"] == "SQS":
                    sqs = self.clients["sqs"]
                    sources.append(SqsEventSource(function, props, sqs, region, self.deliveries, stop))
                elif event["Type"] not in ("Api", "HttpApi", *events.FUNCTION_EVENT_TYPES):
                    log.warning("%s.%s: %s events are not emulated", function.logical_id, name, event["Type"])
        return sources

    def stop(self) -> None:
        """Stop every server and thread this runtime started; save state first with --persist."""
        if self.http is not None:
            self.http.stop()
        if self.smtp is not None:
            self.smtp.stop()
        self.stop_event.set()
        for worker in self.workers:
            worker.join()
        # A runtime that failed half-way must not overwrite good saved state with its partial one.
        if self.options.persist is not None and self.started:
            saved_demo = {k: v for k, v in (self.demo or {}).items() if k not in self._urls()} or None
            state.save(self.options.persist, self.stack, self.clients, self.clock.offset, saved_demo)
        in_process.uninstall()
        self.moto.stop()

    # ------------------------------------------------------------ /_local routes

    def _local(self, request: Request) -> Response | None:
        if request.path != "/_local" and not request.path.startswith("/_local/"):
            return None
        route = (request.method, request.path)
        if route == ("GET", "/_local"):
            return Response.json(200, self._overview())
        if route == ("GET", "/_local/clock"):
            return Response.json(200, self._clock_state())
        if route == ("POST", "/_local/clock"):
            try:
                by = parse_duration(json.loads(request.body or b"{}")["advance"])
            except (ValueError, KeyError, TypeError) as error:
                return Response.json(400, {"message": f'expected {{"advance": "PT2H"}}: {error}'})
            fired = self.scheduler.advance(by)
            log.info("clock advanced by %s to %s", by, self.clock.now().isoformat())
            return Response.json(200, self._clock_state() | {"fired": fired})
        if route == ("GET", "/_local/outbox"):
            return Response.json(200, {"messages": self.outbox.collect()})
        if request.method == "GET" and request.path.startswith("/_local/queues/"):
            return self._queue(request.path.removeprefix("/_local/queues/"))
        if request.path.startswith(payments.PREFIX):
            return payments.page(request, self.api_url)
        return Response.json(404, {"message": f"no local route {request.method} {request.path}"})

    def _clock_state(self) -> dict[str, Any]:
        return {"now": self.clock.now().isoformat(), "offset_seconds": self.clock.offset.total_seconds()}

    def _queue(self, name: str) -> Response:
        queues = sqs_backends[self.stack.account_id][self.stack.region].queues
        if name not in queues:
            return Response.json(404, {"message": f"no queue {name}", "queues": sorted(queues)})
        # Read from moto's store: receiving would hide the messages from their consumer.
        waiting = [message.body for message in queues[name]._messages]
        return Response.json(200, {"queue": name, "waiting": waiting, "delivered": self.deliveries.of(name)})

    def _overview(self) -> dict[str, Any]:
        return self._urls() | {
            "clock": self._clock_state(),
            "functions": sorted(function.name for function in self.functions.values()),
            "queues": sorted(sqs_backends[self.stack.account_id][self.stack.region].queues),
            "schedules": [
                {"name": s.name, "next": s.due.isoformat() if s.due else None}
                for s in self.scheduler.schedules
            ],
        }

    # ------------------------------------------------------------ console

    def banner(self) -> str:
        lines = [f"CRM local runtime ready: API {self.api_url}  (moto {self.moto.endpoint})"]
        if self.smtp is not None:
            lines.append(f"SMTP inbound mail on 127.0.0.1:{self.smtp.port}")
        if self.demo is not None:
            where = f" (saved in {self.options.demo_file})" if self.options.demo_file else ""
            lines += [
                f"demo tenant {self.demo['tenant_id']}, API key {self.demo['api_key']}{where}",
                "try this:",
            ]
            lines.append(demo.try_this(self.demo, self._rule_queue(), self.smtp.port if self.smtp else None))
        lines.append("Ctrl-C stops it.")
        return "\n".join(lines)

    def _rule_queue(self) -> str | None:
        """A queue of the template that a bus rule delivers to (where item events can be seen)."""
        queues = {
            self.stack.attribute(lid, "Arn"): self.stack.name(lid)
            for lid in self.stack.of_type("AWS::SQS::Queue")
        }
        for logical_id in self.stack.of_type("AWS::Events::Rule"):
            for target in self.stack.resolve(self.stack.resources[logical_id]["Properties"]).get(
                "Targets", []
            ):
                if target["Arn"] in queues:
                    return queues[target["Arn"]]
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.runtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=Options.template)
    parser.add_argument("--port", type=int, default=3000, help="API port (0: any free port)")
    parser.add_argument("--smtp-port", type=int, default=2525, help="SMTP port (0: any free port)")
    parser.add_argument("--moto-port", type=int, default=0, help="moto's port (default: any free port)")
    parser.add_argument(
        "--persist",
        type=Path,
        default=os.environ.get("CRM_LOCAL_PERSIST") or None,
        help="keep state in this folder across restarts (env CRM_LOCAL_PERSIST)",
    )
    parser.add_argument("--no-demo", action="store_true", help="do not create the demo tenant")
    parser.add_argument(
        "--demo-file", type=Path, default=Options.demo_file, help="where the demo's key and URLs are written"
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="template parameter"
    )
    args = parser.parse_args(argv)
    # The runtime's own lines at INFO; libraries (botocore, pynamodb, aiosmtpd) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("infra").setLevel(logging.INFO)
    # Each handler without application metrics would warn on every invocation.
    warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    runtime = Runtime(
        Options(
            template=args.template,
            api_port=args.port,
            smtp_port=args.smtp_port,
            moto_port=args.moto_port,
            persist=args.persist,
            demo=not args.no_demo,
            demo_file=args.demo_file,
            parameters=dict(pair.split("=", 1) for pair in args.param),
        )
    )
    try:
        runtime.start()
        print(runtime.banner(), flush=True)
        stopping.wait()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        sys.exit(
            f"{error}: another program holds the port; choose others with --port/--smtp-port (0: any free)"
        )
    finally:
        log.info("stopping")
        runtime.stop()
        log.info("stopped")
        # The interpreter's finalisation would collect garbage over every object the handlers and
        # moto made, several times over (about 2 s): they all end with the process anyway.
        gc.freeze()


if __name__ == "__main__":
    main()
