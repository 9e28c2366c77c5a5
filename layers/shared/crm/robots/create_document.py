"""*Create document from template*: a document (invoice, quote, contract, offer...) made from one of
the tenant's document templates (``/automation/document-templates``) for the item, stored with a
record on the item, firing *document created*. Its link (``document_url``) is the CRM's public view
link, which a mail after it can carry (``{{ robots.r1.document_url }}``).

The template's HTML is rendered in the sandbox with every value escaped, as a send-email robot's
HTML body is; the requisites of the client are there through a *get requisites* robot before it
(``{{ robots.r0.legal_name }}``). The document is an HTML page; PDF is not made (no renderer runs
in the Lambda runtime): a browser prints the page to PDF."""

from __future__ import annotations

from pydantic import Field

from crm.domain import templates
from crm.domain.documents import CONTENT_TYPE, MAX_FILE_NAME, file_name, page
from crm.domain.model import Item
from crm.domain.ports import NewDocument
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Id, Outputs, Params, Template
from crm.robots.outside import rendered, within


class CreateDocumentParams(Params):
    template_id: Id = Field(description="a document template of the tenant")
    file_name: Template | None = Field(None, description="none: the template's file name")


class CreateDocumentOutputs(Outputs):
    document_id: str
    document_url: str = Field(description="the CRM's public view link")
    kind: str
    file_name: str


def create_document(ctx: RobotContext, item: Item, params: CreateDocumentParams) -> dict[str, str]:
    documents = ctx.ports.documents
    if documents is None:
        raise RobotFailed("no document store is configured", retryable=False)
    template = documents.template(ctx.tenant_id, params.template_id)
    if template is None:
        raise RobotFailed(f"document template {params.template_id!r} does not exist", retryable=False)
    name_source = params.file_name or template.file_name
    name = file_name(within(rendered(ctx.header, name_source, "file_name"), MAX_FILE_NAME - 5, "file_name"))
    body = within(rendered(ctx.html, template.body, "the document"), templates.MAX_OUTPUT, "the document")
    content = page(name.rsplit(".", 1)[0], body).encode()
    stored = documents.store(
        ctx.tenant_id,
        item,
        NewDocument(template.kind, name, CONTENT_TYPE, template.id),
        content,
        idempotency_key=ctx.idempotency_key,
        cause=ctx.cause,
    )
    return {
        "document_id": stored.id,
        "document_url": stored.url,
        "kind": template.kind.value,
        "file_name": name,
    }


CREATE_DOCUMENT = CATALOGUE.register(
    RuleType(
        "create_document",
        RuleKind.ROBOT,
        "Create document from template",
        CreateDocumentParams,
        "Makes a document (invoice, quote, contract...) from one of the tenant's document templates, "
        "stores it on the item and fires document created; its document_url is the public view link.",
        run=create_document,
        outputs=CreateDocumentOutputs,
    )
)
