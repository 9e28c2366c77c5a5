"""Requisites of an item's company or contact (``crm.domain.requisites``): read and set through the
API on an item, and the ``RequisitesBook`` port robots read and change them through."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from crm.adapters import items
from crm.adapters import requisites as store
from crm.domain import clock
from crm.domain.errors import Invalid, NotFound, StaleWrite
from crm.domain.requisites import HeldRequisites, Holder, HolderKind, Requisites, holder_of
from crm.domain.robots import RobotFailed
from crm.service.configuration import referenced_employee

# A change made on what was read is decided again this many times when others come first.
WRITE_ATTEMPTS = 3


def _holder(tenant_id: str, item_type: str, item_id: str, kind: HolderKind) -> Holder:
    """Whose requisites the item's ``kind`` names; Invalid when the item has no company (contact)."""
    return holder_of(items.get(tenant_id, item_type, item_id), kind)


def of_item(tenant_id: str, item_type: str, item_id: str, kind: HolderKind) -> HeldRequisites:
    """NotFound when the item does not exist or none are stored for its company (contact)."""
    holder = _holder(tenant_id, item_type, item_id, kind)
    held = store.get(tenant_id, holder)
    if held is None:
        raise NotFound(f"no requisites are stored for the {holder.kind} {holder.name!r}")
    return held


def set_of_item(
    tenant_id: str,
    item_type: str,
    item_id: str,
    kind: HolderKind,
    values: Mapping[str, str | None],
    by: str | None,
) -> HeldRequisites:
    """The requisites of the item's company (contact) replaced by ``values`` (what is left out is
    cleared); Invalid for values out of bounds, or requisites with no value at all."""
    if by is not None:
        referenced_employee(tenant_id, by, "by", acting=True)
    requisites = Requisites(**values)
    if requisites.empty:
        raise Invalid("requisites need at least one value")
    return _write(tenant_id, _holder(tenant_id, item_type, item_id, kind), lambda _: requisites, by)


def _write(
    tenant_id: str, holder: Holder, change: Callable[[Requisites], Requisites], by: str | None
) -> HeldRequisites:
    for _ in range(WRITE_ATTEMPTS):
        before = store.get(tenant_id, holder)
        after = change(before.requisites if before else Requisites())
        if before is not None and after == before.requisites:
            return before  # nothing to change: no write, no new version
        held = HeldRequisites(
            holder=holder if before is None else before.holder,
            requisites=after,
            version=1 if before is None else before.version + 1,
            updated_at=clock.now(),
            updated_by=by,
        )
        try:
            store.save(tenant_id, held)
        except StaleWrite:
            continue
        return held
    raise StaleWrite(f"the requisites of {holder.name} changed meanwhile, again and again; retry")


class CrmRequisites:
    """The ``RequisitesBook`` port (``crm.domain.ports``) on the items table."""

    def get(self, tenant_id: str, holder: Holder) -> HeldRequisites | None:
        return store.get(tenant_id, holder)

    def change(
        self, tenant_id: str, holder: Holder, values: Mapping[str, str | None], *, by: str
    ) -> HeldRequisites:
        try:
            return _write(tenant_id, holder, lambda current: current.changed(dict(values)), by)
        except StaleWrite as busy:
            raise RobotFailed(str(busy)) from None  # another attempt reads them as they are then
