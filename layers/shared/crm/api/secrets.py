"""The tenant's named secrets, which its outgoing webhooks sign with: write-only (a secret's value is
never answered, only its fingerprint)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import Body
from crm.domain.secrets import MAX_LENGTH, MIN_LENGTH, NAME_PATTERN, Secret
from crm.service import secrets

router = Router()

SecretName = Annotated[str, Path(pattern=NAME_PATTERN, description="what robots name it by (secret_ref)")]


class SecretIn(Body):
    value: str = Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description="the secret (never shown back); printable, no whitespace at either end",
    )


class SecretOut(BaseModel):
    name: str
    fingerprint: str = Field(description="the first 8 hex digits of the value's SHA-256")
    updated_at: datetime

    @classmethod
    def of(cls, secret: Secret) -> SecretOut:
        return cls(name=secret.name, fingerprint=secret.fingerprint, updated_at=secret.updated_at)


@router.get("/automation/secrets", tags=["automation"])
def list_secrets() -> list[SecretOut]:
    """The tenant's secrets by name, with fingerprints: never their values."""
    return [SecretOut.of(s) for s in secrets.secrets(tenant_id(router))]


@router.get("/automation/secrets/<name>", tags=["automation"])
def get_secret(name: SecretName) -> SecretOut:
    return SecretOut.of(secrets.get_secret(tenant_id(router), name))


@router.put("/automation/secrets/<name>", tags=["automation"])
def set_secret(name: SecretName, body: SecretIn) -> SecretOut:
    """Sets or rotates the secret (at most 100 a tenant: 409 past that). Robots sign with the new
    value within a minute; the receiver must accept the old one until then."""
    return SecretOut.of(secrets.set_secret(tenant_id(router), name, body.value))


@router.delete("/automation/secrets/<name>", tags=["automation"], status_code=204)
def delete_secret(name: SecretName) -> None:
    """Robots naming it fail from then on (within a minute), sending nothing unsigned."""
    secrets.delete_secret(tenant_id(router), name)
    return Response(204)
