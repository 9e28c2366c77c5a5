"""Payment accounts: the providers a tenant's payment links are made with and whose events fire the
*invoice paid* and *order paid* triggers (``/payments/stripe/{account id}``, or for any other
provider ``/payments/events/{account id}``: the webhook URL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from crm.api.context import tenant_id
from crm.api.schemas import (
    CreatedPaymentAccountOut,
    PaymentAccountIn,
    PaymentAccountOut,
    PaymentAccountPatch,
    RollSecretIn,
)
from crm.api.urls import public_url
from crm.domain.payments import ACCOUNT_ID_PATTERN, PaymentAccount, last4
from crm.service import payments

router = Router()

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN)]
PATH = "/automation/payment-accounts"


def _out(account: PaymentAccount) -> PaymentAccountOut:
    return PaymentAccountOut(
        id=account.id,
        name=account.name,
        provider=account.provider.value,
        created_at=account.created_at,
        webhook_url=public_url(router, account.provider.events_path + account.id),
        secret_key_last4=last4(account.secret_key),
        webhook_secret_last4=last4(account.webhook_secret) or "",
        return_url=account.return_url,
        rotated_at=account.rotated_at,
        previous_valid_until=account.previous_valid_until,
    )


def _created(created: payments.CreatedAccount) -> CreatedPaymentAccountOut:
    shown = created.webhook_secret
    return CreatedPaymentAccountOut(**_out(created.account).model_dump(), webhook_secret=shown)


@router.post(PATH, tags=["automation"], status_code=201)
def create_payment_account(body: PaymentAccountIn) -> tuple[CreatedPaymentAccountOut, int]:
    """A payment account. Stripe: register the answer's webhook_url in Stripe (events invoice.paid,
    invoice.payment_succeeded, checkout.session.completed, payment_intent.succeeded) and give its
    signing secret here. Generic (any other provider, posting signed JSON to the webhook_url) and
    local (only in the local runtime): the signing secret is in this answer only. Secrets are never
    shown back, only their last 4 characters."""
    return _created(payments.create_account(tenant_id(router), body.model_dump())), 201


@router.get(PATH, tags=["automation"])
def list_payment_accounts() -> list[PaymentAccountOut]:
    """The accounts, oldest first: payment links are made with the first."""
    return [_out(account) for account in payments.accounts(tenant_id(router))]


@router.get(f"{PATH}/<account_id>", tags=["automation"])
def get_payment_account(account_id: AccountId) -> PaymentAccountOut:
    return _out(payments.account(tenant_id(router), account_id))


@router.patch(f"{PATH}/<account_id>", tags=["automation"])
def update_payment_account(account_id: AccountId, body: PaymentAccountPatch) -> PaymentAccountOut:
    """A new name, secret key or return page (the signing secret is rolled: .../roll-secret)."""
    values = body.model_dump(exclude_unset=True)
    return _out(payments.update_account(tenant_id(router), account_id, values))


@router.post(f"{PATH}/<account_id>/roll-secret", tags=["automation"])
def roll_webhook_secret(account_id: AccountId, body: RollSecretIn) -> CreatedPaymentAccountOut:
    """The endpoint's new signing secret (Stripe's, after "Roll secret" in its dashboard; a local
    account's is made and shown once); the current one keeps verifying for grace_hours."""
    rolled = payments.roll_webhook_secret(
        tenant_id(router), account_id, body.webhook_secret, timedelta(hours=body.grace_hours)
    )
    return _created(rolled)


@router.delete(f"{PATH}/<account_id>/previous-secret", tags=["automation"], status_code=204)
def revoke_previous_webhook_secret(account_id: AccountId) -> None:
    """Ends a roll's grace period: only the newest signing secret verifies (404 if no other does)."""
    payments.revoke_previous_secret(tenant_id(router), account_id)
    return Response(204)


@router.delete(f"{PATH}/<account_id>", tags=["automation"], status_code=204)
def delete_payment_account(account_id: AccountId) -> None:
    """Its events are refused (404) at once for a new container, within a minute for a warm one."""
    payments.delete_account(tenant_id(router), account_id)
    return Response(204)
