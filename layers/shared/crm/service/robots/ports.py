"""The ports as the deployed runner (and the local runtime) gives them to the robots: the CRM's own
items and employees, the CRM mail, SNS for SMS, HTTPS out, the tenant's secrets and payment
account. Providers a tenant has not set up (telephony, a payment account) are absent or fail, and
the robots that need them fail saying so."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import timedelta

from crm.adapters import warm
from crm.adapters.http import HttpClient
from crm.adapters.secrets import TenantSecrets
from crm.adapters.sms import SnsSms
from crm.adapters.work import Turns
from crm.domain.errors import Invalid, NotFound
from crm.domain.model import Cause, Employee, Item
from crm.domain.robots import Ports, RobotFailed
from crm.domain.transitions import MAX_CHAIN_DEPTH
from crm.robots.web import LOOPBACK_ALLOWED
from crm.service import configuration
from crm.service import items as crm_items
from crm.service.app_robots import RegisteredAppRobots
from crm.service.documents import robots_documents
from crm.service.payments import TenantPayments
from crm.service.requisites import CrmRequisites
from crm.service.robots.mail import RobotMailer

# A warm container keeps each tenant's employees this long: a robot that names one who was switched
# off a moment ago may still see them active for that long (the item write checks the responsible).
EMPLOYEES_KEPT = 60.0
_employees: warm.Kept[str, dict[str, Employee]] = warm.Kept(limit=1024, seconds=EMPLOYEES_KEPT)


class TenantEmployees:
    def _all(self, tenant_id: str) -> dict[str, Employee]:
        def read() -> dict[str, Employee]:
            return {e.id: e for e in configuration.employees(tenant_id)}

        return _employees.get(tenant_id, read) or {}

    def get(self, tenant_id: str, employee_id: str) -> Employee | None:
        return self._all(tenant_id).get(employee_id)

    def all(self, tenant_id: str) -> Sequence[Employee]:
        return list(self._all(tenant_id).values())


class CrmItems:
    def create(
        self,
        tenant_id: str,
        type_code: str,
        values: Mapping[str, object],
        *,
        idempotency_key: str,
        cause: Cause,
    ) -> Item:
        if len(cause.chain) >= MAX_CHAIN_DEPTH:
            raise RobotFailed(
                f"stopped: the chain of automatic changes is deeper than {MAX_CHAIN_DEPTH}", retryable=False
            )
        try:
            return crm_items.create_item(
                tenant_id, type_code, dict(values), idempotency_key=idempotency_key, cause=cause
            )
        except Invalid as refused:  # values the type refuses: another attempt would be refused too
            raise RobotFailed(f"the item could not be created: {refused}", retryable=False) from None

    def delete(self, tenant_id: str, item: Item) -> None:
        with suppress(NotFound):  # deleted already: done
            crm_items.delete_item(tenant_id, item.type, item.id)


def deployed_ports(public_base: str, lease: timedelta) -> Ports:
    """``public_base``: the API's public URL (tracked links and pixels of robot mail point there).
    ``lease``: how long a runner holds a run; an SMS or mail whose sending an attempt began is sent
    again by a later attempt only after it (the first may still be sending it)."""
    return Ports(
        mailer=RobotMailer(public_base, resend_after=lease),
        sms=SnsSms(os.environ.get("SMS_SENDER_ID") or None, resend_after=lease),
        # The local runtime's receivers listen on 127.0.0.1; deployed, only public HTTPS addresses.
        http=HttpClient(allow_loopback=LOOPBACK_ALLOWED),
        employees=TenantEmployees(),
        items=CrmItems(),
        turns=Turns(),
        # Documents go to the bucket in DOCUMENTS_BUCKET; their links point at the API's /d/{token}.
        documents=robots_documents(public_base),
        requisites=CrmRequisites(),
        app_robots=RegisteredAppRobots(),
        secrets=TenantSecrets(),
        # Payment links by the tenant's payment account (Stripe Checkout, or the local runtime's).
        payments=TenantPayments(public_base),
    )
