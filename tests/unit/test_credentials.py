"""Credentials that name their own record (API keys, hook secrets): issued, spelled, read back and
checked against the stored hash only."""

from __future__ import annotations

import pytest

from crm.domain.credentials import Credential, secret_hash


def test_an_issued_credential_reads_back_and_opens_only_its_own_hash():
    issued = Credential.issue("crmhook", "acme-ltd")
    text = str(issued)
    assert text.startswith("crmhook_acme-ltd_") and len(issued.secret) == 48

    read = Credential.parse("crmhook", text)

    assert read == issued
    assert read.opens(secret_hash(issued.secret))
    assert not read.opens(secret_hash(Credential.issue("crmhook", "acme-ltd").secret))
    assert not read.opens(None)


def test_a_new_secret_for_the_same_record_keeps_its_id():
    first = Credential.issue("crmhook", "acme", "0a1b2c3d")
    second = Credential.issue("crmhook", "acme", "0a1b2c3d")
    assert (first.id, second.id) == ("0a1b2c3d", "0a1b2c3d") and first.secret != second.secret


@pytest.mark.parametrize(
    "text",
    [
        "",
        "crm_acme_0a1b2c3d_" + "0" * 48,  # another kind of credential
        "crmhook_acme_0a1b2c3d_" + "0" * 47,
        "crmhook_acme_0a1b2c3_" + "0" * 48,
        "crmhook_ACME_0a1b2c3d_" + "0" * 48,
        "crmhook_acme_0a1b2c3d_" + "G" * 48,
        "crmhook_acme_x_0a1b2c3d_" + "0" * 48,
    ],
)
def test_anything_else_is_no_credential(text):
    assert Credential.parse("crmhook", text) is None
