"""Pipelines, their rules, employees and item types in the automation table.

A pipeline and all its rules share one partition, so one Query loads a pipeline's configuration.
The pipeline record carries a version bumped by every change (stages or rules, in the same
transaction), so a warm container keeps configurations in ``_cache`` and writes that depend on one
check its version instead of reading it again. Item types (versioned the same way) and each type's
default pipeline are kept and checked likewise (``crm.adapters.items.Basis``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters import warm
from crm.adapters.items import default_pipeline_key, item_type_key, pipeline_pk
from crm.adapters.readable import readable
from crm.adapters.tables import (
    AutomationRecord,
    DefaultPipelineRecord,
    EmployeeRecord,
    ItemTypeRecord,
    PipelineRecord,
    RuleRecord,
    connection,
)
from crm.adapters.transactions import condition_failed, refusal
from crm.domain.errors import Conflict, NotFound, StaleWrite
from crm.domain.model import Employee, ItemType, Pipeline, Stage, StageSemantic
from crm.domain.rules import PipelineConfig, Rule

META = "META"

_cache: dict[tuple[str, str], PipelineConfig] = warm.cache(limit=256)
_item_types: dict[tuple[str, str], ItemType | None] = warm.cache(limit=1024)  # None: not stored
_defaults: dict[tuple[str, str], str] = warm.cache(limit=1024)  # (tenant, item type) -> its default pipeline


# ---------------------------------------------------------------- mapping


def _pipeline_record(tenant_id: str, pipeline: Pipeline) -> PipelineRecord:
    return PipelineRecord(
        pk=pipeline_pk(tenant_id, pipeline.id),
        sk=META,
        tenant_id=tenant_id,
        catalog_key=f"PIPELINE#{pipeline.item_type}#{pipeline.id}",
        item_type=pipeline.item_type,
        name=pipeline.name,
        stages=[
            {"id": s.id, "name": s.name, "color": s.color, "sort": s.sort, "semantic": s.semantic.value}
            for s in pipeline.stages
        ],
        version=pipeline.version,
        is_default=pipeline.is_default,
    )


def _pipeline(record: PipelineRecord) -> Pipeline:
    return Pipeline(
        id=record.pk.rsplit("#", 1)[1],
        item_type=record.item_type,
        name=record.name,
        stages=tuple(
            Stage(s["id"], s["name"], s["color"], int(s["sort"]), StageSemantic(s["semantic"]))
            for s in record.stages
        ),
        version=int(record.version),
        is_default=bool(record.is_default),
    )


def _rule_record(tenant_id: str, pipeline_id: str, rule: Rule) -> RuleRecord:
    return RuleRecord(pk=pipeline_pk(tenant_id, pipeline_id), sk=f"RULE#{rule.id}", rule=rule.to_dict())


# ---------------------------------------------------------------- pipelines


def load(tenant_id: str, pipeline_id: str, *, fresh: bool = False) -> PipelineConfig:
    """A pipeline with its rules; from the warm container's cache unless ``fresh``."""
    key = (tenant_id, pipeline_id)
    if not fresh and key in _cache:
        return _cache[key]
    pipeline: Pipeline | None = None
    rules: list[Rule] = []
    # One Query (paginated only past 1 MB): the pipeline and its rules share the partition.
    for raw in _partition(pipeline_pk(tenant_id, pipeline_id)):
        if raw["sk"]["S"] == META:
            pipeline = _pipeline(PipelineRecord.from_raw_data(raw))
        else:
            rules.append(Rule.from_dict(RuleRecord.from_raw_data(raw).rule))
    if pipeline is None:
        _cache.pop(key, None)
        raise NotFound(f"pipeline {pipeline_id!r} does not exist")
    config = PipelineConfig(pipeline, tuple(rules))
    _cache[key] = config
    return config


def _partition(pk: str) -> Iterator[dict[str, Any]]:
    start = None
    while True:
        # The model's table connection knows the key schema, so no DescribeTable call is made.
        page = AutomationRecord._get_connection().query(pk, consistent_read=True, exclusive_start_key=start)
        yield from page["Items"]
        if not (start := page.get("LastEvaluatedKey")):
            return


def forget(tenant_id: str, pipeline_id: str) -> None:
    _cache.pop((tenant_id, pipeline_id), None)


def forget_item_type(tenant_id: str, item_type: str) -> None:
    """The type and its default pipeline, as this container keeps them."""
    _item_types.pop((tenant_id, item_type), None)
    _defaults.pop((tenant_id, item_type), None)


def list_pipelines(tenant_id: str, item_type: str | None) -> list[Pipeline]:
    prefix = f"PIPELINE#{item_type}#" if item_type else "PIPELINE#"
    records = PipelineRecord.by_tenant.query(tenant_id, PipelineRecord.catalog_key.startswith(prefix))
    return readable(records, _pipeline, "pipeline")


def _default_record(tenant_id: str, pipeline: Pipeline) -> DefaultPipelineRecord:
    pk, sk = default_pipeline_key(tenant_id, pipeline.item_type)
    return DefaultPipelineRecord(pk=pk, sk=sk, pipeline_id=pipeline.id)


def default_pipeline_id(tenant_id: str, item_type: str, *, fresh: bool = True) -> str | None:
    """The type's default pipeline; from the warm container's cache when not ``fresh`` (a write
    that relies on it checks it, ``Basis.default_pipeline``). A type without one is never cached."""
    key = (tenant_id, item_type)
    if not fresh and key in _defaults:
        return _defaults[key]
    try:
        record = DefaultPipelineRecord.get(*default_pipeline_key(tenant_id, item_type), consistent_read=True)
    except DoesNotExist:
        _defaults.pop(key, None)
        return None
    _defaults[key] = record.pipeline_id
    return record.pipeline_id


def create_pipeline(tenant_id: str, pipeline: Pipeline) -> None:
    """A default pipeline claims its type's default in the same transaction; StaleWrite if another
    pipeline claimed it meanwhile."""
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(
                _pipeline_record(tenant_id, pipeline), condition=PipelineRecord.pk.does_not_exist()
            )
            if pipeline.is_default:
                transaction.save(
                    _default_record(tenant_id, pipeline), condition=DefaultPipelineRecord.pk.does_not_exist()
                )
    except TransactWriteError as error:
        exists = Conflict(f"pipeline {pipeline.id!r} exists already")
        claimed = StaleWrite(f"another {pipeline.item_type} pipeline became the default meanwhile")
        raise refusal(error, {0: exists, 1: claimed}) from None
    finally:
        _defaults.pop((tenant_id, pipeline.item_type), None)


# A transaction holds at most 100 actions: rule deletions past this many go ahead in chunks.
RULES_PER_TRANSACTION = 90


def _delete_rules_ahead(tenant_id: str, pipeline: Pipeline, rule_ids: Sequence[str]) -> Sequence[str]:
    """Deletes all but the last ``RULES_PER_TRANSACTION`` of ``rule_ids`` in chunks, each checked
    against ``pipeline``'s version (a change made meanwhile stops it before anything is lost), and
    returns the rest for the caller's own transaction. Only for rules that can no longer fire: those
    of a stage or pipeline being deleted, which has no items."""
    if len(rule_ids) <= RULES_PER_TRANSACTION:
        return rule_ids
    pk = pipeline_pk(tenant_id, pipeline.id)
    ahead, rest = rule_ids[:-RULES_PER_TRANSACTION], rule_ids[-RULES_PER_TRANSACTION:]
    for start in range(0, len(ahead), RULES_PER_TRANSACTION):
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.condition_check(
                    PipelineRecord, pk, META, condition=PipelineRecord.version == pipeline.version
                )
                for rule_id in ahead[start : start + RULES_PER_TRANSACTION]:
                    transaction.delete(RuleRecord(pk=pk, sk=f"RULE#{rule_id}"))
        except TransactWriteError as error:
            stale = StaleWrite(f"pipeline {pipeline.id!r} changed meanwhile; read it again")
            raise refusal(error, {}, stale) from None
    return rest


def save_pipeline(
    tenant_id: str, before: Pipeline, after: Pipeline, *, put: Sequence[Rule] = (), delete: Sequence[str] = ()
) -> None:
    """Writes ``after`` (one version above ``before``) with rule changes, all or nothing (rule
    deletions past one transaction's worth go first, checked against ``before``'s version)."""
    assert after.version == before.version + 1
    delete = _delete_rules_ahead(tenant_id, before, delete)
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(
                _pipeline_record(tenant_id, after), condition=PipelineRecord.version == before.version
            )
            if after.is_default and not before.is_default:
                transaction.save(
                    _default_record(tenant_id, after), condition=DefaultPipelineRecord.pk.does_not_exist()
                )
            for rule in put:
                transaction.save(_rule_record(tenant_id, after.id, rule))
            for rule_id in delete:
                transaction.delete(RuleRecord(pk=pipeline_pk(tenant_id, after.id), sk=f"RULE#{rule_id}"))
    except TransactWriteError as error:
        stale = StaleWrite(f"pipeline {after.id!r} changed meanwhile; read it again")
        raise refusal(error, {}, stale) from None
    finally:
        forget(tenant_id, after.id)
        _defaults.pop((tenant_id, after.item_type), None)


def delete_pipeline(tenant_id: str, config: PipelineConfig) -> None:
    pk = pipeline_pk(tenant_id, config.pipeline.id)
    rules = _delete_rules_ahead(tenant_id, config.pipeline, [r.id for r in config.rules])
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.delete(
                _pipeline_record(tenant_id, config.pipeline),
                condition=PipelineRecord.version == config.pipeline.version,
            )
            for rule_id in rules:
                transaction.delete(RuleRecord(pk=pk, sk=f"RULE#{rule_id}"))
            if config.pipeline.is_default:
                default = _default_record(tenant_id, config.pipeline)
                transaction.delete(default, condition=DefaultPipelineRecord.pipeline_id == config.pipeline.id)
    except TransactWriteError as error:
        stale = StaleWrite(f"pipeline {config.pipeline.id!r} changed meanwhile; read it again")
        raise refusal(error, {}, stale) from None
    finally:
        forget(tenant_id, config.pipeline.id)
        _defaults.pop((tenant_id, config.pipeline.item_type), None)


# ---------------------------------------------------------------- employees


def _employee(record: EmployeeRecord) -> Employee:
    return Employee(**record.employee)


def save_employee(tenant_id: str, employee: Employee, *, new: bool) -> None:
    record = EmployeeRecord(pk=f"{tenant_id}#EMPLOYEES", sk=employee.id, employee=employee.__dict__)
    condition = EmployeeRecord.pk.does_not_exist() if new else EmployeeRecord.pk.exists()
    try:
        record.save(condition=condition)
    except PutError as error:
        if condition_failed(error):
            raise (Conflict if new else NotFound)(
                f"employee {employee.id!r} {'exists already' if new else 'does not exist'}"
            ) from None
        raise


def get_employee(tenant_id: str, employee_id: str) -> Employee:
    try:
        return _employee(EmployeeRecord.get(f"{tenant_id}#EMPLOYEES", employee_id))
    except DoesNotExist:
        raise NotFound(f"employee {employee_id!r} does not exist") from None


def list_employees(tenant_id: str) -> list[Employee]:
    return readable(EmployeeRecord.query(f"{tenant_id}#EMPLOYEES"), _employee, "employee")


# ---------------------------------------------------------------- item types


def _item_type(record: ItemTypeRecord) -> ItemType:
    return ItemType.from_dict(record.item_type, int(record.version or 0))


def stored_item_types(tenant_id: str) -> list[ItemType]:
    pk, _ = item_type_key(tenant_id, "")
    return readable(ItemTypeRecord.query(pk), _item_type, "item type")


def get_stored_item_type(tenant_id: str, code: str, *, fresh: bool = True) -> ItemType | None:
    """The type as stored (None: never stored); from the warm container's cache when not ``fresh``
    (a write that relies on it checks its version, ``Basis.item_type_version``: a type stored since
    the cache said None fails that check too)."""
    key = (tenant_id, code)
    if not fresh and key in _item_types:
        return _item_types[key]
    try:
        found = _item_type(ItemTypeRecord.get(*item_type_key(tenant_id, code), consistent_read=True))
    except DoesNotExist:
        found = None
    _item_types[key] = found
    return found


def save_item_type(tenant_id: str, item_type: ItemType) -> ItemType:
    """Writes ``item_type`` at its next version if the stored one is still at ``item_type.version``
    (0: none stored, or one stored before versions); StaleWrite otherwise. The type as saved."""
    saved = replace(item_type, version=item_type.version + 1)
    pk, sk = item_type_key(tenant_id, item_type.code)
    data = json.loads(json.dumps(saved.to_dict()))
    current = (
        ItemTypeRecord.version.does_not_exist()
        if item_type.version == 0
        else ItemTypeRecord.version == item_type.version
    )
    try:
        ItemTypeRecord(pk=pk, sk=sk, item_type=data, version=saved.version).save(condition=current)
    except PutError as error:
        if condition_failed(error):
            raise StaleWrite(f"item type {item_type.code!r} changed meanwhile; read it again") from None
        raise
    finally:
        _item_types.pop((tenant_id, item_type.code), None)
    return saved
