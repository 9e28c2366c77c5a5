"""What a cancelled DynamoDB transaction, or a single write's failed condition, means in the CRM's
words.

TransactWriteItems is cancelled as a whole; its CancellationReasons say, per action and in the
order the actions were added, why. Only a failed condition is a refusal with a domain meaning
(the caller says which: "already recorded" for a once-only marker, "stale" for a version check);
a conflicting transaction on the same item (TransactionConflict) is a record changing meanwhile,
stale when the caller has that meaning, else propagated (the delivery is retried). Throttling and
an item over 400 KB never get here: the connection (``crm.adapters.tables.StoreConnection``) raises
Throttled and TooLarge for them, for every call. Any other reason (an invalid write) is no refusal
either: the original error propagates. None of these passes for "nothing to do": an API call
answers 503, 413 or 500, and an asynchronous invocation is retried and ends in its DLQ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError

from crm.domain.errors import CrmError


def _reasons(error: TransactWriteError) -> dict[int, str]:
    """Why each action of a cancelled transaction failed, by position (none: not a cancellation)."""
    if error.cause_response_code != "TransactionCanceledException":
        return {}
    return {p: r.code for p, r in enumerate(error.cancellation_reasons or []) if r is not None}


def failed_conditions(error: TransactWriteError) -> set[int] | None:
    """The positions of the actions whose condition failed, when that alone cancelled the
    transaction; None for any other cause."""
    codes = _reasons(error)
    return set(codes) if codes and set(codes.values()) == {"ConditionalCheckFailed"} else None


def refusal(
    error: TransactWriteError, conditions: Mapping[int, CrmError], otherwise: CrmError | None = None
) -> CrmError:
    """The refusal a cancelled transaction means: ``conditions[position]`` for the action whose
    condition failed, else ``otherwise`` (also for a conflicting transaction). Re-raises ``error``
    for any other reason, or when a failure has no meaning given. Use: ``raise refusal(...) from None``."""
    meaning = None
    if (failed := failed_conditions(error)) is not None:
        meaning = conditions.get(min(failed), otherwise)
    elif (codes := _reasons(error)) and set(codes.values()) <= {
        "ConditionalCheckFailed",
        "TransactionConflict",
    }:
        meaning = otherwise
    if meaning is not None:
        return meaning
    raise error


def condition_failed(error: PutError | UpdateError | DeleteError) -> bool:
    """Whether a single write was refused because its condition did not hold."""
    return error.cause_response_code == "ConditionalCheckFailedException"


@contextmanager
def refused_as(failure: Callable[[], CrmError]) -> Iterator[None]:
    """A single write whose condition failed raises ``failure()`` (what the condition meant: exists
    already, not found, changed meanwhile); any other error of the write passes on."""
    try:
        yield
    except (PutError, UpdateError, DeleteError) as error:
        if condition_failed(error):
            raise failure() from None
        raise
