"""Document templates (``/automation/document-templates``), which the *create document* robot
fills, and the documents an item has (``/items/{type}/{id}/documents``), each with its public view
link."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.api.context import tenant_id
from crm.api.schemas import (
    Cursor,
    DocumentKindName,
    DocumentOut,
    DocumentPage,
    DocumentTemplateIn,
    DocumentTemplateList,
    DocumentTemplateOut,
    Limit,
    NewDocumentTemplateIn,
    PathId,
)
from crm.api.urls import public_url
from crm.domain.documents import DocumentKind, DocumentTemplate
from crm.service import documents

router = Router()

TEMPLATES = "/automation/document-templates"


def _template(template: DocumentTemplate) -> DocumentTemplateOut:
    return DocumentTemplateOut.model_validate(template.to_dict())


def _values(body: DocumentTemplateIn) -> dict:
    values = body.model_dump(exclude_none=True)
    values.setdefault("file_name", body.name + " {{ item.id }}")
    return values


@router.get(TEMPLATES, tags=["documents"])
def list_templates() -> DocumentTemplateList:
    return DocumentTemplateList(templates=[_template(t) for t in documents.templates(tenant_id(router))])


@router.post(TEMPLATES, tags=["documents"], status_code=201)
def create_template(body: NewDocumentTemplateIn) -> DocumentTemplateOut:
    """422 for a body or file name that is no valid template; 409 for an id that is taken."""
    return _template(documents.create_template(tenant_id(router), _values(body)))


@router.get(f"{TEMPLATES}/<template_id>", tags=["documents"])
def get_template(template_id: PathId) -> DocumentTemplateOut:
    return _template(documents.template(tenant_id(router), template_id))


@router.put(f"{TEMPLATES}/<template_id>", tags=["documents"])
def replace_template(template_id: PathId, body: DocumentTemplateIn) -> DocumentTemplateOut:
    """Robots use the new template from their next run; documents made already stay as they are."""
    return _template(documents.replace_template(tenant_id(router), template_id, _values(body)))


@router.delete(f"{TEMPLATES}/<template_id>", tags=["documents"], status_code=204)
def delete_template(template_id: PathId) -> None:
    """Robots naming it fail from their next run, saying so; its documents stay."""
    documents.delete_template(tenant_id(router), template_id)


@router.get("/items/<item_type>/<item_id>/documents", tags=["documents"])
def list_item_documents(
    item_type: PathId,
    item_id: PathId,
    kind: Annotated[DocumentKindName | None, Query(description="only documents of this kind")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DocumentPage:
    """The item's documents, by kind, then the oldest first, each with its public view link."""
    found, cursor = documents.item_documents(
        tenant_id(router),
        item_type,
        item_id,
        None if kind is None else DocumentKind(kind),
        limit,
        cursor,
        public_url(router, ""),
    )
    return DocumentPage(
        documents=[DocumentOut.model_validate(d.document.to_dict() | {"url": d.url}) for d in found],
        cursor=cursor,
    )
