"""Lists that survive a bad record: one stored record that no longer parses (written by an older,
laxer version, or by hand) is skipped with a warning instead of failing the whole list."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aws_lambda_powertools import Logger

from crm.domain.errors import Invalid

logger = Logger(child=True)

# What mapping a malformed record into a domain object raises: missing or mistyped attributes.
UNREADABLE = (Invalid, KeyError, TypeError, ValueError, AttributeError)


def readable[R, T](records: Iterable[R], parse: Callable[[R], T], what: str) -> list[T]:
    parsed = []
    for record in records:
        try:
            parsed.append(parse(record))
        except UNREADABLE as error:
            key = getattr(record, "pk", None), getattr(record, "sk", None)
            logger.warning(
                f"skipped a stored {what} that does not parse", extra={"key": key, "error": str(error)}
            )
    return parsed
