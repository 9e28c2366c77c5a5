"""Each pynamodb model class queries with its own key schema, whichever class of a table connects
first in a container (a subclass must never borrow its parent table's connection and indexes)."""

from __future__ import annotations

import pytest

from crm.adapters import automation, items
from crm.adapters.tables import AutomationRecord, ItemRecord, ItemsTableRecord, PipelineRecord
from crm.service import configuration, tenants

MODELS = (AutomationRecord, PipelineRecord, ItemsTableRecord, ItemRecord)


def _cold_container() -> None:
    # As in a new container: no model class holds a connection of its own (pynamodb's base class has
    # ``_connection = None``, which every subclass inherits until it connects).
    for model in MODELS:
        if "_connection" in model.__dict__:
            delattr(model, "_connection")


@pytest.fixture
def cold_models(aws):
    _cold_container()
    tenants.create_tenant("Acme", "acme")
    configuration.create_pipeline(
        "acme",
        {
            "id": "sales",
            "item_type": "deal",
            "name": "Sales",
            "stages": [{"id": "new", "name": "New"}, {"id": "won", "name": "Won", "semantic": "success"}],
        },
    )
    _cold_container()


def test_a_pipeline_index_query_works_after_the_automation_table_connected_first(cold_models):
    AutomationRecord._get_connection()

    assert [p.id for p in automation.list_pipelines("acme", "deal")] == ["sales"]


def test_an_item_index_query_works_after_the_items_table_connected_first(cold_models):
    ItemsTableRecord._get_connection()

    assert not items.stage_has_items("acme", "deal", "sales", "new")
