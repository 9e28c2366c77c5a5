"""Document templates (automation table) and the records of generated documents (items table); the
documents' content is in S3 (``crm.adapters.documents``).

    template   pk={tenant}#DOCUMENT_TEMPLATES   sk={template id}
    document   pk={tenant}#DOCUMENT#{id}        sk=DOCUMENT                          (by its id)
               pk={tenant}#ITEM#{type}#{id}     sk=DOCUMENT#{kind}#{created at}#{id}  (the item's)

A document's two records are written together with its *document created* event's decision, once
per event (``crm.adapters.along``); its first view sets ``viewed_at`` on both, once per view event.
The item's copy sorts by kind first, so that "has the item a document of kind X" is one Query of a
single record.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import JSONAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.along import Write
from crm.adapters.items import MAX_PAGE, decode_cursor, encode_cursor, item_pk
from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord, ItemsTableRecord
from crm.adapters.transactions import refused_as
from crm.domain.documents import Document, DocumentKind, DocumentTemplate
from crm.domain.errors import Conflict, NotFound
from crm.domain.trigger_events import ItemRef

DOCUMENT_SK = "DOCUMENT"


class DocumentTemplateRecord(AutomationRecord):
    template = JSONAttribute()


class DocumentRecord(ItemsTableRecord):
    document = JSONAttribute()


# ---------------------------------------------------------------- templates


def _templates_pk(tenant_id: str) -> str:
    return f"{tenant_id}#DOCUMENT_TEMPLATES"


def _template(record: DocumentTemplateRecord) -> DocumentTemplate:
    return DocumentTemplate.from_dict(record.template)


def add_template(tenant_id: str, template: DocumentTemplate) -> None:
    """Conflict if the id is taken."""
    record = DocumentTemplateRecord(pk=_templates_pk(tenant_id), sk=template.id, template=template.to_dict())
    with refused_as(lambda: Conflict(f"document template {template.id!r} exists already")):
        record.save(condition=DocumentTemplateRecord.pk.does_not_exist())


def replace_template(tenant_id: str, template: DocumentTemplate) -> None:
    """NotFound if there is no template by its id (deleted meanwhile)."""
    record = DocumentTemplateRecord(pk=_templates_pk(tenant_id), sk=template.id, template=template.to_dict())
    with refused_as(lambda: NotFound(f"document template {template.id!r} does not exist")):
        record.save(condition=DocumentTemplateRecord.pk.exists())


def get_template(tenant_id: str, template_id: str) -> DocumentTemplate | None:
    try:
        return _template(
            DocumentTemplateRecord.get(_templates_pk(tenant_id), template_id, consistent_read=True)
        )
    except DoesNotExist:
        return None


def templates(tenant_id: str) -> list[DocumentTemplate]:
    return readable(DocumentTemplateRecord.query(_templates_pk(tenant_id)), _template, "document template")


def delete_template(tenant_id: str, template_id: str) -> None:
    with refused_as(lambda: NotFound(f"document template {template_id!r} does not exist")):
        DocumentTemplateRecord(pk=_templates_pk(tenant_id), sk=template_id).delete(
            condition=DocumentTemplateRecord.pk.exists()
        )


# ---------------------------------------------------------------- documents


def _document_pk(tenant_id: str, document_id: str) -> str:
    return f"{tenant_id}#DOCUMENT#{document_id}"


def _listed(document: Document) -> str:
    return f"{DOCUMENT_SK}#{document.kind.value}#{document.created_at.isoformat()}#{document.id}"


def _keys(tenant_id: str, document: Document) -> list[tuple[str, str]]:
    """The document's record, then its copy on its item."""
    return [
        (_document_pk(tenant_id, document.id), DOCUMENT_SK),
        (item_pk(tenant_id, document.item.type, document.item.id), _listed(document)),
    ]


def _document(record: DocumentRecord) -> Document:
    return Document.from_dict(record.document)


def recorded(tenant_id: str, document: Document) -> tuple[Write, ...]:
    """The document's records, as the writes its *document created* event takes along."""
    return tuple(
        Write(DocumentRecord(pk=pk, sk=sk, kind="document", tenant_id=tenant_id, document=document.to_dict()))
        for pk, sk in _keys(tenant_id, document)
    )


def viewed(tenant_id: str, document: Document, at: datetime) -> tuple[Write, ...]:
    """``viewed_at`` set on the document's records, as the writes its *document viewed* event takes
    along (once: with the event's first delivery)."""
    data = document.to_dict() | {"viewed_at": at.isoformat()}
    return tuple(
        Write(
            DocumentRecord(pk=pk, sk=sk),
            [DocumentRecord.document.set(data)],
        )
        for pk, sk in _keys(tenant_id, document)
    )


def get(tenant_id: str, document_id: str) -> Document:
    try:
        return _document(DocumentRecord.get(_document_pk(tenant_id, document_id), DOCUMENT_SK))
    except DoesNotExist:
        raise NotFound(f"document {document_id} does not exist") from None


def of_item(
    tenant_id: str, item: ItemRef, kind: DocumentKind | None, limit: int, cursor: str | None
) -> tuple[list[Document], str | None]:
    """The item's documents (of ``kind``), by kind, then the oldest first."""
    pk = item_pk(tenant_id, item.type, item.id)
    prefix = f"{DOCUMENT_SK}#" if kind is None else f"{DOCUMENT_SK}#{kind.value}#"
    results = DocumentRecord.query(
        pk,
        DocumentRecord.sk.startswith(prefix),
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, {"pk": pk}, {"sk": prefix}),
    )
    found = readable(results, _document, "document")
    return found, encode_cursor(results.last_evaluated_key)
