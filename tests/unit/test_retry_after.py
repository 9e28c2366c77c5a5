"""One reading of Retry-After (``crm.domain.retry_after``) for the outgoing webhooks and the provider
adapters: seconds or an HTTP-date, never negative, at most a day, whatever the header's case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.adapters.http import refused_answer
from crm.domain import clock
from crm.domain.ports import HttpAnswer
from crm.domain.retry_after import MAX_RETRY_AFTER, retry_after, retry_after_in

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ("120", 120),
        ("  30 ", 30),
        ("0", 0),
        ("Mon, 02 Mar 2026 09:05:00 GMT", 300),
        ("Mon, 02 Mar 2026 09:04:59 GMT", 299),
        ("Mon, 02 Mar 2026 08:00:00 GMT", 0),  # passed already: at once
        ("Tue, 03 Mar 2026 09:00:01 GMT", MAX_RETRY_AFTER),  # a day at most
        ("9999999999", MAX_RETRY_AFTER),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_seconds_and_http_dates_are_read_and_capped_at_a_day(value, wait):
    assert retry_after(value, NOW) == wait


def test_the_header_is_found_whatever_its_case():
    assert retry_after_in({"Retry-After": "7"}, NOW) == 7
    assert retry_after_in({"retry-after": "7"}, NOW) == 7
    assert retry_after_in({"RETRY-AFTER": "7"}, NOW) == 7
    assert retry_after_in({"content-type": "text/plain"}, NOW) is None


@pytest.fixture
def stopped_clock():
    clock.use_clock(clock.FixedClock(NOW))
    yield
    clock.use_clock(clock.SystemClock())


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        # A provider asking for a week waits a day, as an outgoing webhook's does (it took the week).
        ({"retry-after": "604800"}, MAX_RETRY_AFTER),
        # An HTTP-date counts from the application's clock, as the runner's due times do.
        ({"retry-after": "Mon, 02 Mar 2026 09:02:00 GMT"}, 120),
        # The header's case does not matter (it was found only lower-cased).
        ({"Retry-After": "45"}, 45),
    ],
)
def test_a_provider_answer_is_read_the_same_way_as_a_webhook_answer(stopped_clock, headers, wait):
    failure = refused_answer("Stripe", HttpAnswer(429, headers, b""), "slow down")
    assert (failure.retryable, failure.retry_after) == (True, wait)
