"""A source's own records, written in the same transactions as the trigger engine's writes for its
event, so that the source pays no call of its own.

Two kinds, each a group of records with a marker (``Along``) that is written on condition that it is
not there yet, so each group is written once whatever the deliveries:

- the event's records (a webform's submission log and its per-minute rate count, ...): they go with
  the engine's first write for the event (the decision on the first item reached, the tenant-level
  entry of an event that reached none, or the item it creates), so a refusal of either refuses
  both: a record whose condition fails (the rate's limit) refuses the whole transaction with the
  error the source gave it. Their marker is in the event's partition; a redelivery is mostly
  refused on the engine's own once-record first (the records were written with it);
- records on each item the event concerns (inbound mail's entry on every item of its sender):
  ``PerItem`` builds an item's group, marked per item, and the engine adds the groups of the items
  it was given and of each item it reaches to its writes, as many as a transaction holds (the
  item decided on first); what no write took is written in transactions of its own at the end.

A group whose marker is there already was written by an earlier delivery: it is left out and the
transaction made again without it (the rest of a redelivery's groups, on items it did not reach
before, are written).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from crm.adapters.tables import ItemsTableRecord, connection
from crm.adapters.transactions import failed_conditions, refusal
from crm.domain.errors import CrmError

MARKER_SK = "ALONG"
# DynamoDB's limit of actions in one TransactWriteItems.
MAX_ACTIONS = 100


@dataclass(frozen=True)
class Write:
    """One record of a source: put, or updated with ``actions``; ``condition`` guards it, and
    ``refused`` is what its failing means (the transaction is refused with that error)."""

    record: Model
    actions: Sequence[Action] | None = None
    condition: Condition | None = None
    refused: CrmError | None = None


@dataclass(frozen=True)
class Along:
    """Records written once, and the marker (in the items table) saying they were."""

    marker: ItemsTableRecord
    writes: tuple[Write, ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.marker.pk, self.marker.sk

    def __len__(self) -> int:
        return 1 + len(self.writes)


class PerItem:
    """A source's records on each item an event concerns: ``records(type, id)`` is an item's group;
    ``written`` counts the items whose group this delivery wrote (not an earlier one)."""

    def __init__(self, records: Callable[[str, str], Along]) -> None:
        self.records = records
        self.written = 0


class Companions:
    """The groups still to write for one event: the event's own (with the first write), then the
    items' (with any write, or at the end in transactions of their own: ``flush``)."""

    def __init__(self, first: Along | None = None, per_item: PerItem | None = None) -> None:
        self._first = first
        self._per_item = per_item
        self._items: dict[tuple[str, str], Along] = {}  # by item (type, id), in the order given
        self._seen: set[tuple[str, str]] = set()

    def on(self, items: Iterable[tuple[str, str]]) -> None:
        """The groups of ``items`` (type, id) are to be written, once each."""
        if self._per_item is None:
            return
        for item in items:
            if item not in self._seen:
                self._seen.add(item)
                self._items[item] = self._per_item.records(*item)

    def answered(self) -> None:
        """The event was applied by an earlier delivery, whose first write had the event's records."""
        self._first = None

    def take(self, room: int, about: tuple[str, str] | None) -> list[Along]:
        """The groups for a transaction with ``room`` actions left: the event's, ``about``'s, others."""
        taken = [self._first] if self._first is not None else []
        room -= sum(len(group) for group in taken)
        for item in sorted(self._items, key=lambda item: item != about):
            if len(self._items[item]) > room:
                break
            taken.append(self._items[item])
            room -= len(self._items[item])
        return taken

    def drop(self, groups: Iterable[Along], written_now: bool) -> None:
        """``groups`` are written: by this delivery (``written_now``) or an earlier one."""
        keys = {group.key for group in groups}
        if self._first is not None and self._first.key in keys:
            self._first = None
        for item in [item for item, group in self._items.items() if group.key in keys]:
            del self._items[item]
            if written_now and self._per_item is not None:
                self._per_item.written += 1

    def flush(self) -> None:
        """Writes the items' groups that no write for the event took."""
        self._first = None
        transact(None, self, None)

    def __bool__(self) -> bool:
        return self._first is not None or bool(self._items)


class _WrittenAlready(CrmError):
    """A group's marker is there: an earlier delivery wrote the group (never leaves here)."""

    def __init__(self, group: Along) -> None:
        super().__init__("written by an earlier delivery")
        self.group = group


class Actions:
    """A transaction's actions, with what each one's failed condition means, by the position
    DynamoDB gets it at: pynamodb sends the condition checks first, then the deletes, the puts and
    the updates, each kind in the order added."""

    _ORDER = ("check", "delete", "put", "update")

    def __init__(self, transaction: TransactWrite) -> None:
        self._transaction = transaction
        self._added = dict.fromkeys(self._ORDER, 0)
        self._meanings: list[tuple[str, int, CrmError]] = []

    def __len__(self) -> int:
        return sum(self._added.values())

    def _count(self, kind: str, meaning: CrmError | None) -> None:
        if meaning is not None:
            self._meanings.append((kind, self._added[kind], meaning))
        self._added[kind] += 1

    def check(
        self,
        model: type[Model],
        hash_key: str,
        range_key: str,
        condition: Condition,
        meaning: CrmError | None = None,
    ) -> None:
        self._transaction.condition_check(model, hash_key, range_key, condition=condition)
        self._count("check", meaning)

    def delete(self, record: Model, condition: Condition | None = None) -> None:
        self._transaction.delete(record, condition=condition)
        self._count("delete", None)

    def put(self, record: Model, condition: Condition | None = None, meaning: CrmError | None = None) -> None:
        self._transaction.save(record, condition=condition)
        self._count("put", meaning)

    def update(
        self,
        record: Model,
        actions: Sequence[Action],
        condition: Condition | None = None,
        meaning: CrmError | None = None,
    ) -> None:
        self._transaction.update(record, actions=list(actions), condition=condition)
        self._count("update", meaning)

    def add(self, group: Along) -> None:
        self.put(group.marker, ItemsTableRecord.pk.does_not_exist(), _WrittenAlready(group))
        for write in group.writes:
            if write.actions is None:
                self.put(write.record, write.condition, write.refused)
            else:
                self.update(write.record, write.actions, write.condition, write.refused)

    def meanings(self) -> dict[int, CrmError]:
        start, offsets = 0, {}
        for kind in self._ORDER:
            offsets[kind] = start
            start += self._added[kind]
        return {offsets[kind] + n: meaning for kind, n, meaning in self._meanings}


def transact(
    add: Callable[[Actions], None] | None,
    companions: Companions | None,
    stale: CrmError | None,
    about: tuple[str, str] | None = None,
) -> None:
    """One TransactWriteItems of what ``add`` adds, and of ``companions``' groups as far as it
    holds them (``about``'s, the item written, first); without ``add``, transactions of the groups
    alone until none is left. A failed condition raises what its action means (``stale`` for one
    with no meaning of its own; see ``crm.adapters.transactions.refusal``); a group whose marker is
    there is left out, and the transaction made again without it."""
    while add is not None or companions:
        groups: list[Along] = []
        try:
            with TransactWrite(connection=connection()) as transaction:
                actions = Actions(transaction)
                if add is not None:
                    add(actions)
                if companions is not None:
                    groups = companions.take(MAX_ACTIONS - len(actions), about)
                    for group in groups:
                        actions.add(group)
        except TransactWriteError as error:
            if (failed := failed_conditions(error)) is None:
                raise refusal(error, {}, stale) from None
            meanings = actions.meanings()
            written = {p: m.group for p in failed if isinstance(m := meanings.get(p), _WrittenAlready)}
            if companions is not None:
                companions.drop(written.values(), written_now=False)
            if not (others := failed - set(written)):
                continue  # only groups an earlier delivery wrote failed: again without them
            if (meaning := meanings.get(min(others), stale)) is None:
                raise
            raise meaning from None
        else:
            if companions is not None:
                companions.drop(groups, written_now=True)
            if add is not None:
                return
