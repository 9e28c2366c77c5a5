"""pynamodb models of the tables declared in template.yaml.

pynamodb binds a model to its table when the class is defined, so the table names must be in the
environment before this module is imported (the template's Globals put them there; tests and the
local runtime set them first). Every partition key begins with the tenant id.

Items table (stream: NEW_AND_OLD_IMAGES; ``kind`` tells the fan-out what a record is)
    item       pk={tenant}#ITEM#{type}#{id}   sk=ITEM          + ByPipeline index keys
    timeline   pk={tenant}#ITEM#{type}#{id}   sk=TL#{at}#{entry id}
    contact    pk={tenant}#CONTACT#{key}      sk={type}#{id}   (key: email:x@y.z | phone:+E164; the
               item's type, id, title, pipeline and creation time)
    counter    pk={tenant}#COUNTER            sk={type}        (the last item id of a type)
    once       pk={tenant}#ONCE#{source}      sk={type}#{id} | UNVERIFIED   (where an inbound
               message was recorded; source: mail:{hash of its Message-ID})
               | sk=ANSWER   (source create-item:{hash of the Idempotency-Key}; TTL expires_at)
               | sk={type}#{id} | NO_ITEM   (source event:{source}:{hash of the event id}: where a
               trigger event was applied, with its answer; TTL expires_at)
    unverified pk={tenant}#UNVERIFIED_MAIL    sk={received at}#{hash}   (TTL expires_at)
    journal    pk={tenant}#ITEM#{type}#{id}   sk=JOURNAL#{at}#{entry id}   (every decision on the item)
               | pk={tenant}#JOURNAL#{pipeline}  sk={at}#{entry id}   (decisions on the pipeline's
               triggers) | pk={tenant}#JOURNAL  sk={at}#{entry id}   (events that reached no item or no
               trigger of their type); TTL expires_at
Automation table
    pipeline   pk={tenant}#PIPELINE#{id}      sk=META          + ByTenant index keys
    rule       pk={tenant}#PIPELINE#{id}      sk=RULE#{rule id}
    default    pk={tenant}#PIPELINES          sk=DEFAULT#{item type}   (the type's default pipeline)
    employee   pk={tenant}#EMPLOYEES          sk={employee id}
    item type  pk={tenant}#TYPES              sk={code}
    app trigger pk={tenant}#APP_TRIGGERS      sk={code}        (a code an application fires)
Tenants table
    tenant     pk={tenant}                    sk=TENANT
    API key    pk={tenant}                    sk=APIKEY#{key id}
Runs table (robot runs, their due index, the throttle's tokens, the sweeper's cursor):
    see ``crm.adapters.runs``, whose records subclass ``RunsTableRecord``
"""

from __future__ import annotations

import os

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import VerboseClientError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model as PynamoModel

from crm.domain.errors import CrmError, Throttled, TooLarge


def _table(variable: str) -> str:
    if (name := os.environ.get(variable)) is None:
        raise OSError(f"{variable} is not set: the template's Globals set it for every function")
    return name


_REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


class _Meta:
    region = _REGION


# Error codes of a throttled call (after botocore's retries), of the whole call or, in a cancelled
# transaction, of one of its actions.
THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
}


def _store_failure(error: VerboseClientError) -> CrmError | None:
    """What a refused call means when the cause is the store, not the request's condition: the same
    for every read, write and transaction (None: the caller gives the error its meaning)."""
    failed = error.response.get("Error", {})
    if failed.get("Code") == "TransactionCanceledException":
        reasons = [(r.code, r.message or "") for r in error.cancellation_reasons if r is not None]
    else:
        reasons = [(failed.get("Code", ""), failed.get("Message", ""))]
    if any(code in THROTTLED for code, _ in reasons):
        return Throttled("the CRM's storage is busy: retry in a moment")
    # "Item size has exceeded ...", "Item size to update has exceeded ..." (PutItem, UpdateItem, and
    # a transaction's ValidationError reason)
    if any(code.startswith("Validation") and "Item size" in message for code, message in reasons):
        return TooLarge("the record would be larger than the 400 KB the CRM's storage holds")
    return None


class StoreConnection(Connection):
    """pynamodb's connection, translating the store's own refusals (throttled, an item over the size
    limit) into their domain errors, once for every call; a failed condition stays pynamodb's error,
    for the adapter that set the condition to name."""

    def _make_api_call(self, operation_name: str, operation_kwargs: dict) -> dict:
        try:
            return super()._make_api_call(operation_name, operation_kwargs)
        except VerboseClientError as error:
            if (meaning := _store_failure(error)) is not None:
                raise meaning from error
            raise


_connection: StoreConnection | None = None


def connection() -> StoreConnection:
    """The DynamoDB connection of this process, whose botocore client every model and transaction uses.

    pynamodb gives each model class a connection of its own, and each builds a botocore session and
    client on first use (60-140 ms apiece on a cold start); one shared client costs that once."""
    global _connection
    if _connection is None:
        _connection = StoreConnection(region=_REGION)
    return _connection


class Model(PynamoModel):
    """A pynamodb model whose table connection is a ``StoreConnection`` sending through the shared
    ``connection()``'s client (each model keeps its own key schema: subclasses of one table declare
    different indexes)."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # pynamodb finds ``_connection`` through inheritance: a subclass would borrow its parent's,
        # whose schema lacks the subclass's indexes (a query on them would then fail for the life of
        # the container). Each class builds its own.
        if "_connection" not in cls.__dict__:
            cls._connection = None
        table = super()._get_connection()
        if not isinstance(table.connection, StoreConnection):
            store = StoreConnection(region=_REGION)
            store.add_meta_table(table.get_meta_table())
            table.connection = store
        table.connection._client = connection().client
        return table


# ---------------------------------------------------------------- items table


class ByPipeline(GlobalSecondaryIndex["ItemRecord"]):
    class Meta:
        index_name = "ByPipeline"
        projection = AllProjection()

    pipeline_key = UnicodeAttribute(hash_key=True)  # {tenant}#{type}#{pipeline}
    stage_key = UnicodeAttribute(range_key=True)  # {stage}#{created at}#{id}


class ItemsTableRecord(Model):
    class Meta(_Meta):
        table_name = _table("ITEMS_TABLE")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    tenant_id = UnicodeAttribute()


class ItemRecord(ItemsTableRecord):
    type = UnicodeAttribute()
    id = UnicodeAttribute()
    pipeline_id = UnicodeAttribute()
    stage_id = UnicodeAttribute()
    title = UnicodeAttribute()
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    responsible_id = UnicodeAttribute(null=True)
    emails = ListAttribute(of=UnicodeAttribute, default=list)
    phones = ListAttribute(of=UnicodeAttribute, default=list)
    company = UnicodeAttribute(null=True)
    # Custom field values keep their JSON types (numbers, text, lists) as a raw map.
    fields = MapAttribute(default=dict)
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    stage_entered_at = UnicodeAttribute(null=True)
    last_move = MapAttribute(null=True)
    last_change = MapAttribute(null=True)
    pipeline_key = UnicodeAttribute()
    stage_key = UnicodeAttribute()
    by_pipeline = ByPipeline()


class TimelineRecord(ItemsTableRecord):
    entry_kind = UnicodeAttribute()
    at = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    data = JSONAttribute()


class ContactRecord(ItemsTableRecord):
    item_type = UnicodeAttribute()
    item_id = UnicodeAttribute()
    # What a look-up by contact shows (``crm.adapters.items.find_by_contact``); absent on records
    # written before the index carried them.
    title = UnicodeAttribute(null=True)
    pipeline_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)


class OnceRecord(ItemsTableRecord):
    # A request done once per key (an Idempotency-Key): the hash of the request, the answer given.
    request_hash = UnicodeAttribute(null=True)
    answer = JSONAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # epoch seconds: the table's TTL attribute


class UnverifiedMailRecord(ItemsTableRecord):
    # Inbound mail whose sender SES's verdicts do not authenticate: the tenant's to review.
    received_at = UnicodeAttribute()
    mail = JSONAttribute()
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL attribute


class JournalRecord(ItemsTableRecord):
    # Why a trigger event moved an item or did not: the decision's JSON form with the entry's id.
    # The attributes beside it are what the journal's lists filter on.
    at = UnicodeAttribute()
    entry = JSONAttribute()
    source = UnicodeAttribute()
    outcome = UnicodeAttribute()
    rule_ids = ListAttribute(of=UnicodeAttribute, default=list)  # the triggers that were candidates
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL attribute


class CounterRecord(Model):
    class Meta(_Meta):
        table_name = _table("ITEMS_TABLE")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    last = NumberAttribute(default=0)


# ---------------------------------------------------------------- automation table


class ByTenant(GlobalSecondaryIndex["PipelineRecord"]):
    class Meta:
        index_name = "ByTenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    catalog_key = UnicodeAttribute(range_key=True)  # PIPELINE#{item type}#{pipeline id}


class AutomationRecord(Model):
    class Meta(_Meta):
        table_name = _table("AUTOMATION_TABLE")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class PipelineRecord(AutomationRecord):
    tenant_id = UnicodeAttribute()
    catalog_key = UnicodeAttribute()
    item_type = UnicodeAttribute()
    name = UnicodeAttribute()
    stages = JSONAttribute()
    version = NumberAttribute()
    is_default = BooleanAttribute(default=False)
    by_tenant = ByTenant()


class DefaultPipelineRecord(AutomationRecord):
    # One per item type: which pipeline items of that type enter when none is named. Read and
    # claimed with strong consistency, so two first pipelines cannot both become the default.
    pipeline_id = UnicodeAttribute()


class RuleRecord(AutomationRecord):
    # The rule as the domain's JSON form: common settings, params and condition.
    rule = JSONAttribute()


class AppTriggerRecord(AutomationRecord):
    # A code an application registered; triggers of type app_trigger name it, and it fires them.
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()


class EmployeeRecord(AutomationRecord):
    employee = JSONAttribute()


class ItemTypeRecord(AutomationRecord):
    item_type = JSONAttribute()
    version = NumberAttribute(null=True)  # absent on records written before types had versions


# ---------------------------------------------------------------- runs table


class RunsTableRecord(Model):
    class Meta(_Meta):
        table_name = _table("RUNS_TABLE")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


# ---------------------------------------------------------------- tenants table


class TenantsTableRecord(Model):
    class Meta(_Meta):
        table_name = _table("TENANTS_TABLE")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # API keys only: the SHA-256 of the secret part; the key itself is shown once and never stored.
    secret_hash = UnicodeAttribute(null=True)
    # Tenant only: the token in the tenant's inbound address ({tenant}+{token}@{inbound domain}).
    mailbox_token = UnicodeAttribute(null=True)
    # Tenant only: its API Gateway API key (id and value), by which the usage plan throttles it.
    usage_key_id = UnicodeAttribute(null=True)
    usage_key = UnicodeAttribute(null=True)
    # API keys only: the scope (absent on keys made before scopes: they were full keys, "admin"),
    # the operator's mark, and who revoked the key when (revoked keys stay, as an audit trail).
    scope = UnicodeAttribute(null=True)
    operator = BooleanAttribute(null=True)
    revoked_at = UnicodeAttribute(null=True)
    revoked_by = UnicodeAttribute(null=True)
