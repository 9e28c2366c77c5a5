"""The tenant's named secrets: the keys its outgoing webhooks sign with (``crm.robots.web``).

A robot's params name a secret, never hold it: params are shown back to whoever lists the robots,
and a secret rotated once reaches every robot that names it. The API is write-only: it answers a
secret's name, its fingerprint (the first 8 hex digits of the value's SHA-256, enough to tell which
value is set without revealing it) and when it was set."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from crm.domain.errors import Invalid

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MIN_LENGTH = 16  # shorter is guessable: an HMAC key is as strong as the secret
MAX_LENGTH = 4096
# Secrets a tenant keeps at most: the list is one page, and a tenant needs one per receiver.
MAX_SECRETS = 100

_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class Secret:
    name: str
    value: str
    updated_at: datetime

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise Invalid(f"{name!r} is not a secret name: 1-64 of a-z, 0-9, '_', '-', a letter or digit first")
    return name


def secret(name: str, value: str, at: datetime) -> Secret:
    """The secret ``name`` set to ``value``; Invalid for a value too short or too long, with control
    characters, or with whitespace at either end (a pasted newline the receiver does not have would
    make every signature fail)."""
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        raise Invalid(f"value: {MIN_LENGTH} to {MAX_LENGTH} characters")
    if value != value.strip():
        raise Invalid("value: no whitespace at its start or end")
    if not value.isprintable():
        raise Invalid("value: printable characters only")
    return Secret(check_name(name), value, at)
