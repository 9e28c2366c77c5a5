"""Requisites of an item's company (``?of=company``, the default) or contact (``?of=contact``): kept
per company name or contact email, so every item of that company or contact shows the same
(``crm.domain.requisites``)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.api.context import tenant_id
from crm.api.schemas import PathId, RequisitesIn, RequisitesOut
from crm.domain.requisites import HeldRequisites, HolderKind
from crm.service import requisites

router = Router()

ROUTE = "/items/<item_type>/<item_id>/requisites"
Of = Annotated[
    Literal["company", "contact"],
    Query(description="the item's company (by its name), or its contact (its first email)"),
]


def _out(held: HeldRequisites) -> RequisitesOut:
    return RequisitesOut.model_validate(held.to_dict())


@router.get(ROUTE, tags=["requisites"])
def get_requisites(item_type: PathId, item_id: PathId, of: Of = "company") -> RequisitesOut:
    """404 when the item does not exist or none are stored for its company (contact); 422 when the
    item has no company (no email)."""
    return _out(requisites.of_item(tenant_id(router), item_type, item_id, HolderKind(of)))


@router.put(ROUTE, tags=["requisites"])
def put_requisites(
    item_type: PathId, item_id: PathId, body: RequisitesIn, of: Of = "company"
) -> RequisitesOut:
    """Replaces the requisites of the item's company (contact): what is left out is cleared. 422 for
    a value of several lines (but the address), control characters, no value at all, or an item
    without a company (email)."""
    values = body.model_dump(exclude={"by"})
    return _out(
        requisites.set_of_item(tenant_id(router), item_type, item_id, HolderKind(of), values, body.by)
    )
