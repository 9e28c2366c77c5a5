"""DynamoDB answering as AWS does when it refuses a write: every call the application makes is
seen (operation, table) and chosen operations fail with the error AWS would return. The failure is
raised where botocore calls the service, so pynamodb and the application see what they would see."""

from __future__ import annotations

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError


class DynamoDB:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        # operation -> the error of every call, or one answer per call in turn (None: it succeeds)
        self.fail: dict[str, ClientError | list[ClientError | None]] = {}

    def _failure(self, operation: str) -> ClientError | None:
        planned = self.fail.get(operation)
        if isinstance(planned, list):
            return planned.pop(0) if planned else None
        return planned


@pytest.fixture(name="dynamodb")
def dynamodb_faults(monkeypatch: pytest.MonkeyPatch) -> DynamoDB:
    recorder, original = DynamoDB(), BaseClient._make_api_call

    def call(client, operation, params):
        if client.meta.service_model.service_name == "dynamodb":
            recorder.calls.append((operation, params.get("TableName")))
            if (error := recorder._failure(operation)) is not None:
                raise error
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    return recorder


# DynamoDB's reason for an action whose item would exceed 400 KB (as PutItem's ValidationException says).
ITEM_TOO_LARGE = ("ValidationError", "Item size has exceeded the maximum allowed size")


def cancelled(*reasons: str | tuple[str, str]) -> ClientError:
    """TransactWriteItems cancelled: one reason per action, a code ("None" for an action that was
    fine) or (code, message) where the message tells more, as for ITEM_TOO_LARGE."""
    pairs = [reason if isinstance(reason, tuple) else (reason, f"{reason} (injected)") for reason in reasons]
    return ClientError(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons "
                f"[{', '.join(code for code, _ in pairs)}]",
            },
            "CancellationReasons": [{"Code": code, "Message": message} for code, message in pairs],
        },
        "TransactWriteItems",
    )


def refused(code: str, operation: str, message: str | None = None) -> ClientError:
    """A whole call refused, e.g. ProvisionedThroughputExceededException after botocore's retries."""
    return ClientError({"Error": {"Code": code, "Message": message or f"{code} (injected)"}}, operation)
