"""Mail on loopback. Inbound: an SMTP listener that does what SES receiving does with the template's
receipt rules (S3 action: the raw MIME into the bucket; Lambda action: the SES receipt event to the
function). Outbound: what the application sent through SES or SNS (SMS) in moto, printed and listed.

SES's verdicts on local mail are PASS (the local sender is trusted: its From is believed). A test
that needs others sends them in a header, which the listener reads and leaves in the message:
``X-Local-Verdicts: spf=FAIL, dkim=FAIL, dmarc=FAIL`` (any of spf, dkim, dmarc, spam, virus; each
PASS, FAIL, GRAY or PROCESSING_FAILED). A header it cannot read refuses the message (SMTP 554).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.controller import Controller
from moto.ses.models import RawMessage, TemplateMessage, ses_backends
from moto.sns.models import sns_backends

from infra.functions import Function, FunctionError, by_arn
from infra.sources import Worker
from infra.template import Stack

log = logging.getLogger("infra.mail")

VERDICTS_HEADER = "X-Local-Verdicts"
_VERDICTS = {
    "spf": "spfVerdict",
    "dkim": "dkimVerdict",
    "dmarc": "dmarcVerdict",
    "spam": "spamVerdict",
    "virus": "virusVerdict",
}
_STATUSES = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")


def local_verdicts(message: Message) -> dict[str, dict[str, str]]:
    """The receipt's verdicts for a local message: PASS, or what its X-Local-Verdicts header says.
    ValueError names what the header got wrong."""
    verdicts = dict.fromkeys(_VERDICTS.values(), "PASS")
    for setting in filter(None, (s.strip() for s in str(message.get(VERDICTS_HEADER, "")).split(","))):
        name, _, status = (part.strip() for part in setting.partition("="))
        if name.lower() not in _VERDICTS or status.upper() not in _STATUSES:
            raise ValueError(
                f"{VERDICTS_HEADER}: {setting!r} is not <{'|'.join(_VERDICTS)}>=<{'|'.join(_STATUSES)}>"
            )
        verdicts[_VERDICTS[name.lower()]] = status.upper()
    return {name: {"status": status} for name, status in verdicts.items()}


@dataclass
class ReceiptRule:
    name: str
    recipients: list[str]  # addresses or domains; empty matches every recipient
    actions: list[dict[str, Any]]

    def matches(self, recipient: str) -> bool:
        if not self.recipients:
            return True
        recipient = recipient.lower()
        domain = recipient.rpartition("@")[2]
        for entry in (entry.lower() for entry in self.recipients):
            if recipient == entry or domain == entry or (entry.startswith(".") and domain.endswith(entry)):
                return True
        return False


def receipt_rules(stack: Stack) -> list[ReceiptRule]:
    """The template's enabled receipt rules in template order (every rule set counts as active:
    CloudFormation cannot activate one, the operator does)."""
    rules = []
    for logical_id in stack.of_type("AWS::SES::ReceiptRule"):
        rule = stack.resolve(stack.resources[logical_id]["Properties"]["Rule"])
        if rule.get("Enabled", True):
            rules.append(
                ReceiptRule(stack.name(logical_id), rule.get("Recipients", []), rule.get("Actions", []))
            )
    return rules


class Mailroom:
    """SES receiving: which rules take a recipient, and what their actions do with a message."""

    def __init__(self, stack: Stack, functions: dict[str, Function], s3: Any) -> None:
        self.rules = receipt_rules(stack)
        self.functions = by_arn(functions)
        self.s3 = s3
        self.region = stack.region

    def accepts(self, recipient: str) -> bool:
        return any(rule.matches(recipient) for rule in self.rules)

    def receive(self, mail_from: str, recipients: list[str], content: bytes) -> str:
        """Run the rule set on one message; returns its SES message id. ValueError (and nothing
        run) if its X-Local-Verdicts header cannot be read."""
        started = time.monotonic()
        message_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(40))
        received_at = datetime.now(UTC)
        # SES adds these in front of the message it stores and hands on.
        stamp = received_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
        trace = (
            f"Return-Path: <{mail_from}>\r\n"
            f"Received: from localhost by inbound-smtp.{self.region}.amazonaws.com with SMTP id {message_id}"
            f" for {', '.join(recipients)}; {stamp}\r\n"
        )
        raw = trace.encode() + content
        message = message_from_bytes(raw, policy=policy.default)
        verdicts = local_verdicts(message)
        mail = _mail_object(message_id, mail_from, recipients, message, received_at)
        for rule in self.rules:
            matched = [recipient for recipient in recipients if rule.matches(recipient)]
            if not matched:
                continue
            for action in rule.actions:
                stop = self._run(action, rule, mail, verdicts, matched, raw, started)
                if stop == "STOP_RULE_SET":
                    return message_id
                if stop == "STOP_RULE":
                    break
        return message_id

    def _run(
        self,
        action: dict[str, Any],
        rule: ReceiptRule,
        mail: dict[str, Any],
        verdicts: dict[str, dict[str, str]],
        recipients: list[str],
        raw: bytes,
        started: float,
    ) -> str | None:
        ((kind, settings),) = action.items()
        match kind:
            case "S3Action":
                key = f"{settings.get('ObjectKeyPrefix', '')}{mail['messageId']}"
                self.s3.put_object(Bucket=settings["BucketName"], Key=key, Body=raw)
                log.info("inbound mail %s -> s3://%s/%s", mail["messageId"], settings["BucketName"], key)
            case "LambdaAction":
                function = self.functions.get(settings["FunctionArn"])
                if function is None:
                    log.warning(
                        "receipt rule %s: %s is not a function of this template",
                        rule.name,
                        settings["FunctionArn"],
                    )
                    return None
                invocation = settings.get("InvocationType", "Event")
                receipt = {
                    "timestamp": mail["timestamp"],
                    "processingTimeMillis": int((time.monotonic() - started) * 1000),
                    "recipients": recipients,
                    **verdicts,
                    "action": {"type": "Lambda", "functionArn": function.arn, "invocationType": invocation},
                }
                event = {
                    "Records": [
                        {
                            "eventSource": "aws:ses",
                            "eventVersion": "1.0",
                            "ses": {"mail": mail, "receipt": receipt},
                        }
                    ]
                }
                log.info("inbound mail %s -> %s", mail["messageId"], function.name)
                if invocation != "RequestResponse":
                    function.invoke_async(event, f"receipt rule {rule.name}")
                    return None
                try:
                    result = function.invoke(event)
                except FunctionError as error:
                    log.error("receipt rule %s: %s\n%s", rule.name, error, error.trace)
                    return None
                return result.get("disposition") if isinstance(result, dict) else None
            case "StopAction":
                return "STOP_RULE_SET"
            case _:
                log.warning("receipt rule %s: %s is not emulated locally", rule.name, kind)
        return None


def _mail_object(
    message_id: str, mail_from: str, recipients: list[str], message: Message, received_at: datetime
) -> dict[str, Any]:
    """The ``mail`` part of an SES receipt notification."""
    common: dict[str, Any] = {"returnPath": mail_from}
    for header, name in (
        ("From", "from"),
        ("Reply-To", "replyTo"),
        ("To", "to"),
        ("Cc", "cc"),
        ("Bcc", "bcc"),
    ):
        if header in message:
            common[name] = [str(address) for address in message[header].addresses]
    for header, name in (
        ("Sender", "sender"),
        ("Date", "date"),
        ("Message-ID", "messageId"),
        ("Subject", "subject"),
    ):
        if header in message:
            common[name] = str(message[header])
    return {
        "timestamp": received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "source": mail_from,
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": [{"name": name, "value": str(value)} for name, value in message.items()],
        "commonHeaders": common,
    }


class _Handler:
    """aiosmtpd's hooks: refuse recipients no receipt rule takes, hand accepted mail over."""

    def __init__(self, mailroom: Mailroom) -> None:
        self.mailroom = mailroom

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not self.mailroom.accepts(address):
            return f"550 5.1.1 <{address}>: no receipt rule of the template takes this recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # The rule actions call functions synchronously: keep them off the SMTP event loop.
        loop = asyncio.get_running_loop()
        try:
            message_id = await loop.run_in_executor(
                None,
                self.mailroom.receive,
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
            )
        except ValueError as error:
            return f"554 5.6.0 {error}"
        return f"250 Ok {message_id}"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # Port 0 asks the OS for a free port; aiosmtpd's readiness probe needs the real one.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    def __init__(self, mailroom: Mailroom, port: int) -> None:
        self._controller = _Controller(_Handler(mailroom), hostname="127.0.0.1", port=port)

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class Outbox(Worker):
    """Mail sent through SES and SMS sent through SNS, read from moto's backends (they run in this
    process), printed as they appear and listed by ``GET /_local/outbox``."""

    def __init__(self, account_id: str, region: str, stop: threading.Event) -> None:
        super().__init__("outbox", stop)
        self.account_id = account_id
        self.region = region
        self._lock = threading.Lock()
        self._items: list[dict[str, Any]] = []
        self._seen_mail = 0
        self._seen_sms: set[str] = set()

    def poll(self) -> None:
        self.collect()
        self.stop.wait(0.5)

    def collect(self) -> list[dict[str, Any]]:
        with self._lock:
            sent = ses_backends[self.account_id][self.region].sent_messages
            for message in sent[self._seen_mail :]:
                self._add(_mail_item(message))
            self._seen_mail = len(sent)
            for message_id, (phone, text) in list(
                sns_backends[self.account_id][self.region].sms_messages.items()
            ):
                if message_id not in self._seen_sms:
                    self._seen_sms.add(message_id)
                    self._add({"channel": "sms", "id": message_id, "to": phone, "message": text})
            return list(self._items)

    def _add(self, item: dict[str, Any]) -> None:
        self._items.append(item)
        if item["channel"] == "sms":
            log.info("outbox: SMS to %s: %s", item["to"], item["message"])
        else:
            log.info(
                "outbox: email from %s to %s: %s", item["from"], ", ".join(item["to"]), item.get("subject")
            )


def _mail_item(message: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"channel": "email", "id": message.id, "from": message.source}
    if isinstance(message, RawMessage):
        parsed = message_from_bytes(message.raw_data.encode(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain", "html"))
        return item | {
            "to": message.destinations
            or [str(a) for h in ("To", "Cc") if h in parsed for a in parsed[h].addresses],
            "subject": str(parsed.get("Subject", "")),
            "body": body.get_content() if body is not None else "",
        }
    recipients = [address for addresses in message.destinations.values() for address in addresses]
    if isinstance(message, TemplateMessage):
        return item | {"to": recipients, "template": message.template, "template_data": message.template_data}
    return item | {"to": recipients, "subject": message.subject, "body": message.body}
