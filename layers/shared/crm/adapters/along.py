"""A source's own records, written in the same transaction as the trigger engine's first write for
its event.

A source that keeps records of its own per event (a webform's submission log and its per-minute
rate count, ...) hands them to the engine as ``Write``s, which its adapter builds; the engine adds
them to its first write for the event: the decision on the first item reached, the tenant-level
entry of an event that reached no item, or the item it creates for the event. So the source pays no
call of its own, and a refusal of either refuses both: a record whose condition fails (the rate's
limit) refuses the whole transaction with the error the source gave it.

Once per event, whatever the deliveries: a marker in the event's partition (``marker``) goes with
them, on condition that it is not there yet. A redelivery is mostly refused on the engine's own
once-record first (the records were written with it); one whose first write is another (the items
reached changed between deliveries) finds the marker, and that write is made again without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from crm.adapters.tables import OnceRecord, connection
from crm.adapters.transactions import refusal
from crm.domain.errors import CrmError

MARKER_SK = "ALONG"


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
    """The records a source writes along with one event, and the marker saying they were."""

    marker: OnceRecord
    writes: tuple[Write, ...]


class _WrittenAlready(CrmError):
    """The marker's condition failed: an earlier delivery wrote the records (never leaves here)."""


class Actions:
    """A transaction's actions, with what each one's failed condition means, by the position
    DynamoDB gets it at: pynamodb sends the condition checks first, then the deletes, the puts and
    the updates, each kind in the order added."""

    _ORDER = ("check", "delete", "put", "update")

    def __init__(self, transaction: TransactWrite) -> None:
        self._transaction = transaction
        self._added = dict.fromkeys(self._ORDER, 0)
        self._meanings: list[tuple[str, int, CrmError]] = []

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

    def meanings(self) -> dict[int, CrmError]:
        start, offsets = 0, {}
        for kind in self._ORDER:
            offsets[kind] = start
            start += self._added[kind]
        return {offsets[kind] + n: meaning for kind, n, meaning in self._meanings}


def transact(add: Callable[[Actions], None], along: Along | None, stale: CrmError | None) -> None:
    """One TransactWriteItems of what ``add`` adds, and ``along``'s records. A failed condition
    raises what its action means (``stale`` for one with no meaning of its own; see
    ``crm.adapters.transactions.refusal``); the marker's: the records were written by an earlier
    delivery, and the transaction is made again without them."""
    for companions in (along, None) if along is not None else (None,):
        written = _WrittenAlready("written by an earlier delivery")
        try:
            with TransactWrite(connection=connection()) as transaction:
                actions = Actions(transaction)
                add(actions)
                if companions is not None:
                    actions.put(companions.marker, OnceRecord.pk.does_not_exist(), written)
                    for write in companions.writes:
                        if write.actions is None:
                            actions.put(write.record, write.condition, write.refused)
                        else:
                            actions.update(write.record, write.actions, write.condition, write.refused)
        except TransactWriteError as error:
            meaning = refusal(error, actions.meanings(), stale)
            if meaning is not written:
                raise meaning from None
        else:
            return
    raise AssertionError("unreachable: the transaction without companions has no marker")
