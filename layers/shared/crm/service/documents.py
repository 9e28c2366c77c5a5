"""Generated documents: the tenant's templates, the ``Documents`` port the robots store through, an
item's documents, and their public view link.

A robot's document goes to S3 (``crm.adapters.documents``), then its records go with its *document
created* event's decision, once per event (``crm.adapters.along``): a retried run puts the same
object again and records nothing new. The link a robot gives out is the CRM's, ``/d/{token}``, the
token signed with the tenant's tracking keys (``crm.service.outbound_mail``): a presigned S3 URL
works only while the Lambda role's temporary credentials that signed it do (hours), so the route
signs a fresh one, valid for minutes, on each opening and redirects to it. Its first opening by a
person fires *document viewed* (HEAD requests, link scanners and previews fire nothing, as for
tracked mail: ``crm.domain.tracking.automated``). A link stops working when the tenant's signing
key that signed it is retired (a rotation's grace period ends): the item's document list gives a
link signed with the current key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from crm.adapters import document_records as records
from crm.adapters.documents import S3Documents, object_key
from crm.domain import clock, tracking
from crm.domain.documents import MAX_NAME, Document, DocumentKind, DocumentTemplate, checked_name
from crm.domain.errors import NotFound, StaleWrite, Throttled
from crm.domain.events import continued_chain
from crm.domain.model import Cause, Item, slug
from crm.domain.ports import NewDocument, StoredDocument
from crm.domain.robots import RobotFailed
from crm.domain.tracking import Purpose
from crm.domain.trigger_events import ItemRef, TriggerEvent
from crm.service import outbound_mail
from crm.service.triggers import apply_trigger_event
from crm.triggers.document_created import DOCUMENT_CREATED
from crm.triggers.document_viewed import DOCUMENT_VIEWED

logger = Logger(child=True)

SOURCE = "documents"
VIEW_ROUTE = "/d/{token}"
# The presigned URL a view redirects to: long enough to follow the redirect and load the page.
VIEW_VALID_FOR = timedelta(minutes=5)


def _content() -> S3Documents:
    if not (bucket := os.environ.get("DOCUMENTS_BUCKET")):
        raise OSError("DOCUMENTS_BUCKET is not set: the template sets it where documents are served")
    return S3Documents(bucket)


def _link(
    public_base: str, tenant_id: str, document: Document, key: tracking.SigningKey | None = None
) -> str:
    claims = tracking.Claims(Purpose.DOCUMENT, tenant_id, document.item, document.id)
    return f"{public_base.rstrip('/')}/d/{outbound_mail.token(tenant_id, claims, key)}"


# ---------------------------------------------------------------- templates


def templates(tenant_id: str) -> list[DocumentTemplate]:
    return records.templates(tenant_id)


def template(tenant_id: str, template_id: str) -> DocumentTemplate:
    found = records.get_template(tenant_id, template_id)
    if found is None:
        raise NotFound(f"document template {template_id!r} does not exist")
    return found


def create_template(tenant_id: str, values: dict[str, Any]) -> DocumentTemplate:
    """A template with the id given, or one derived from its name (``Invoice`` -> ``invoice``,
    ``invoice_2`` when taken); Conflict for an id given that is taken."""
    now = clock.now()
    name = checked_name(values["name"], "name", MAX_NAME)  # before an id is derived from it
    template_id = values.pop("id", None) or slug(name, (t.id for t in records.templates(tenant_id)))
    created = DocumentTemplate(id=template_id, created_at=now, updated_at=now, **values)
    records.add_template(tenant_id, created)
    return created


def replace_template(tenant_id: str, template_id: str, values: dict[str, Any]) -> DocumentTemplate:
    """The template's name, kind, body and file name replaced (robots use the new one from their
    next run; documents made already stay as they are)."""
    before = template(tenant_id, template_id)
    after = DocumentTemplate(id=template_id, created_at=before.created_at, updated_at=clock.now(), **values)
    records.replace_template(tenant_id, after)
    return after


def delete_template(tenant_id: str, template_id: str) -> None:
    """Robots naming it fail from their next run, saying so; its documents stay."""
    records.delete_template(tenant_id, template_id)


# ---------------------------------------------------------------- an item's documents


@dataclass(frozen=True)
class LinkedDocument:
    document: Document
    url: str  # its public view link


def item_documents(
    tenant_id: str,
    item_type: str,
    item_id: str,
    kind: DocumentKind | None,
    limit: int,
    cursor: str | None,
    public_base: str,
) -> tuple[list[LinkedDocument], str | None]:
    """The item's documents (of ``kind``), by kind, the oldest first, each with its view link."""
    found, cursor = records.of_item(tenant_id, ItemRef(item_type, item_id), kind, limit, cursor)
    key = outbound_mail.signing_key(tenant_id) if found else None  # one read for every link
    return [LinkedDocument(d, _link(public_base, tenant_id, d, key)) for d in found], cursor


# ---------------------------------------------------------------- the robots' port


class CrmDocuments:
    """The ``Documents`` port (``crm.domain.ports``): content in S3, records with the *document
    created* event, links to the CRM's view route under ``public_base``."""

    def __init__(self, public_base: str, content: S3Documents) -> None:
        self.public_base = public_base.rstrip("/")
        self.content = content

    def template(self, tenant_id: str, template_id: str) -> DocumentTemplate | None:
        return records.get_template(tenant_id, template_id)

    def store(
        self,
        tenant_id: str,
        item: Item,
        document: NewDocument,
        content: bytes,
        *,
        idempotency_key: str,
        cause: Cause,
    ) -> StoredDocument:
        stored = self.content.store(
            tenant_id, item, document.name, content, document.content_type, idempotency_key=idempotency_key
        )
        made = Document(
            id=stored.id,
            item=ItemRef(item.type, item.id),
            kind=document.kind,
            name=document.name.strip(),
            content_type=document.content_type,
            size=len(content),
            created_at=clock.now(),
            created_by=f"{cause.kind.value}:{cause.ref}" if cause.ref else cause.kind.value,
            template_id=document.template_id,
        )
        chain = continued_chain(cause.kind.value, cause.ref, list(cause.chain))
        event = TriggerEvent(
            type=DOCUMENT_CREATED.code,
            source=SOURCE,
            event_id=f"created:{made.id}",
            tenant_id=tenant_id,
            occurred_at=made.created_at,
            item=made.item,
            data={"document_id": made.id, "kind": made.kind.value, "template_id": made.template_id},
            chain=chain,
        )
        try:
            apply_trigger_event(event, along=records.recorded(tenant_id, made), read=item)
        except (Throttled, StaleWrite) as busy:
            # Stored already: another attempt puts the same object and writes the records.
            raise RobotFailed(f"the document's record could not be written yet: {busy}") from None
        return StoredDocument(made.id, _link(self.public_base, tenant_id, made))


def robots_documents(public_base: str) -> CrmDocuments | None:
    """The port as a deployed runner has it: None where no documents bucket is configured."""
    bucket = os.environ.get("DOCUMENTS_BUCKET")
    return CrmDocuments(public_base, S3Documents(bucket)) if bucket else None


# ---------------------------------------------------------------- the public view link


def viewed(token_text: str, automated: str | None) -> str:
    """Where ``/d/{token}`` redirects: a fresh presigned URL of the document; its first view by a
    person fires *document viewed* (a failure to record it is logged: the reader still gets the
    document). NotFound for a token that is not ours, or a document that is not there."""
    claims = outbound_mail.verified(token_text, Purpose.DOCUMENT)
    if claims is None:
        raise NotFound("this link is not valid")
    try:
        document = records.get(claims.tenant_id, claims.message_id)
    except NotFound:
        raise NotFound("this document is not there any more") from None
    if document.item != claims.item:
        raise NotFound("this link is not valid")
    key = object_key(claims.tenant_id, document.item.type, document.item.id, document.id, document.name)
    url = _content().view_url(key, VIEW_VALID_FOR)
    if automated is None and document.viewed_at is None:
        _fire_viewed(claims.tenant_id, document)
    return url


def _fire_viewed(tenant_id: str, document: Document) -> None:
    at = clock.now()
    event = TriggerEvent(
        type=DOCUMENT_VIEWED.code,
        source=SOURCE,
        event_id=f"view:{document.id}",
        tenant_id=tenant_id,
        occurred_at=at,
        item=document.item,
        data={"document_id": document.id, "kind": document.kind.value},
    )
    try:
        apply_trigger_event(event, along=records.viewed(tenant_id, document, at))
    except Exception:
        logger.exception("document view %s of %s not recorded", document.id, tenant_id)
