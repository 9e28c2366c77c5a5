"""*Document created*: a robot generated a document for the item (an invoice, a quote, a contract),
of any kind or of the kinds the trigger names."""

from __future__ import annotations

from pydantic import Field

from crm.domain.documents import DocumentKind
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, Id, Params


class DocumentKinds(Params):
    kinds: list[DocumentKind] = Field(
        default_factory=list, max_length=len(DocumentKind), description="none: a document of any kind"
    )


class DocumentData(EventData):
    document_id: str = Field(min_length=1, max_length=64)
    kind: DocumentKind


def of_kind(data: DocumentData, params: DocumentKinds) -> bool:
    return not params.kinds or data.kind in params.kinds


class DocumentCreatedData(DocumentData):
    template_id: Id | None = None


DOCUMENT_CREATED = CATALOGUE.register(
    RuleType(
        "document_created",
        RuleKind.TRIGGER,
        "Document created",
        DocumentKinds,
        "A document (of one of the kinds named, or any) was generated for the item.",
        DocumentCreatedData,
        of_kind,
    )
)
