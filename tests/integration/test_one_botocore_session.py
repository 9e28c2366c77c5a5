"""A cold container makes one botocore session, whose service data and endpoint rules every client
shares: the S3 and EventBridge clients come from the DynamoDB connection's session (a client of
a new session costs a cold start 60-90 ms, a further client of the same session about 7 ms)."""

from __future__ import annotations

import boto3
import botocore.session
import pytest

from crm.adapters import clients, tables
from tests.conftest import load_handler
from tests.integration.test_inbound_mail import deliver, mailbox, outcome  # noqa: F401 - a fixture


@pytest.fixture
def cold(monkeypatch):
    """A container's first invocation: no connection, no client made yet; the botocore sessions
    made from here on counted."""
    sessions = []
    made = botocore.session.Session.__init__

    def counted(self, *args, **kwargs):
        sessions.append(self)
        made(self, *args, **kwargs)

    monkeypatch.setattr(tables, "_connection", None)
    clients.client.cache_clear()
    monkeypatch.setattr(botocore.session.Session, "__init__", counted)
    yield sessions
    clients.client.cache_clear()


def test_inbound_mail_reads_s3_and_writes_dynamodb_through_one_session(mailbox, cold, monkeypatch):  # noqa: F811
    _, _, address = mailbox
    function = load_handler("inbound_mail")
    invoke = function.lambda_handler

    def in_its_container(event, context):
        # SES stored the message from a process of its own: this one has no boto3 session yet.
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        cold.clear()
        return invoke(event, context)

    monkeypatch.setattr(function, "lambda_handler", in_its_container)
    assert deliver([address]) == outcome(recorded=2)
    assert len(cold) == 1


def test_the_clients_of_other_services_share_the_dynamodb_session(aws, cold):
    dynamodb = tables.connection()
    assert clients.client("s3") is clients.client("s3")
    clients.client("events")
    assert cold == [dynamodb.session]
