"""Mail the CRM sends: what a sender writes (``Draft``), the message as it goes out (``compose``), and
the port it goes out through (``Mailer``; SES in ``crm.adapters.ses``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from crm.domain.contacts import normal_email
from crm.domain.errors import Invalid

MAX_SUBJECT = 998  # a header line's limit (RFC 5322)
MAX_TEXT = 100_000
MAX_HTML = 200_000
MAX_DISPLAY_NAME = 200


class Mailer(Protocol):
    """Where mail goes out (SES). Conflict when the mail service refuses the message (an unverified
    sender, a rejected message: it was not sent), Throttled when it asks to slow down; any other
    error leaves open whether it was sent."""

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> str:
        """Sends ``raw`` (a MIME message) from ``sender`` to ``recipients``; the service's message id."""
        ...


def _one_line(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise Invalid(f"{what}: one line of text")
    value = value.strip()
    if not value or len(value) > limit:
        raise Invalid(f"{what}: 1 to {limit} characters")
    return value


@dataclass(frozen=True)
class Sender:
    """Whom a tenant's mail comes from: an address the mail service has verified, and a name."""

    address: str
    display_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", normal_email(self.address))
        if self.display_name is not None:
            name = _one_line(self.display_name, "display_name", MAX_DISPLAY_NAME)
            object.__setattr__(self, "display_name", name)

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    def header(self) -> Address:
        local, domain = self.address.rsplit("@", 1)
        return Address(self.display_name or "", local, domain)


@dataclass(frozen=True)
class Draft:
    """What an employee writes: a subject, and a text and/or an HTML body."""

    subject: str
    text: str | None = None
    html: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", _one_line(self.subject, "subject", MAX_SUBJECT))
        if not self.text and not self.html:
            raise Invalid("give a text or an html body, or both")
        for name, limit in (("text", MAX_TEXT), ("html", MAX_HTML)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise Invalid(f"{name}: a text of at most {limit:,} characters")


def compose(
    sender: Sender,
    to: str,
    subject: str,
    text: str | None,
    html: str | None,
    message_id: str,
    at: datetime,
) -> bytes:
    """The MIME message: plain text and HTML as alternatives (the text alone, or the HTML alone,
    when only one is given). ``message_id`` also goes into References: the mail service may replace
    the Message-ID, and replies keep the References they answer."""
    message = EmailMessage()
    message["From"] = sender.header()
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    message["References"] = message_id
    if text:
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
    else:
        message.set_content(html or "", subtype="html")
    return bytes(message)
