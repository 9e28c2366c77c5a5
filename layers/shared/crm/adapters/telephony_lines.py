"""Telephony lines.

Automation table: line   pk={tenant}#TELEPHONY_LINES   sk={line id}   (with its secret: the CRM
                  checks the provider's signatures with it, so it is kept, not hashed, in the
                  table's encryption at rest)
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord
from crm.adapters.transactions import refused_as
from crm.domain.errors import Conflict, NotFound
from crm.domain.sources import SourceSettings
from crm.domain.telephony import Line, Provider


class LineRecord(AutomationRecord):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    provider = UnicodeAttribute()
    created_at = UnicodeAttribute()
    secret = UnicodeAttribute()
    unknown_caller = JSONAttribute(null=True)
    previous_secret = UnicodeAttribute(null=True)
    previous_valid_until = UnicodeAttribute(null=True)


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#TELEPHONY_LINES"


def _record(line: Line) -> LineRecord:
    return LineRecord(
        pk=_pk(line.tenant_id),
        sk=line.id,
        tenant_id=line.tenant_id,
        name=line.name,
        provider=line.provider.value,
        created_at=line.created_at.isoformat(),
        secret=line.secret,
        unknown_caller=None if line.unknown_caller is None else line.unknown_caller.to_dict(),
        previous_secret=line.previous_secret,
        previous_valid_until=None
        if line.previous_valid_until is None
        else line.previous_valid_until.isoformat(),
    )


def _line(record: LineRecord) -> Line:
    unknown_caller, until = record.unknown_caller, record.previous_valid_until
    return Line(
        tenant_id=record.tenant_id,
        id=record.sk,
        name=record.name,
        provider=Provider(record.provider),
        created_at=datetime.fromisoformat(record.created_at),
        secret=record.secret,
        unknown_caller=None if unknown_caller is None else SourceSettings.from_dict(unknown_caller),
        previous_secret=record.previous_secret,
        previous_valid_until=None if until is None else datetime.fromisoformat(until),
    )


def create(line: Line) -> None:
    with refused_as(lambda: Conflict(f"telephony line {line.id!r} exists already")):
        _record(line).save(condition=LineRecord.pk.does_not_exist())


def get(tenant_id: str, line_id: str) -> Line | None:
    """The line as stored now (strongly consistent: one made a moment ago takes its calls)."""
    try:
        return _line(LineRecord.get(_pk(tenant_id), line_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_all(tenant_id: str) -> list[Line]:
    return readable(LineRecord.query(_pk(tenant_id)), _line, "telephony line")


def replace(line: Line, expected_secret: str) -> None:
    """Writes ``line`` over the stored one if that still has ``expected_secret`` (not changed or
    deleted meanwhile); Conflict otherwise."""
    with refused_as(lambda: Conflict(f"telephony line {line.id!r} was changed meanwhile: read it again")):
        _record(line).save(condition=LineRecord.secret == expected_secret)


def delete(tenant_id: str, line_id: str) -> None:
    with refused_as(lambda: NotFound(f"telephony line {line_id!r} does not exist")):
        LineRecord(pk=_pk(tenant_id), sk=line_id).delete(condition=LineRecord.pk.exists())
