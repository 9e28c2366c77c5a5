"""Inbound mail as the CRM sees it: who wrote, about what, with which message id."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses

from crm.domain.contacts import EMAIL_PATTERN

SNIPPET = 500


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    senders: tuple[str, ...]
    recipients: tuple[str, ...]
    subject: str
    snippet: str


def parse_inbound(raw: bytes, fallback_id: str, envelope_sender: str = "") -> InboundMail:
    """Reads a raw RFC 5322 message; ``fallback_id`` (the SES message id) names one without
    Message-ID, ``envelope_sender`` (SMTP MAIL FROM) speaks for one without From."""
    message = BytesParser(policy=policy.default).parsebytes(raw)

    def addresses(*headers: str) -> tuple[str, ...]:
        found = getaddresses([str(v) for h in headers for v in message.get_all(h, [])])
        unique = dict.fromkeys(a.strip().lower() for _, a in found if EMAIL_PATTERN.match(a.strip()))
        return tuple(unique)

    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    return InboundMail(
        message_id=str(message.get("Message-ID") or fallback_id).strip(),
        senders=(addresses("Reply-To", "From") if message.get("Reply-To") else addresses("From"))
        or tuple(a for a in [envelope_sender.strip().lower()] if EMAIL_PATTERN.match(a)),
        recipients=addresses("To", "Cc"),
        subject=str(message.get("Subject") or ""),
        snippet=" ".join(text.split())[:SNIPPET],
    )
