"""*Document viewed*: the client opened the public link of a document generated for the item, the
first time (a HEAD request, a link scanner or a preview is no one viewing it)."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.document_created import DocumentData, DocumentKinds, of_kind

DOCUMENT_VIEWED = CATALOGUE.register(
    RuleType(
        "document_viewed",
        RuleKind.TRIGGER,
        "Document viewed",
        DocumentKinds,
        "The client opened the link of a document (of one of the kinds named, or any) of the item.",
        DocumentData,
        of_kind,
    )
)
