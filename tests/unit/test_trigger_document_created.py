"""*Document created*: fired by a generated document of the item, of any kind or of the kinds named."""

from __future__ import annotations

import pytest

import crm.triggers  # noqa: F401  (registers the trigger types)
from crm.domain.errors import Invalid
from tests.unit.builders import fires, refused_params

INVOICE = {"document_id": "AbCdEfGh12345678", "kind": "invoice", "template_id": "invoice"}


def test_any_document_fires_a_trigger_without_kinds():
    assert fires("document_created", INVOICE)
    assert fires("document_created", {"document_id": "x", "kind": "other"})


def test_the_kinds_named_narrow_it():
    assert fires("document_created", INVOICE, {"kinds": ["quote", "invoice"]})
    assert not fires("document_created", INVOICE, {"kinds": ["contract"]})


def test_kinds_that_do_not_exist_are_refused_when_the_trigger_is_saved():
    assert "kinds" in refused_params("document_created", {"kinds": ["poem"]})
    assert "extra" in refused_params("document_created", {"extra": 1})


def test_an_event_without_the_documents_kind_is_no_document_created_event():
    with pytest.raises(Invalid, match="kind"):
        fires("document_created", {"document_id": "x"})
