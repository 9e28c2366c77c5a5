from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.api.context import tenant_id
from crm.api.schemas import ItemTypeIn, ItemTypeOut, ItemTypePatch, PathId
from crm.service import configuration

router = Router()


@router.get("/types", tags=["item types"])
def list_item_types() -> list[ItemTypeOut]:
    return [ItemTypeOut.of(t) for t in configuration.item_types(tenant_id(router))]


@router.post("/types", tags=["item types"], status_code=201)
def create_item_type(body: ItemTypeIn) -> ItemTypeOut:
    """A smart-process type with its custom fields."""
    return ItemTypeOut.of(configuration.create_item_type(tenant_id(router), body.model_dump()))


@router.patch("/types/<code>", tags=["item types"])
def update_item_type(code: PathId, body: ItemTypePatch) -> ItemTypeOut:
    """Renames a type or replaces its custom field definitions (built-in types too)."""
    changes = body.model_dump(exclude_unset=True)
    return ItemTypeOut.of(configuration.update_item_type(tenant_id(router), code, changes))
