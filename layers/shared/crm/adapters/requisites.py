"""Requisites of companies and contacts in the items table, one record per holder:

    requisites  pk={tenant}#REQUISITES#{company|contact}#{key}   sk=REQUISITES

(key: the company's name folded, the contact's normal email; ``crm.domain.requisites.Holder``).
A write is conditional on the version it read, so two changes made at once cannot lose one.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.tables import ItemsTableRecord
from crm.adapters.transactions import refused_as
from crm.domain.errors import StaleWrite
from crm.domain.requisites import HeldRequisites, Holder, Requisites

SK = "REQUISITES"


class RequisitesRecord(ItemsTableRecord):
    holder = UnicodeAttribute()  # as the item names it
    requisites = JSONAttribute()
    version = NumberAttribute()
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)


def _pk(tenant_id: str, holder: Holder) -> str:
    return f"{tenant_id}#REQUISITES#{holder.kind.value}#{holder.key}"


def get(tenant_id: str, holder: Holder) -> HeldRequisites | None:
    try:
        record = RequisitesRecord.get(_pk(tenant_id, holder), SK, consistent_read=True)
    except DoesNotExist:
        return None
    return HeldRequisites(
        holder=Holder(holder.kind, holder.key, record.holder),
        requisites=Requisites(**record.requisites),
        version=int(record.version),
        updated_at=datetime.fromisoformat(record.updated_at),
        updated_by=record.updated_by,
    )


def save(tenant_id: str, held: HeldRequisites) -> None:
    """``held`` in place of its version before (none: the first); StaleWrite if another came first."""
    record = RequisitesRecord(
        pk=_pk(tenant_id, held.holder),
        sk=SK,
        kind="requisites",
        tenant_id=tenant_id,
        holder=held.holder.name,
        requisites=held.requisites.to_dict(),
        version=held.version,
        updated_at=held.updated_at.isoformat(),
        updated_by=held.updated_by,
    )
    current = (
        RequisitesRecord.pk.does_not_exist()
        if held.version == 1
        else RequisitesRecord.version == held.version - 1
    )
    with refused_as(lambda: StaleWrite(f"the requisites of {held.holder.name} changed meanwhile")):
        record.save(condition=current)
