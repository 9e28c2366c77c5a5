"""Per-source settings (pure): what a source that reaches items by contact does with a contact no
item has, checked when set, and the new item's values from what the source knows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.domain.errors import Invalid
from crm.domain.sources import TITLE_LIMIT, Source, SourceSettings, UnknownContact, source_of

NEW_LEADS = SourceSettings(Source.MAIL, UnknownContact.CREATE_ITEM, "lead", "leads", "anna")


def test_a_source_never_set_ignores_unknown_contacts():
    default = SourceSettings(Source.MAIL)
    assert default.unknown_contact is UnknownContact.IGNORE and default.updated_at is None
    assert default.new_item_values("Hello", ["new@client.test"]) is None


def test_creating_items_gives_the_first_stage_of_the_pipeline_a_titled_item_with_the_contact():
    values = NEW_LEADS.new_item_values("  Re:\tyour\nquote ", ["new@client.test"], company="Contoso")
    assert values == {
        "title": "Re: your quote",
        "pipeline_id": "leads",
        "emails": ["new@client.test"],
        "phones": [],
        "company": "Contoso",
        "responsible_id": "anna",
    }
    assert "stage_id" not in values  # the pipeline's first stage


def test_a_long_title_is_cut_to_a_name_and_an_empty_one_named_by_the_type():
    assert len(NEW_LEADS.new_item_values("x" * 5000)["title"]) == TITLE_LIMIT
    assert NEW_LEADS.new_item_values(" \n ")["title"] == "New lead"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"unknown_contact": "create_item", "pipeline_id": "leads"}, "item_type: required"),
        ({"unknown_contact": "create_item", "item_type": "lead"}, "pipeline_id: required"),
        ({"unknown_contact": "ignore", "item_type": "lead"}, "item_type: only with unknown_contact"),
        ({"unknown_contact": "ignore", "responsible_id": "anna"}, "responsible_id: only with"),
        ({"unknown_contact": "create", "item_type": "lead"}, "unknown_contact: one of 'ignore'"),
        ({"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "a b"}, "pipeline_id"),
    ],
)
def test_inconsistent_settings_are_refused(values, message):
    with pytest.raises(Invalid, match=message):
        SourceSettings(Source.MAIL, **values)


def test_the_sources_are_listed_in_one_place_and_others_refused():
    assert source_of("mail") is Source.MAIL
    with pytest.raises(Invalid, match="source 'fax': one of 'mail'"):
        source_of("fax")


def test_settings_read_back_as_they_were_stored():
    stored = SourceSettings(
        Source.MAIL, UnknownContact.CREATE_ITEM, "lead", "leads", None, datetime(2026, 3, 2, tzinfo=UTC)
    )
    assert SourceSettings.from_dict(stored.to_dict()) == stored
    assert stored.to_dict()["unknown_contact"] == "create_item"
