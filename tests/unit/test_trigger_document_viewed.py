"""*Document viewed*: fired when a document's public link is first opened, of any kind or of the
kinds named."""

from __future__ import annotations

import pytest

import crm.triggers  # noqa: F401  (registers the trigger types)
from crm.domain.errors import Invalid
from tests.unit.builders import fires, refused_params

QUOTE = {"document_id": "AbCdEfGh12345678", "kind": "quote"}


def test_a_view_fires_for_any_kind_or_the_kinds_named():
    assert fires("document_viewed", QUOTE)
    assert fires("document_viewed", QUOTE, {"kinds": ["quote"]})
    assert not fires("document_viewed", QUOTE, {"kinds": ["invoice", "contract"]})


def test_params_and_event_data_are_checked():
    assert "kinds" in refused_params("document_viewed", {"kinds": "quote"})
    with pytest.raises(Invalid, match="template_id"):
        fires("document_viewed", QUOTE | {"template_id": "t"})  # a view carries no template
