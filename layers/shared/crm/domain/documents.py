"""Documents the CRM generates for an item (an invoice, a quote, a contract, an offer) from the
tenant's document templates, as plain data.

A template is HTML with placeholders, rendered in the sandbox as robots' templates are, every
value escaped (``crm.domain.templates.html``), and stored as a complete HTML page. PDF is not made
(no renderer runs in the Lambda runtime): the page prints to PDF in any browser.

A document is a record on its item, found by its id and listed by kind, so that "has the item a
document of kind X" (1C's "require documents" guard on the roadmap) is one query. Its id comes from
the robot run's idempotency key, so a retried run makes the same document, not a second one; it has
the form of a tracking token's message id (16 URL-safe characters), so the public view link
(``/d/{token}``) is signed like the tracking links and needs no lookup table.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain import templates
from crm.domain.errors import Invalid
from crm.domain.model import ID_PATTERN
from crm.domain.trigger_events import ItemRef

MAX_NAME = 200
MAX_FILE_NAME = 200
CONTENT_TYPE = "text/html; charset=utf-8"


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    QUOTE = "quote"
    OFFER = "offer"
    CONTRACT = "contract"
    ACT = "act"  # a certificate of work done (1C's "act")
    RECEIPT = "receipt"
    OTHER = "other"


def document_id(idempotency_key: str) -> str:
    """The id of the document a run makes: the same key, the same id; 16 URL-safe characters."""
    return base64.urlsafe_b64encode(hashlib.sha256(idempotency_key.encode()).digest()[:12]).decode()


def checked_name(value: Any, what: str, limit: int) -> str:
    """``value`` as a name: one line of text, not blank, at most ``limit`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Invalid(f"{what}: a non-empty text of at most {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise Invalid(f"{what}: no control characters")
    return value.strip()


@dataclass(frozen=True)
class DocumentTemplate:
    """A tenant's template: its name, the kind of document it makes, the HTML body (a template), and
    the template of the document's file name (``.html`` is added when missing)."""

    id: str
    name: str
    kind: DocumentKind
    body: str
    file_name: str
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not re.match(ID_PATTERN, self.id):
            raise Invalid(f"template id {self.id!r}: 1-64 letters, digits, '_', '.' or '-'")
        object.__setattr__(self, "name", checked_name(self.name, "name", MAX_NAME))
        object.__setattr__(self, "kind", DocumentKind(self.kind))
        if not isinstance(self.body, str) or not self.body.strip():
            raise Invalid("body: the document's HTML, not empty")
        templates.check(self.body, "body")
        templates.check(checked_name(self.file_name, "file_name", MAX_FILE_NAME), "file_name")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "body": self.body,
            "file_name": self.file_name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentTemplate:
        return cls(
            id=data["id"],
            name=data["name"],
            kind=DocumentKind(data["kind"]),
            body=data["body"],
            file_name=data["file_name"],
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
        )


def file_name(rendered: str) -> str:
    """A rendered file name as stored: one line, no slashes (a value like "A/B GmbH" is no
    folder), ``.html`` at the end."""
    name = " ".join(rendered.replace("/", "-").replace("\\", "-").split())
    return name if name.lower().endswith((".html", ".htm")) else f"{name}.html"


def page(title: str, body: str) -> str:
    """``body`` (rendered HTML) as a complete UTF-8 page: a body that is a whole document already
    is kept as it is; a fragment gets the page around it, so every browser reads it as UTF-8."""
    if re.search(r"<html[\s>]", body, re.IGNORECASE):
        return body
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


@dataclass(frozen=True)
class Document:
    """A generated document on its item. ``viewed_at``: when its public link was first opened."""

    id: str
    item: ItemRef
    kind: DocumentKind
    name: str  # the file name, as stored
    content_type: str
    size: int
    created_at: datetime
    created_by: str  # "robot:{rule id}"
    template_id: str | None = None
    viewed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": {"type": self.item.type, "id": self.item.id},
            "kind": self.kind.value,
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "template_id": self.template_id,
            "viewed_at": None if self.viewed_at is None else self.viewed_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            id=data["id"],
            item=ItemRef(**data["item"]),
            kind=DocumentKind(data["kind"]),
            name=data["name"],
            content_type=data["content_type"],
            size=int(data["size"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            created_by=data["created_by"],
            template_id=data.get("template_id"),
            viewed_at=datetime.fromisoformat(data["viewed_at"]) if data.get("viewed_at") else None,
        )
