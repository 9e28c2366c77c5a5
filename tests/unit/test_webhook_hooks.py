"""A hook's secrets: the current one opens it; after a rotation the previous one too, for its
grace period or until it is revoked; never another hook's or tenant's; none once revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.domain.credentials import Credential
from crm.domain.errors import Invalid
from crm.domain.hooks import SECRET_PREFIX, Hook

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def hook_with(credential: Credential) -> Hook:
    return Hook("acme", credential.id, "ERP", NOW, credential.secret_hash)


def test_the_current_secret_opens_the_hook_and_nothing_else_does():
    first = Credential.issue(SECRET_PREFIX, "acme")
    hook = hook_with(first)
    assert hook.opens(first, NOW) is not None
    assert hook.opens(Credential.issue(SECRET_PREFIX, "acme", first.id), NOW) is None
    # The same secret under another tenant's or hook's name
    assert hook.opens(Credential(SECRET_PREFIX, "globex", first.id, first.secret), NOW) is None
    assert hook.opens(Credential(SECRET_PREFIX, "acme", "ffffffff", first.secret), NOW) is None


def test_after_a_rotation_two_secrets_open_it_until_the_grace_period_ends():
    old = Credential.issue(SECRET_PREFIX, "acme")
    new = Credential.issue(SECRET_PREFIX, "acme", old.id)
    rotated = hook_with(old).rotated(new.secret_hash, NOW, timedelta(hours=2))

    assert rotated.opens(new, NOW) is not None
    assert rotated.opens(old, NOW) == NOW + timedelta(hours=2)
    assert rotated.opens(old, NOW + timedelta(hours=2)) is None
    assert rotated.opens(new, NOW + timedelta(days=400)) is not None
    assert rotated.without_previous().opens(old, NOW) is None


def test_a_second_rotation_retires_the_oldest_secret_and_no_grace_stops_the_old_at_once():
    first = Credential.issue(SECRET_PREFIX, "acme")
    second = Credential.issue(SECRET_PREFIX, "acme", first.id)
    third = Credential.issue(SECRET_PREFIX, "acme", first.id)
    hook = hook_with(first).rotated(second.secret_hash, NOW, timedelta(hours=2))
    hook = hook.rotated(third.secret_hash, NOW, timedelta(hours=2))
    assert [hook.opens(c, NOW) is not None for c in (first, second, third)] == [False, True, True]
    at_once = hook_with(first).rotated(second.secret_hash, NOW, timedelta(0))
    assert at_once.opens(first, NOW) is None and at_once.previous_hash is None


def test_a_revoked_hook_opens_for_no_secret():
    current = Credential.issue(SECRET_PREFIX, "acme")
    hook = Hook("acme", current.id, "ERP", NOW, current.secret_hash, revoked_at=NOW)
    assert hook.opens(current, NOW) is None


@pytest.mark.parametrize("grace", [timedelta(seconds=-1), timedelta(days=31)])
def test_a_grace_period_is_between_none_and_thirty_days(grace):
    current = Credential.issue(SECRET_PREFIX, "acme")
    with pytest.raises(Invalid, match="grace"):
        hook_with(current).rotated("0" * 64, NOW, grace)
