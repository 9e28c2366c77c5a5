from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from crm.adapters import items as item_store
from crm.api.context import tenant_id
from crm.api.schemas import (
    CommentIn,
    ItemIn,
    ItemOut,
    ItemPage,
    ItemPatch,
    MoveOut,
    StageMoveIn,
    TimelineEntryOut,
    TimelinePage,
)
from crm.service import items

router = Router()

Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/items", tags=["items"])
def find_items(
    email: Annotated[str | None, Query()] = None, phone: Annotated[str | None, Query()] = None
) -> list[ItemOut]:
    """Every item of the tenant (of any type) whose contact has this email or phone."""
    return [ItemOut.of(i) for i in items.find_by_contact(tenant_id(router), email, phone)]


@router.post("/items/<item_type>", tags=["items"])
def create_item(
    item_type: str,
    body: ItemIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key", description="a retried request with the same key creates nothing new"
        ),
    ] = None,
) -> tuple[ItemOut, int]:
    tenant, values = tenant_id(router), body.model_dump(exclude={"by"})

    def create() -> dict:
        return ItemOut.of(items.create_item(tenant, item_type, values, by=body.by)).model_dump(mode="json")

    if idempotency_key is None:
        return ItemOut.model_validate(create()), 201
    # Imported here: powertools idempotency (and boto3 with it) is only for keyed requests.
    from crm.adapters.idempotency import once

    request = {"type": item_type, **body.model_dump(mode="json")}
    stored = once(tenant, "create-item", idempotency_key, request, create, router.lambda_context)
    return ItemOut.model_validate(stored), 201


@router.get("/items/<item_type>", tags=["items"])
def list_items(
    item_type: str,
    pipeline_id: Annotated[str | None, Query(description="default: the type's default pipeline")] = None,
    stage_id: Annotated[str | None, Query()] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> ItemPage:
    found, next_cursor = items.list_items(tenant_id(router), item_type, pipeline_id, stage_id, limit, cursor)
    return ItemPage(items=[ItemOut.of(i) for i in found], cursor=next_cursor)


@router.get("/items/<item_type>/<item_id>", tags=["items"])
def get_item(item_type: str, item_id: str) -> ItemOut:
    return ItemOut.of(item_store.get(tenant_id(router), item_type, item_id))


@router.patch("/items/<item_type>/<item_id>", tags=["items"])
def update_item(item_type: str, item_id: str, body: ItemPatch) -> ItemOut:
    changes = body.model_dump(exclude_unset=True, exclude={"by", "expected_version"})
    updated = items.update_item(
        tenant_id(router), item_type, item_id, changes, by=body.by, expected_version=body.expected_version
    )
    return ItemOut.of(updated)


@router.delete("/items/<item_type>/<item_id>", tags=["items"])
def delete_item(item_type: str, item_id: str) -> tuple[None, int]:
    items.delete_item(tenant_id(router), item_type, item_id)
    return None, 204


@router.post("/items/<item_type>/<item_id>/stage", tags=["items"])
def move_stage(item_type: str, item_id: str, body: StageMoveIn) -> MoveOut:
    """Moves the item to a stage of its pipeline: forward by default; 422 for an unknown stage,
    409 when the transition policy refuses (back, or out of a closed stage, without allow_backwards)."""
    item, did_move = items.manual_move(
        tenant_id(router), item_type, item_id, body.stage_id, body.by, body.allow_backwards
    )
    return MoveOut(moved=did_move, item=ItemOut.of(item))


@router.get("/items/<item_type>/<item_id>/timeline", tags=["items"])
def get_timeline(
    item_type: str, item_id: str, limit: Limit = 50, cursor: Annotated[str | None, Query()] = None
) -> TimelinePage:
    """Newest first: creation, stage changes, field changes, comments, refused automatic moves."""
    entries, next_cursor = items.timeline(tenant_id(router), item_type, item_id, limit, cursor)
    return TimelinePage(entries=[TimelineEntryOut.of(e) for e in entries], cursor=next_cursor)


@router.post("/items/<item_type>/<item_id>/comments", tags=["items"])
def add_comment(item_type: str, item_id: str, body: CommentIn) -> tuple[TimelineEntryOut, int]:
    entry = items.add_comment(tenant_id(router), item_type, item_id, body.text, body.by)
    return TimelineEntryOut.of(entry), 201
