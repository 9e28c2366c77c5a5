"""The tenant's named secrets through the API (write-only: names, fingerprints and dates, never a
value), isolated per tenant, and the ``Secrets`` port the deployed runner signs webhooks with (a
warm container keeps a secret a minute)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.gateway import Gateway

PATH = "/automation/secrets"
VALUE = "whsec_5f2b7c1e9a0d4c3b8e6f"
ROTATED = "whsec_0a9b8c7d6e5f4a3b2c1d"
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:8]


@pytest.fixture
def crm(aws):
    from crm.domain import clock
    from crm.service.tenants import create_tenant

    stopped = clock.FixedClock(AT)
    clock.use_clock(stopped)
    gateway = Gateway()
    yield {
        "gateway": gateway,
        "key": create_tenant("Demo", "demo").api_key,
        "other": create_tenant("Globex", "globex").api_key,
        "clock": stopped,
    }
    clock.use_clock(clock.SystemClock())


def api(crm, method: str, path: str, body=None, key: str = "key"):
    return crm["gateway"].call(method, path, body, crm[key])


def test_a_secret_is_set_and_listed_without_its_value(crm):
    put = api(crm, "PUT", f"{PATH}/erp", {"value": VALUE})
    assert put.status == 200, put.body
    assert put.body == {
        "name": "erp",
        "fingerprint": fingerprint(VALUE),
        "updated_at": "2026-03-02T09:00:00Z",
    }
    api(crm, "PUT", f"{PATH}/ads-audience", {"value": ROTATED})

    listed = api(crm, "GET", PATH)
    assert listed.status == 200
    assert [s["name"] for s in listed.body] == ["ads-audience", "erp"]
    assert api(crm, "GET", f"{PATH}/erp").body == put.body
    every_answer = json.dumps([put.body, listed.body])
    assert VALUE not in every_answer and ROTATED not in every_answer


def test_setting_it_again_rotates_it(crm):
    from crm.adapters.secrets import TenantSecrets

    api(crm, "PUT", f"{PATH}/erp", {"value": VALUE})
    crm["clock"].advance(timedelta(hours=1))
    again = api(crm, "PUT", f"{PATH}/erp", {"value": ROTATED})
    assert again.body == {
        "name": "erp",
        "fingerprint": fingerprint(ROTATED),
        "updated_at": "2026-03-02T10:00:00Z",
    }
    assert len(api(crm, "GET", PATH).body) == 1
    assert TenantSecrets().get("demo", "erp") == ROTATED


def test_deleting_it_removes_it_and_a_missing_one_is_404(crm):
    api(crm, "PUT", f"{PATH}/erp", {"value": VALUE})
    deleted = api(crm, "DELETE", f"{PATH}/erp")
    assert deleted.status == 204
    assert api(crm, "GET", PATH).body == []
    again = api(crm, "DELETE", f"{PATH}/erp")
    assert again.status == 404
    assert again.body["message"] == "the tenant has no secret named 'erp'"
    assert api(crm, "GET", f"{PATH}/erp").status == 404


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("erp", {"value": "too-short"}, "body.value"),
        ("erp", {"value": "x" * 4097}, "body.value"),
        ("erp", {}, "body.value"),
        ("erp", {"value": VALUE, "note": "x"}, "body.note"),
        ("erp", {"value": 1234567890123456789}, "body.value"),
        ("ERP", {"value": VALUE}, "path.name"),
        ("-erp", {"value": VALUE}, "path.name"),
        ("e" * 65, {"value": VALUE}, "path.name"),
    ],
)
def test_a_name_or_value_that_cannot_be_a_secret_is_refused_and_nothing_is_stored(crm, name, body, field):
    answer = api(crm, "PUT", f"{PATH}/{name}", body)
    assert answer.status == 422, answer.body
    assert [e["field"] for e in answer.body["errors"]] == [field]
    assert api(crm, "GET", PATH).body == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"{VALUE}\n", "value: no whitespace at its start or end"),
        (f" {VALUE}", "value: no whitespace at its start or end"),
        (f"{VALUE}\x00zz", "value: printable characters only"),
    ],
)
def test_a_value_a_receiver_would_not_verify_with_is_refused(crm, value, message):
    answer = api(crm, "PUT", f"{PATH}/erp", {"value": value})
    assert (answer.status, answer.body["message"]) == (422, message)
    assert api(crm, "GET", PATH).body == []


def test_a_tenant_keeps_at_most_a_hundred_secrets(crm):
    from crm.adapters import secrets as store
    from crm.domain.secrets import Secret

    for n in range(100):
        store.save("demo", Secret(f"s{n:03d}", VALUE, AT))
    refused = api(crm, "PUT", f"{PATH}/one-more", {"value": VALUE})
    assert refused.status == 409
    assert "delete one first" in refused.body["message"]
    assert api(crm, "PUT", f"{PATH}/s000", {"value": ROTATED}).status == 200  # a rotation still is


def test_secrets_belong_to_their_tenant(crm):
    from crm.adapters.secrets import TenantSecrets

    api(crm, "PUT", f"{PATH}/erp", {"value": VALUE})
    assert api(crm, "GET", PATH, key="other").body == []
    assert api(crm, "DELETE", f"{PATH}/erp", key="other").status == 404
    assert TenantSecrets().get("globex", "erp") is None
    assert TenantSecrets().get("demo", "erp") == VALUE


def test_a_key_of_the_items_scope_cannot_reach_secrets(crm):
    created = api(crm, "POST", "/api-keys", {"name": "booking", "scope": "items"})
    assert created.status == 201, created.body
    answer = crm["gateway"].call("PUT", f"{PATH}/erp", {"value": VALUE}, created.body["key"])
    assert answer.status == 403
    assert api(crm, "GET", PATH).body == []


def test_the_runner_signs_with_the_secret_a_warm_container_read_within_a_minute(crm):
    """Another container rotates the secret: this one signs with the value it read for up to 60 s,
    then with the new one; a name set after a miss is found at once (misses are not kept)."""
    from crm.adapters import secrets as store
    from crm.adapters.secrets import SecretRecord, TenantSecrets
    from crm.service.robots.ports import deployed_ports
    from crm.service.robots.runner import LEASE

    assert isinstance(deployed_ports("https://crm.example", LEASE).secrets, TenantSecrets)
    ticks = [1000.0]
    port = TenantSecrets(monotonic=lambda: ticks[0])
    assert port.get("demo", "erp") is None
    api(crm, "PUT", f"{PATH}/erp", {"value": VALUE})
    assert port.get("demo", "erp") == VALUE
    # The rotation as another container writes it (this container's copy is not told).
    SecretRecord(pk="demo#SECRETS", sk="erp", value=ROTATED, updated_at=AT.isoformat()).save()
    ticks[0] += 59
    assert port.get("demo", "erp") == VALUE
    ticks[0] += 2
    assert port.get("demo", "erp") == ROTATED
    assert store.get("demo", "erp").fingerprint == fingerprint(ROTATED)
