from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from crm.api.context import tenant_id
from crm.api.schemas import (
    ID_PATTERN,
    CommentIn,
    Cursor,
    ItemIn,
    ItemOut,
    ItemPage,
    ItemPatch,
    ItemSummaryOut,
    Limit,
    MoveOut,
    PathId,
    StageMoveIn,
    TimelineEntryOut,
    TimelinePage,
)
from crm.service import items

router = Router()


@router.get("/items", tags=["items"])
def find_items(
    email: Annotated[str | None, Query(max_length=254)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
) -> list[ItemSummaryOut]:
    """Every item of the tenant (of any type) whose contact has this email or phone: what it is and
    its title (its stage and fields: ``GET /items/{type}/{id}``)."""
    return [ItemSummaryOut.of(i) for i in items.find_by_contact(tenant_id(router), email, phone)]


@router.post("/items/<item_type>", tags=["items"], status_code=201)
def create_item(
    item_type: PathId,
    body: ItemIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="a retry with the same key within 24 hours creates nothing new and gets the "
            "first answer; the same key with another request is refused (422)",
        ),
    ] = None,
) -> ItemOut:
    values = body.model_dump(mode="json", exclude={"by"})
    created = items.create_item(tenant_id(router), item_type, values, body.by, idempotency_key)
    return ItemOut.of(created)


@router.get("/items/<item_type>", tags=["items"])
def list_items(
    item_type: PathId,
    pipeline_id: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="default: the type's default pipeline (the page names it)"),
    ] = None,
    stage_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ItemPage:
    """The items of one pipeline, oldest first within a stage; a type without pipelines has none."""
    found, next_cursor, listed = items.list_items(
        tenant_id(router), item_type, pipeline_id, stage_id, limit, cursor
    )
    return ItemPage(items=[ItemOut.of(i) for i in found], pipeline_id=listed, cursor=next_cursor)


@router.get("/items/<item_type>/<item_id>", tags=["items"])
def get_item(item_type: PathId, item_id: PathId) -> ItemOut:
    return ItemOut.of(items.get_item(tenant_id(router), item_type, item_id))


@router.patch("/items/<item_type>/<item_id>", tags=["items"])
def update_item(item_type: PathId, item_id: PathId, body: ItemPatch) -> ItemOut:
    changes = body.model_dump(exclude_unset=True, exclude={"by", "expected_version"})
    updated = items.update_item(
        tenant_id(router), item_type, item_id, changes, by=body.by, expected_version=body.expected_version
    )
    return ItemOut.of(updated)


@router.delete("/items/<item_type>/<item_id>", tags=["items"], status_code=204)
def delete_item(item_type: PathId, item_id: PathId) -> None:
    items.delete_item(tenant_id(router), item_type, item_id)
    return Response(204)


@router.post("/items/<item_type>/<item_id>/stage", tags=["items"])
def move_stage(item_type: PathId, item_id: PathId, body: StageMoveIn) -> MoveOut:
    """Moves the item to a stage of its pipeline: forward by default; 422 for an unknown stage,
    409 when the transition policy refuses (back, or out of a closed stage, without allow_backwards)."""
    item, did_move = items.manual_move(
        tenant_id(router), item_type, item_id, body.stage_id, body.by, body.allow_backwards
    )
    return MoveOut(moved=did_move, item=ItemOut.of(item))


@router.get("/items/<item_type>/<item_id>/timeline", tags=["items"])
def get_timeline(
    item_type: PathId, item_id: PathId, limit: Limit = 50, cursor: Cursor = None
) -> TimelinePage:
    """Newest first: creation, stage changes, field changes, comments, refused automatic moves."""
    entries, next_cursor = items.timeline(tenant_id(router), item_type, item_id, limit, cursor)
    return TimelinePage(entries=[TimelineEntryOut.of(e) for e in entries], cursor=next_cursor)


@router.post("/items/<item_type>/<item_id>/comments", tags=["items"], status_code=201)
def add_comment(item_type: PathId, item_id: PathId, body: CommentIn) -> TimelineEntryOut:
    return TimelineEntryOut.of(items.add_comment(tenant_id(router), item_type, item_id, body.text, body.by))
